import { resolve } from 'node:path';
import type { EventStore } from '../../../domain/ports/event-store.js';
import { replayRange } from '../../../processes/queries/replay-range.js';
import { type ProjectedState, projectingVisitor } from '../../../projections/projected-state.js';
import { type SetSummary, summarise } from '../../../projections/set-summary.js';
import { openLogSource, openSetSource } from '../../composition-root/incident-bundle-source.js';
import type { CommandContext } from '../command-context.js';
import { minimergeAt, resolveBound } from '../log-queries.js';
import { countOf } from '../number-format.js';
import { type Output, table } from '../output.js';
import { parsePoint } from '../point-argument.js';
import { ProgressReporter } from '../progress-reporter.js';
import { withOpenLog } from '../read-only-log.js';
import { requireSetName } from '../set-or-log.js';

/** Events folded between two progress updates. */
const REPORT_EVERY_EVENTS = 65_536;

/** `shadowlog replay <set> [--log DIR] [--until P]`: every projection rebuilt from position 0. */
export async function replay(
  ctx: CommandContext,
  set: string | undefined,
  options: { log?: string; until?: string },
): Promise<void> {
  const dir = options.log === undefined ? ctx.paths(requireSetName(set)).log : resolve(options.log);
  const source =
    options.log === undefined
      ? await openSetSource(ctx.paths(requireSetName(set)), ctx.home, ctx.warn)
      : await openLogSource(dir, ctx.warn);
  const store = source.store;
  await withOpenLog(store, async () => {
    // --until first: on a log damaged after it, it accepts the intact prefix (log-queries.ts).
    const bound =
      options.until === undefined
        ? null
        : await resolveBound(store, parsePoint('--until', options.until), '--until');
    const last = await store.lastPosition();
    const until = bound === null ? last : Math.min(last, bound);
    if (until < source.firstPosition && last >= 0) await source.projectionsAt(until); // Before a bundle's window: NotFoundError naming it.
    const state = await foldFromStart(ctx, store, await source.startState(), until);
    const minimerge = await minimergeAt(store, state);
    const summary = summarise(state, minimerge?.bitmap, minimerge?.time);
    const document = {
      log: dir,
      firstPosition: source.firstPosition,
      events: until - source.firstPosition + 1,
      writeEvents: state.set.writeEvents,
      summary,
      journal: state.journal,
    };
    ctx.output.result(document, () => printReplay(ctx.output, dir, document.events, state, summary));
  });
}

/**
 * Fold from the start of the log to `until` with a progress bar: from position 0 on purpose
 * (the set's snapshots are not trusted here), or from an incident bundle's CRC-checked
 * snapshot (`start`), the only state before its first event there is.
 */
async function foldFromStart(
  ctx: CommandContext,
  store: EventStore,
  state: ProjectedState,
  until: number,
): Promise<ProjectedState> {
  const from = state.set.position + 1;
  const bar = new ProgressReporter(ctx.output, 'replay', until - from + 1, 'events');
  if (until >= from) {
    // Through the store's replay: writes fold as typed-array runs, no event object per write.
    const fold = projectingVisitor(state);
    let reportAt = REPORT_EVERY_EVENTS;
    const report = () => {
      const done = state.set.position - from + 1;
      if (done < reportAt) return;
      bar.update(done);
      reportAt = done + REPORT_EVERY_EVENTS;
    };
    await replayRange(store, from, until + 1, {
      onWrites: (run) => {
        fold.onWrites(run);
        report();
      },
      onEvent: (recorded) => {
        fold.onEvent(recorded);
        report();
      },
    });
  }
  bar.stop(until - from + 1);
  return state;
}

function printReplay(
  o: Output,
  dir: string,
  events: number,
  state: ProjectedState,
  summary: SetSummary,
): void {
  o.line(`replayed ${countOf(events, 'event')} (${countOf(state.set.writeEvents, 'write')}) of ${dir}`);
  o.line(`set ${summary.set} at position ${summary.position}${summary.time ? ` (${summary.time})` : ''}`);
  for (const line of table([
    ['member', 'state', 'since', 'path'],
    ...summary.members.map((m) => [m.id, m.state, String(m.sincePosition), m.path]),
  ]))
    o.line(`  ${line}`);
  for (const b of summary.bitmaps)
    o.line(
      `  bitmap ${b.type} ${b.member}: ${countOf(b.chunksMarked, 'chunk')} marked (${b.percent}%) since position ${b.sincePosition}`,
    );
  for (const c of state.journal.copies)
    o.line(`  copy to ${c.member} at ${c.startPosition}: ${c.kind}, ${c.outcome} (${c.reason})`);
}
