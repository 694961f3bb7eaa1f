import { OutOfRangeError } from '../../domain/errors.js';
import type { EventStore } from '../../domain/ports/event-store.js';
import {
  initialProjectedState,
  type ProjectedState,
  projectingVisitor,
} from '../../projections/projected-state.js';
import { decodeProjectedState } from '../../projections/state-snapshot.js';
import { replayRange } from './replay-range.js';

/** Where stateAt may find a projection snapshot to start from. */
export interface SnapshotSource {
  /** The newest intact snapshot at or below `maxPosition`, or null. */
  loadLatest(maxPosition: number): Promise<{ position: number; bytes: Uint8Array } | null>;
}

/** Where the engine saves projection snapshots. */
export interface SnapshotSink {
  /** Save the encoded state after event `position`. */
  save(position: number, bytes: Uint8Array): Promise<void>;
}

/** Options of {@link stateAt}. */
export interface StateAtOptions {
  /** Snapshots to start from; without them the fold starts at position 0. */
  readonly snapshots?: SnapshotSource;
  /** Told about a snapshot that could not be used (it is then ignored, never trusted). */
  readonly onWarning?: (message: string) => void;
}

/**
 * Time travel: every projection as it was right after the event at `position`. Starts from
 * the nearest snapshot at or below `position` and replays the rest. Deterministic: the same
 * log gives the same state, whether folded live or here.
 */
export async function stateAt(
  store: EventStore,
  position: number,
  options: StateAtOptions = {},
): Promise<ProjectedState> {
  const last = await store.lastPosition();
  if (!Number.isSafeInteger(position) || position < 0 || position > last) {
    throw new OutOfRangeError(`position ${position} is not in the log (positions 0-${last})`);
  }
  let state = initialProjectedState();
  if (options.snapshots) {
    const snapshot = await options.snapshots.loadLatest(position);
    if (snapshot !== null) {
      try {
        state = decodeProjectedState(snapshot.bytes);
        if (state.set.position !== snapshot.position) {
          options.onWarning?.(
            `snapshot at position ${snapshot.position} holds state of position ${state.set.position}; ignored`,
          );
          state = initialProjectedState();
        }
      } catch (error) {
        options.onWarning?.(`snapshot at position ${snapshot.position} ignored: ${(error as Error).message}`);
        state = initialProjectedState();
      }
    }
  }
  // The store's fast path when it has one: write runs folded from typed arrays, no event object per write.
  await replayRange(store, state.set.position + 1, position + 1, projectingVisitor(state));
  return state;
}

/** Every projection at the end of the log. */
export async function currentState(store: EventStore, options: StateAtOptions = {}): Promise<ProjectedState> {
  const last = await store.lastPosition();
  if (last < 0) return initialProjectedState();
  return stateAt(store, last, options);
}
