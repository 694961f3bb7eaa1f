import type { RecordedEvent, ShadowEvent } from '../events.js';
import type { WriteRun } from '../write-run.js';

/**
 * The event store port. One store holds one shadow set's stream. Positions are integers from
 * 0 (ShadowSetCreated). Stores with other numbering (KurrentDB's bigint revisions) map to it.
 */
export interface EventStore {
  /**
   * Append events durably. Resolves with the position of the last appended event once all of
   * them are durable. With `expectedPosition`, the append fails with
   * WrongExpectedPositionError unless the next event would get exactly that position.
   * Appends without an expectation are ordered as called and may be group-committed.
   */
  append(events: readonly ShadowEvent[], options?: AppendOptions): Promise<number>;

  /**
   * Read events with positions in `[from, to)` (`to` defaults to the end at the time of the
   * call), in batches of at most `batchSize` events.
   */
  read(from: number, to?: number, options?: ReadOptions): AsyncIterable<readonly RecordedEvent[]>;

  /**
   * Deliver every event from `from` on: first the stored ones (catch-up), then new appends as
   * they become durable (live). Batches are delivered in order, one at a time: the store
   * waits for `onBatch`'s promise before delivering the next (bounded buffering).
   */
  subscribe(from: number, onBatch: (batch: readonly RecordedEvent[]) => void | Promise<void>): Subscription;

  /**
   * Optional fast path for replay: visit the stored events `[from, to)` in position order,
   * runs of consecutive write events as columns ({@link ReplayVisitor.onWrites}), every other
   * event as a RecordedEvent. Resolves with the events visited. Stores without it are read
   * through {@link read}; both give the same events.
   */
  replay?(from: number, to: number, visitor: ReplayVisitor): Promise<number>;

  /** Position of the last durable event, or -1 for an empty stream. */
  lastPosition(): Promise<number>;

  /** Release resources; pending appends finish first. */
  close(): Promise<void>;
}

/** Options of {@link EventStore.append}. */
export interface AppendOptions {
  /** Position the first appended event must get (optimistic concurrency). */
  readonly expectedPosition?: number;
}

/** Options of {@link EventStore.read}. */
export interface ReadOptions {
  /** Most events per batch; stores pick a default (a few thousand). */
  readonly batchSize?: number;
}

/** A live subscription. */
export interface Subscription {
  /** Stop delivering; resolves when no more callbacks will run. */
  unsubscribe(): Promise<void>;
  /** Resolves when the subscription ends (after unsubscribe or on error); rejects on error. */
  readonly done: Promise<void>;
}

/** Receives {@link EventStore.replay}'s events in position order. */
export interface ReplayVisitor {
  /** A run of consecutive write events; the run is reused once this returns. */
  onWrites(run: WriteRun): void;
  /** Any other event, decoded and validated with its schema. */
  onEvent(recorded: RecordedEvent): void;
}
