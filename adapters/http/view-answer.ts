import type { ChunkBitmap } from '../../domain/chunk-bitmap.js';
import type { EventStore } from '../../domain/ports/event-store.js';
import { eventView } from '../../projections/event-view.js';
import { summarise } from '../../projections/set-summary.js';
import { writeBitmaps } from '../../projections/write-bitmaps.js';
import type { IndexedState } from './log-index.js';
import type { BitmapRuns, ViewAnswer } from './read-api.js';

/**
 * A bitmap as `[first, count, first, count, ...]`, from its words in one plain loop: a zero
 * word or a full word costs one compare, only mixed words are walked bit by bit. (The
 * bitmap's own run iterator allocates an object per run: 50 ms for the 100k runs of a
 * half-marked 132k-chunk bitmap, which a slider move cannot afford.)
 */
export function runsOf(bitmap: ChunkBitmap): number[] {
  const bytes = bitmap.serialise();
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const words = bytes.byteLength >>> 2;
  const runs: number[] = [];
  let start = -1;
  for (let w = 0; w < words; w++) {
    const word = view.getUint32(w * 4, true);
    const base = w * 32;
    if (word === 0) {
      if (start >= 0) {
        runs.push(start, base - start);
        start = -1;
      }
    } else if (word === 0xffffffff) {
      if (start < 0) start = base;
    } else {
      for (let b = 0; b < 32; b++) {
        if (((word >>> b) & 1) === 1) {
          if (start < 0) start = base + b;
        } else if (start >= 0) {
          runs.push(start, base + b - start);
          start = -1;
        }
      }
    }
  }
  // Bits past the last chunk are always zero (chunk-bitmap.ts), so only a run reaching it is open here.
  if (start >= 0) runs.push(start, bitmap.chunks - start);
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
