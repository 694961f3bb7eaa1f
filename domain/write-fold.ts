import { assert } from './errors.js';
import type { ShadowSetState } from './shadow-set-state.js';
import type { WriteRun } from './write-run.js';

/**
 * The write fold of {@link ShadowSetState} for a whole run of consecutive write events at
 * once: the same result as `evolve` of each write in turn (the fast-path property test in
 * test/projections/projected-replay.test.ts checks it on random histories), as plain loops over
 * the run's typed arrays. Writes only mark the bitmaps in `state.marking`, which no write
 * changes, so the loop over the run needs no dispatch.
 */
export function evolveWrites(state: ShadowSetState, run: WriteRun): ShadowSetState {
  const n = run.length;
  if (n === 0) return state;
  const geometry = state.geometry;
  // Tested before calling assert: its message would otherwise be built for every run.
  if (geometry === null || run.firstPosition !== state.position + 1) {
    assert(false, `write event out of order at position ${run.firstPosition}`);
  }
  const marking = state.marking;
  // One call per bitmap per run, the chunk arithmetic (chunkOf, geometry.ts) inside its loop.
  for (let m = 0; m < marking.length; m++) {
    marking[m]!.setWrites(run.lbns, run.counts, 0, n, geometry.chunkBlocks);
  }
  state.position = run.firstPosition + n - 1;
  state.recordedAt = run.recordedAts[n - 1]!;
  state.writeEvents += n;
  return state;
}
