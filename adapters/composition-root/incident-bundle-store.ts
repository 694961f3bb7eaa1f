import { NotFoundError } from '../../domain/errors.js';
import type { RecordedEvent, ShadowEvent } from '../../domain/events.js';
import type { AppendOptions, EventStore, ReadOptions, Subscription } from '../../domain/ports/event-store.js';

/**
 * An event store whose positions start at `firstPosition` (an incident bundle's log): reads
 * and subscriptions from before it are NotFoundError (exit 3) naming what the log holds,
 * instead of reading what is not there. `firstPosition` is also what position-at-time.ts
 * looks for to search times within the log.
 */
export class WindowedStore implements EventStore {
  /** @param inner the store read; @param firstPosition its first position; @param what names it in errors */
  constructor(
    private readonly inner: EventStore,
    /** Position of the first event the store holds. */
    readonly firstPosition: number,
    private readonly what: string,
  ) {}

  /** NotFoundError unless `position` is at or after the first position. */
  async checkHolds(position: number, name: string): Promise<void> {
    if (position >= this.firstPosition) return;
    const last = await this.inner.lastPosition();
    throw new NotFoundError(
      `${name} ${position} is before ${this.what}, which holds positions ${this.firstPosition}-${last}: give a position in that window, or use the set's own log`,
    );
  }

  /** See {@link EventStore.append}. */
  append(events: readonly ShadowEvent[], options?: AppendOptions): Promise<number> {
    return this.inner.append(events, options);
  }

  /** See {@link EventStore.read}; from before the first position is NotFoundError. */
  async *read(from: number, to?: number, options?: ReadOptions): AsyncIterable<readonly RecordedEvent[]> {
    await this.checkHolds(from, 'position');
    yield* this.inner.read(from, to, options);
  }

  /** See {@link EventStore.subscribe}; from before the first position starts at it. */
  subscribe(from: number, onBatch: (batch: readonly RecordedEvent[]) => void | Promise<void>): Subscription {
    return this.inner.subscribe(Math.max(from, this.firstPosition), onBatch);
  }

  /** See {@link EventStore.lastPosition}. */
  lastPosition(): Promise<number> {
    return this.inner.lastPosition();
  }

  /** See {@link EventStore.close}. */
  close(): Promise<void> {
    return this.inner.close();
  }
}
