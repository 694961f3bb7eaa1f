import { formatCount } from '../../../domain/copy-planning.js';
import { InvalidArgumentError } from '../../../domain/errors.js';
import type { EventStore } from '../../../domain/ports/event-store.js';
import { WriteAudit } from '../../../projections/write-audit.js';
import type { CommandContext } from '../command-context.js';
import { windowTimes } from '../log-queries.js';
import { table } from '../output.js';
import { parsePoint, resolveWindow } from '../point-argument.js';
import { withReadOnlyLog } from '../read-only-log.js';
import { parseLbnRange } from '../size-argument.js';

/** Options of `shadowlog audit`. */
interface AuditOptions {
  readonly from?: string;
  readonly to?: string;
  readonly lbn?: string;
}

/** `shadowlog audit <set>`: the LBN ranges written, trimmed or zeroed in a window, merged. */
export async function audit(ctx: CommandContext, set: string, options: AuditOptions): Promise<void> {
  const from = options.from === undefined ? undefined : parsePoint('--from', options.from);
  const to = options.to === undefined ? undefined : parsePoint('--to', options.to);
  const lbn = options.lbn === undefined ? undefined : parseLbnRange(options.lbn);
  await withReadOnlyLog(ctx, ctx.paths(set), async (store) => {
    if (lbn) await checkLbnInVolume(store, lbn.end);
    const resolved = await resolveWindow(store, from, to);
    const window = { ...resolved, ...(await windowTimes(store, resolved)) };
    const audit = new WriteAudit({
      fromPosition: window.fromPosition,
      toPosition: window.toPosition,
      ...(lbn && { lbnStart: lbn.start, lbnEnd: lbn.end }),
    });
    if (window.toPosition >= window.fromPosition) {
      for await (const batch of store.read(window.fromPosition, window.toPosition + 1))
        for (const r of batch) audit.apply(r);
    }
    const ranges = audit.result();
    const blocks = ranges.reduce((n, r) => n + r.count, 0);
    ctx.output.result({ window, ranges, blocks, writes: audit.events }, () => {
      ctx.output.line(
        `window: positions ${window.fromPosition}-${window.toPosition} (${window.fromTime ?? '-'} to ${window.toTime ?? '-'})${window.toPosition < window.fromPosition ? ': empty' : ''}`,
      );
      ctx.output.line(
        `${formatCount(ranges.length)} ${ranges.length === 1 ? 'range' : 'ranges'}, ${formatCount(blocks)} blocks changed by ${formatCount(audit.events)} writes`,
      );
      for (const line of table([
        ['lbn', 'count', 'writes', 'trims', 'zeroes', 'first position', 'last position'],
        ...ranges.map((r) => [
          `${r.lbn}-${r.lbn + r.count - 1}`,
          String(r.count),
          String(r.writes),
          String(r.trims),
          String(r.zeroes),
          String(r.firstPosition),
          String(r.lastPosition),
        ]),
      ]))
        ctx.output.line(`  ${line}`);
    });
  });
}

/** `--lbn` past the end of the volume matches nothing: an operator typo, refused with exit 2. */
async function checkLbnInVolume(store: EventStore, lastLbn: number): Promise<void> {
  for await (const batch of store.read(0, 1)) {
    const created = batch[0]?.event;
    if (created?.type === 'ShadowSetCreated' && lastLbn >= created.blocks) {
      throw new InvalidArgumentError(
        `--lbn ends at ${lastLbn}, past the end of the volume (${created.blocks} blocks: LBN 0-${created.blocks - 1})`,
      );
    }
  }
}
