import { Observable, shareReplay } from 'rxjs';
import type { RecordedEvent } from '../../domain/events.js';
import type { EventStore } from '../../domain/ports/event-store.js';
import {
  initialProjectedState,
  type ProjectedState,
  projectBatch,
} from '../../projections/projected-state.js';

/** Options of {@link liveProjection}. */
export interface LiveProjectionOptions {
  /** State to continue from (a snapshot or stateAt result); the fold starts at its position + 1. */
  readonly from?: ProjectedState;
  /** Called after each folded batch, before observers see it (e.g. to take snapshots). */
  readonly afterBatch?: (state: ProjectedState, events: number) => void | Promise<void>;
  /** Called with each batch as delivered, before it is folded (the batch is the store's: do not keep it). */
  readonly onBatch?: (batch: readonly RecordedEvent[]) => void;
}

/**
 * The live runtime: subscribe to the store, fold every batch, and expose the current
 * projections as an Observable shared by all observers. The store delivers one batch at a
 * time and waits for the fold, so buffering is bounded by the store's batch size.
 *
 * Observers receive the same state object after every batch (folds are in place, see
 * `evolve`): read what you need synchronously, or clone it.
 */
export function liveProjection(
  store: EventStore,
  options: LiveProjectionOptions = {},
): Observable<ProjectedState> {
  return new Observable<ProjectedState>((subscriber) => {
    const state = options.from ?? initialProjectedState();
    subscriber.next(state);
    const subscription = store.subscribe(state.set.position + 1, async (batch) => {
      options.onBatch?.(batch);
      projectBatch(state, batch);
      if (options.afterBatch) await options.afterBatch(state, batch.length);
      subscriber.next(state);
    });
    subscription.done.then(
      () => subscriber.complete(),
      (error: unknown) => subscriber.error(error),
    );
    return () => {
      void subscription.unsubscribe();
    };
  }).pipe(shareReplay({ bufferSize: 1, refCount: true }));
}
