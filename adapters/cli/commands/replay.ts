import { resolve } from 'node:path';
import { formatCount } from '../../../domain/copy-planning.js';
import type { EventStore } from '../../../domain/ports/event-store.js';
import {
  initialProjectedState,
  type ProjectedState,
  projectBatch,
} from '../../../projections/projected-state.js';
import { type SetSummary, summarise } from '../../../projections/set-summary.js';
import { openLogCopy, openSetReadOnly } from '../../composition-root/set-store.js';
import type { CommandContext } from '../command-context.js';
import { minimergeAt, resolvePoint } from '../log-queries.js';
import { type Output, table } from '../output.js';
import { parsePoint } from '../point-argument.js';
import { ProgressReporter } from '../progress-reporter.js';
import { withOpenLog } from '../read-only-log.js';

/** Events per read while replaying: large, since replay reads the whole log once. */
const REPLAY_BATCH_EVENTS = 65_536;

/** `shadowlog replay <set> [--log DIR] [--until P]`: every projection rebuilt from position 0. */
export async function replay(
  ctx: CommandContext,
  set: string,
  options: { log?: string; until?: string },
): Promise<void> {
  const paths = ctx.paths(set);
  const dir = options.log === undefined ? paths.log : resolve(options.log);
  const store = options.log === undefined ? await openSetReadOnly(paths, ctx.home) : await openLogCopy(dir);
  await withOpenLog(store, async () => {
    const last = await store.lastPosition();
    const until =
      options.until === undefined
        ? last
        : Math.min(last, await resolvePoint(store, parsePoint('--until', options.until), '--until'));
    const state = await foldFromStart(ctx, store, until);
    const minimerge = await minimergeAt(store, state);
    const summary = summarise(state, minimerge?.bitmap, minimerge?.time);
    const document = {
      log: dir,
      events: until + 1,
      writeEvents: state.set.writeEvents,
      summary,
      journal: state.journal,
    };
    ctx.output.result(document, () => printReplay(ctx.output, dir, until, state, summary));
  });
}

/** Fold positions 0..until with a progress bar. From 0 on purpose: snapshots are not trusted here. */
async function foldFromStart(ctx: CommandContext, store: EventStore, until: number): Promise<ProjectedState> {
  const state = initialProjectedState();
  const bar = new ProgressReporter(ctx.output, 'replay', until + 1, 'events');
  for await (const batch of store.read(0, until + 1, { batchSize: REPLAY_BATCH_EVENTS })) {
    projectBatch(state, batch);
    bar.update(state.set.position + 1);
  }
  bar.stop(until + 1);
  return state;
}

function printReplay(
  o: Output,
  dir: string,
  until: number,
  state: ProjectedState,
  summary: SetSummary,
): void {
  o.line(
    `replayed ${formatCount(until + 1)} events (${formatCount(state.set.writeEvents)} writes) of ${dir}`,
  );
  o.line(`set ${summary.set} at position ${summary.position}${summary.time ? ` (${summary.time})` : ''}`);
  for (const line of table([
    ['member', 'state', 'since', 'path'],
    ...summary.members.map((m) => [m.id, m.state, String(m.sincePosition), m.path]),
  ]))
    o.line(`  ${line}`);
  for (const b of summary.bitmaps)
    o.line(
      `  bitmap ${b.type} ${b.member}: ${b.chunksMarked} chunks marked (${b.percent}%) since position ${b.sincePosition}`,
    );
  for (const c of state.journal.copies)
    o.line(`  copy to ${c.member} at ${c.startPosition}: ${c.kind}, ${c.outcome} (${c.reason})`);
}
