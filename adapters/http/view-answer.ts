import type { ChunkBitmap } from '../../domain/chunk-bitmap.js';
import type { EventStore } from '../../domain/ports/event-store.js';
import { eventView } from '../../projections/event-view.js';
import { summarise } from '../../projections/set-summary.js';
import { writeBitmaps } from '../../projections/write-bitmaps.js';
import type { IndexedState } from './log-index.js';
import type { BitmapRuns, ViewAnswer } from './read-api.js';

/**
 * A bitmap as `[first, count, first, count, ...]`: the ChunkBitmap's run iterator walks its
 * words (zero words skipped in one compare), so a sparse 34M-chunk bitmap costs its runs, not
 * its chunks.
 */
export function runsOf(bitmap: ChunkBitmap): number[] {
  const runs: number[] = [];
  for (const run of bitmap.runs()) runs.push(run.first, run.count);
  return runs;
}

/** recordedAt of the event at `position` (ms), 0 when the log does not hold it. */
export async function recordedAtOf(store: EventStore, position: number): Promise<number> {
  for await (const batch of store.read(position, position + 1, { batchSize: 1 })) {
    const first = batch[0];
    if (first) return first.recordedAt;
  }
  return 0;
}

/** The `GET /api/view` document at `position` from the indexed state there. */
export async function viewAnswer(store: EventStore, position: number, at: IndexedState): Promise<ViewAnswer> {
  const { state, minimerge } = at;
  let event: ViewAnswer['event'] = null;
  for await (const batch of store.read(position, position + 1, { batchSize: 1 })) {
    if (batch[0]) event = eventView(batch[0]);
  }
  const minimergeTime =
    minimerge && minimerge.fromPosition <= position ? await recordedAtOf(store, minimerge.fromPosition) : 0;
  const bitmaps: BitmapRuns[] = writeBitmaps(state.set).map((b) => ({
    member: b.member,
    type: b.type,
    sincePosition: b.sincePosition,
    chunksMarked: b.chunksMarked,
    runs: runsOf(b.bitmap),
  }));
  if (minimerge) {
    bitmaps.push({
      member: '*',
      type: 'minimerge',
      sincePosition: minimerge.fromPosition - 1,
      chunksMarked: minimerge.chunks.count(),
      runs: runsOf(minimerge.chunks),
    });
  }
  return {
    position,
    event,
    summary: summarise(state, minimerge ?? undefined, minimergeTime),
    bitmaps,
    journal: state.journal,
  };
}
