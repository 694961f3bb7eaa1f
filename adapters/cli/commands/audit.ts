import { InvalidArgumentError } from '../../../domain/errors.js';
import type { EventStore } from '../../../domain/ports/event-store.js';
import { replayRange } from '../../../processes/queries/replay-range.js';
import { WriteAudit } from '../../../projections/write-audit.js';
import type { LogSource } from '../../composition-root/incident-bundle-source.js';
import type { CommandContext } from '../command-context.js';
import { refuseBoundPastDamage, windowTimes } from '../log-queries.js';
import { countOf, formatNumber } from '../number-format.js';
import { table } from '../output.js';
import { parsePoint, resolveWindow } from '../point-argument.js';
import { withOpenLog } from '../read-only-log.js';
import { openSetOrLog } from '../set-or-log.js';
import { parseLbnRange } from '../size-argument.js';

/** Options of `shadowlog audit`. */
interface AuditOptions {
  readonly from?: string;
  readonly to?: string;
  readonly lbn?: string;
  readonly log?: string;
}

/** `shadowlog audit <set>`: the LBN ranges written, trimmed or zeroed in a window, merged. */
export async function audit(
  ctx: CommandContext,
  set: string | undefined,
  options: AuditOptions,
): Promise<void> {
  const from = options.from === undefined ? undefined : parsePoint('--from', options.from);
  const to = options.to === undefined ? undefined : parsePoint('--to', options.to);
  const lbn = options.lbn === undefined ? undefined : parseLbnRange(options.lbn);
  const source = await openSource(ctx, set, options.log);
  await withOpenLog(source.store, async (store) => {
    if (lbn) await checkLbnInVolume(source, lbn.end);
    // A log damaged after --to reads up to it; --to at or past the damage is exit 5.
    if (to !== undefined) await refuseBoundPastDamage(store, to, '--to');
    const window0 = await resolveWindow(store, from, to);
    // A window ending before a bundle's first position: NotFoundError naming what it holds.
    if (source.firstPosition > 0 && window0.toPosition < source.firstPosition)
      await source.projectionsAt(window0.toPosition);
    // A bundle starts at its window: an audit without --from starts there too.
    const resolved = { ...window0, fromPosition: Math.max(window0.fromPosition, source.firstPosition) };
    const window = { ...resolved, ...(await windowTimes(store, resolved)) };
    const audit = new WriteAudit({
      fromPosition: window.fromPosition,
      toPosition: window.toPosition,
      ...(lbn && { lbnStart: lbn.start, lbnEnd: lbn.end }),
    });
    if (window.toPosition >= window.fromPosition) {
      await replayRange(store, window.fromPosition, window.toPosition + 1, {
        onWrites: (run) => audit.applyWrites(run),
        onEvent: (recorded) => audit.apply(recorded),
      });
    }
    const ranges = audit.result();
    const blocks = ranges.reduce((n, r) => n + r.count, 0);
    ctx.output.result({ window, ranges, blocks, writes: audit.events }, () => {
      ctx.output.line(
        `window: positions ${window.fromPosition}-${window.toPosition} (${window.fromTime ?? '-'} to ${window.toTime ?? '-'})${window.toPosition < window.fromPosition ? ': empty' : ''}`,
      );
      ctx.output.line(
        `${countOf(ranges.length, 'range')}, ${countOf(blocks, 'block')} changed by ${countOf(audit.events, 'write')}`,
      );
      for (const line of table([
        ['lbn', 'count', 'writes', 'trims', 'zeroes', 'first position', 'last position'],
        ...ranges.map((r) => [
          `${r.lbn}-${r.lbn + r.count - 1}`,
          formatNumber(r.count),
          formatNumber(r.writes),
          formatNumber(r.trims),
          formatNumber(r.zeroes),
          String(r.firstPosition),
          String(r.lastPosition),
        ]),
      ]))
        ctx.output.line(`  ${line}`);
    });
  });
}

/** `--lbn` past the end of the volume matches nothing: an operator typo, refused with exit 2. */
async function checkLbnInVolume(source: LogSource, lastLbn: number): Promise<void> {
  // The geometry from the first state held: a bundle has no position 0 to read it from.
  const first = source.firstPosition === 0 ? null : await source.startState();
  const blocks = first?.set.geometry?.blocks ?? (await createdBlocks(source.store));
  if (blocks !== null && lastLbn >= blocks) {
    throw new InvalidArgumentError(
      `--lbn ends at ${lastLbn}, past the end of the volume (${blocks} blocks: LBN 0-${blocks - 1})`,
    );
  }
}

async function createdBlocks(store: EventStore): Promise<number | null> {
  for await (const batch of store.read(0, 1)) {
    const created = batch[0]?.event;
    if (created?.type === 'ShadowSetCreated') return created.blocks;
  }
  return null;
}

/** The set's log, or with --log a log folder or an incident bundle. */
async function openSource(
  ctx: CommandContext,
  set: string | undefined,
  log: string | undefined,
): Promise<LogSource> {
  return openSetOrLog(ctx, set, log);
}
