import { InvalidArgumentError, IoError } from '../../../domain/errors.js';
import { parseEvent, type RecordedEvent, type ShadowEvent } from '../../../domain/events.js';
import type {
  AppendOptions,
  EventStore,
  ReadOptions,
  Subscription,
} from '../../../domain/ports/event-store.js';
import { expectedPositionRefusal } from '../shared/expected-position.js';
import type { SubscriptionLimits } from '../shared/live-subscription.js';
import {
  checkExpectedPosition,
  checkReadRange,
  checkSubscribeFrom,
  DEFAULT_READ_BATCH,
} from '../shared/store-arguments.js';
import { SubscriptionHub } from '../shared/subscription-hub.js';

/**
 * The reference EventStore: events in an array. Every other store must behave like this one
 * (the contract suite in test/store-contract.ts holds them to it). Appends are validated with
 * the event schemas -- like the embedded store, which refuses to write an event it could not
 * read back -- and are durable as soon as they are in the array, so each append is applied
 * at call time, in call order.
 */

/** Options of {@link MemoryEventStore}. */
export interface MemoryEventStoreOptions {
  /** Clock for recordedAt (ms since epoch); `Date.now` by default. */
  readonly clock?: () => number;
  /** Bounds of subscription buffering. */
  readonly subscriptionLimits?: Partial<SubscriptionLimits>;
}

/** In-memory event store. */
export class MemoryEventStore implements EventStore {
  private readonly events: RecordedEvent[] = [];
  private readonly clock: () => number;
  private readonly subscriptions: SubscriptionHub;
  private closed = false;

  constructor(options: MemoryEventStoreOptions = {}) {
    this.clock = options.clock ?? Date.now;
    this.subscriptions = new SubscriptionHub(
      { end: () => this.events.length, read: (from, to) => this.batches(from, to, DEFAULT_READ_BATCH) },
      options.subscriptionLimits,
    );
  }

  /** See {@link EventStore.append}. */
  async append(events: readonly ShadowEvent[], options: AppendOptions = {}): Promise<number> {
    if (this.closed) throw new IoError('memory event store is closed');
    checkExpectedPosition(options.expectedPosition);
    if (!Array.isArray(events) || events.length === 0) {
      throw new InvalidArgumentError('append needs at least one event');
    }
    // Validate everything before changing anything: an append is all or nothing.
    const parsed = events.map((event) => parseEvent(event));
    const first = this.events.length;
    const refusal = expectedPositionRefusal(options.expectedPosition, first);
    if (refusal !== null) throw refusal;
    const last = this.events[first - 1];
    const recordedAt = Math.max(this.clock(), last?.recordedAt ?? Number.NEGATIVE_INFINITY);
    const batch: RecordedEvent[] = parsed.map((event, i) => ({ position: first + i, recordedAt, event }));
    // Plain loop: `push(...batch)` overflows the stack for very large appends.
    for (const recorded of batch) this.events.push(recorded);
    this.subscriptions.publish(batch);
    return first + batch.length - 1;
  }

  /** See {@link EventStore.read}. */
  read(from: number, to?: number, options: ReadOptions = {}): AsyncIterable<readonly RecordedEvent[]> {
    const range = checkReadRange(from, to, options.batchSize, this.events.length);
    return this.batches(range.from, range.to, range.batchSize);
  }

  /** See {@link EventStore.subscribe}. */
  subscribe(from: number, onBatch: (batch: readonly RecordedEvent[]) => void | Promise<void>): Subscription {
    checkSubscribeFrom(from);
    if (this.closed) throw new IoError('memory event store is closed');
    return this.subscriptions.subscribe(from, onBatch);
  }

  /** See {@link EventStore.lastPosition}. */
  async lastPosition(): Promise<number> {
    return this.events.length - 1;
  }

  /** See {@link EventStore.close}. Idempotent; ends subscriptions. */
  async close(): Promise<void> {
    this.closed = true;
    this.subscriptions.close();
  }

  private async *batches(
    from: number,
    to: number,
    batchSize: number,
  ): AsyncGenerator<readonly RecordedEvent[]> {
    // Bounded by `to`, captured at the call.
    for (let start = from; start < to; start += batchSize) {
      yield this.events.slice(start, Math.min(to, start + batchSize));
    }
  }
}
