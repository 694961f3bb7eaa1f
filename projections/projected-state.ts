import type { RecordedEvent } from '../domain/events.js';
import type { ReplayVisitor } from '../domain/ports/event-store.js';
import { cloneState, evolve, initialState, type ShadowSetState } from '../domain/shadow-set-state.js';
import { evolveWrites } from '../domain/write-fold.js';
import type { WriteRun } from '../domain/write-run.js';
import { type CopyJournal, cloneCopyJournal, evolveCopyJournal, initialCopyJournal } from './copy-journal.js';
import {
  cloneWrittenChunks,
  evolveWrittenChunks,
  evolveWrittenChunksRun,
  initialWrittenChunks,
  type WrittenChunks,
} from './written-chunks.js';

/**
 * Every projection that has a state at a position: the set (members and write bitmaps, the
 * decider's fold) and the copy journal. `stateAt(P)`, snapshots and the live runtime all
 * hold one of these. Window queries (audit, chunk history, minimerge bitmap) are folds over a
 * range of the log instead and live in their own files.
 */
export interface ProjectedState {
  /** Members, write bitmaps, merge and sync state. */
  readonly set: ShadowSetState;
  /** Every copy and merge with its decision and outcome. */
  readonly journal: CopyJournal;
  /**
   * Chunks ever written since a fresh create (projections/written-chunks.ts). Optional so states
   * built by hand (tests, older callers) stay valid; absent means "cannot vouch": copy everything.
   */
  readonly written?: WrittenChunks;
}

/** The projections before any event. */
export function initialProjectedState(): ProjectedState {
  return { set: initialState(), journal: initialCopyJournal(), written: initialWrittenChunks() };
}

/** Fold one event into every projection (in place); returns the same object. */
export function project(state: ProjectedState, recorded: RecordedEvent): ProjectedState {
  evolve(state.set, recorded);
  // The journal ignores writes; skipping the call keeps replay a tight loop.
  const type = recorded.event.type;
  if (type !== 'BlocksWritten' && type !== 'BlocksTrimmed' && type !== 'ZeroesWritten') {
    evolveCopyJournal(state.journal, recorded);
    if (type === 'ShadowSetCreated' && state.written) evolveWrittenChunks(state.written, recorded);
  } else if (state.written) {
    evolveWrittenChunks(state.written, recorded);
  }
  return state;
}

/** Fold a batch of events. */
export function projectBatch(state: ProjectedState, batch: readonly RecordedEvent[]): ProjectedState {
  for (let i = 0; i < batch.length; i++) project(state, batch[i]!);
  return state;
}

/**
 * Fold a run of consecutive write events: the same as {@link project} of each write (a
 * property test, test/projections/projected-replay.test.ts, checks it). A projection that
 * `project` feeds writes must be fed here too.
 */
export function projectWrites(state: ProjectedState, run: WriteRun): ProjectedState {
  evolveWrites(state.set, run);
  if (state.written) evolveWrittenChunksRun(state.written, run);
  return state;
}

/** A visitor for EventStore.replay that folds every event into `state`. */
export function projectingVisitor(state: ProjectedState): ReplayVisitor {
  return {
    onWrites: (run) => projectWrites(state, run),
    onEvent: (recorded) => project(state, recorded),
  };
}

/** A deep copy. */
export function cloneProjectedState(state: ProjectedState): ProjectedState {
  return {
    set: cloneState(state.set),
    journal: cloneCopyJournal(state.journal),
    ...(state.written ? { written: cloneWrittenChunks(state.written) } : {}),
  };
}
