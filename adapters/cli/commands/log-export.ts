import { resolve } from 'node:path';
import type { Command } from 'commander';
import { InvalidArgumentError } from '../../../domain/errors.js';
import { exportBundle } from '../../composition-root/incident-bundle-export.js';
import { projectionsAt } from '../../composition-root/set-store.js';
import { type CommandContext, contextOf } from '../command-context.js';
import { countOf, formatNumber } from '../number-format.js';
import { packageVersion } from '../package-version.js';
import { POINT_FORMS, parsePoint, resolveWindow } from '../point-argument.js';
import { ProgressReporter } from '../progress-reporter.js';
import { withReadOnlyLog } from '../read-only-log.js';

/** Options of `shadowlog log export`. */
interface ExportOptions {
  readonly from: string;
  readonly to: string;
  readonly out: string;
}

/** `log export` under the `log` command (registered by maintenance.ts). */
export function registerLogExport(log: Command): void {
  log
    .command('export <set>')
    .description(
      'write an incident bundle: the events of a window and what replay needs to start there; replay/events/show --log read it anywhere',
    )
    .requiredOption('--from <point>', `first event of the window: ${POINT_FORMS}`)
    .requiredOption('--to <point>', 'last event of the window (same forms)')
    .requiredOption('--out <dir>', 'the bundle folder to create (missing or empty)')
    .action((set: string, options: ExportOptions, command: Command) =>
      logExport(contextOf(command), set, options),
    );
}

/** `shadowlog log export <set> --from P --to Q --out DIR`. */
export async function logExport(ctx: CommandContext, set: string, options: ExportOptions): Promise<void> {
  const from = parsePoint('--from', options.from);
  const to = parsePoint('--to', options.to);
  const out = resolve(options.out);
  const paths = ctx.paths(set);
  await withReadOnlyLog(ctx, paths, async (store) => {
    const window = await resolveWindow(store, from, to);
    if (window.toPosition < window.fromPosition) {
      throw new InvalidArgumentError(
        `the window --from ${options.from} --to ${options.to} holds no event of ${set} (positions 0-${await store.lastPosition()})`,
      );
    }
    let bar: ProgressReporter | null = null;
    const result = await exportBundle({
      store,
      set,
      fromPosition: window.fromPosition,
      toPosition: window.toPosition,
      out,
      projectionsAt: (position) => projectionsAt(store, paths, position, ctx.warn),
      shadowlogVersion: packageVersion(),
      onProgress: (done, total) => {
        // Only a long export shows progress (a bar on a terminal, nothing with --json).
        if (bar === null && total >= 100_000)
          bar = new ProgressReporter(ctx.output, 'export', total, 'events');
        bar?.update(done);
      },
    });
    (bar as ProgressReporter | null)?.stop(result.manifest.events);
    const m = result.manifest;
    const document = {
      bundle: {
        dir: result.dir,
        set,
        from: { position: m.window.fromPosition, time: m.window.fromTime },
        to: { position: m.window.toPosition, time: m.window.toTime },
        logFirstPosition: m.logFirstPosition,
        events: m.events,
        bytes: result.bytes,
      },
    };
    ctx.output.result(document, () => {
      ctx.output.line(
        `exported ${countOf(m.events, 'event')} of ${set}, positions ${m.logFirstPosition}-${m.window.toPosition} (window ${m.window.fromPosition}-${m.window.toPosition}, ${m.window.fromTime} to ${m.window.toTime}), ${formatNumber(result.bytes)} bytes to ${result.dir}`,
      );
      if (m.logFirstPosition < m.window.fromPosition)
        ctx.output.line(
          `  from position ${m.logFirstPosition}: the minimerge bitmap at the window's start reaches back there`,
        );
    });
  });
}
