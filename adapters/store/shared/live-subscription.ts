import { assert } from '../../../domain/errors.js';
import type { RecordedEvent } from '../../../domain/events.js';
import type { Subscription } from '../../../domain/ports/event-store.js';

/**
 * The subscription algorithm every store shares: catch up by reading, then follow live
 * appends, one batch at a time, awaiting the callback before the next.
 *
 * Buffering is bounded: while live, committed batches queue up to `maxQueuedBatches` /
 * `maxQueuedEvents`; a subscriber that falls further behind has its queue dropped and goes
 * back to catching up by reading the store -- it never loses an event and the store never
 * holds an unbounded backlog for it. Positions are checked on every delivery: no gap, no
 * duplicate.
 */

/** What a store offers a subscription. */
export interface SubscriptionFeed {
  /** Position after the last durable event, now. */
  end(): number;
  /** Durable events `[from, to)` in batches. */
  read(from: number, to: number): AsyncIterable<readonly RecordedEvent[]>;
  /** Be told synchronously of every durable batch, in order, and of the store closing. Returns the unregister function. */
  listen(listener: FeedListener): () => void;
  /**
   * For stores that are not told of appends (a read-only view of a log another process
   * writes): look for new durable events. Called when the subscription is idle, every
   * `pollIntervalMs`.
   */
  readonly poll?: (() => Promise<void>) | undefined;
}

/** Callbacks a feed calls. */
export interface FeedListener {
  /** A batch of consecutive events became durable. */
  onAppended(batch: readonly RecordedEvent[]): void;
  /** The store is closing: the subscription ends (done resolves). */
  onClosed(): void;
}

/** Bounds of one subscription. */
export interface SubscriptionLimits {
  /** Most live batches queued for a busy callback. */
  readonly maxQueuedBatches: number;
  /** Most live events queued for a busy callback. */
  readonly maxQueuedEvents: number;
  /** Poll period of feeds with `poll`. */
  readonly pollIntervalMs: number;
}

/** Defaults: a few MB of small events at most per subscriber. */
export const DEFAULT_SUBSCRIPTION_LIMITS: SubscriptionLimits = {
  maxQueuedBatches: 1024,
  maxQueuedEvents: 65536,
  pollIntervalMs: 100,
};

/** Start a subscription; see {@link SubscriptionFeed}. */
export function startSubscription(
  feed: SubscriptionFeed,
  from: number,
  onBatch: (batch: readonly RecordedEvent[]) => void | Promise<void>,
  limits: SubscriptionLimits = DEFAULT_SUBSCRIPTION_LIMITS,
): Subscription {
  return new LiveSubscription(feed, from, onBatch, limits);
}

class LiveSubscription implements Subscription {
  readonly done: Promise<void>;
  private readonly feed: SubscriptionFeed;
  private readonly onBatch: (batch: readonly RecordedEvent[]) => void | Promise<void>;
  private readonly limits: SubscriptionLimits;
  private nextPosition: number;
  private stopped = false;
  /** True once caught up: live batches are queued. */
  private live = false;
  /** Set when the queue overflowed: go back to reading. */
  private overflowed = false;
  private queue: (readonly RecordedEvent[])[] = [];
  private queuedEvents = 0;
  private wake: (() => void) | null = null;
  private pollFailure: unknown = null;

  constructor(
    feed: SubscriptionFeed,
    from: number,
    onBatch: (batch: readonly RecordedEvent[]) => void | Promise<void>,
    limits: SubscriptionLimits,
  ) {
    this.feed = feed;
    this.onBatch = onBatch;
    this.limits = limits;
    this.nextPosition = from;
    const unlisten = feed.listen({
      onAppended: (batch) => this.onAppended(batch),
      onClosed: () => this.stop(),
    });
    this.done = this.run().finally(unlisten);
    // Errors surface through `done`; an unobserved one must not crash the process.
    this.done.catch(() => undefined);
  }

  async unsubscribe(): Promise<void> {
    this.stop();
    await this.done.catch(() => undefined);
  }

  private stop(): void {
    this.stopped = true;
    this.signal();
  }

  private signal(): void {
    const wake = this.wake;
    this.wake = null;
    wake?.();
  }

  private onAppended(batch: readonly RecordedEvent[]): void {
    if (this.stopped || batch.length === 0) return;
    if (this.live && !this.overflowed) {
      const { maxQueuedBatches, maxQueuedEvents } = this.limits;
      if (this.queue.length >= maxQueuedBatches || this.queuedEvents + batch.length > maxQueuedEvents) {
        // Too far behind: drop the backlog and catch up from the store instead.
        this.overflowed = true;
        this.queue = [];
        this.queuedEvents = 0;
      } else {
        this.queue.push(batch);
        this.queuedEvents += batch.length;
      }
    }
    this.signal();
  }

  private async run(): Promise<void> {
    // Every round delivers a batch, reads the store, switches mode, or waits; stop ends it.
    while (!this.stopped) {
      if (!this.live) {
        const end = this.feed.end();
        if (this.nextPosition >= end) {
          // Synchronous with the check above: every batch committed from now on is queued.
          this.live = true;
          this.overflowed = false;
          continue;
        }
        for await (const batch of this.feed.read(this.nextPosition, end)) {
          if (this.stopped) return;
          await this.deliver(batch);
        }
        continue;
      }
      if (this.overflowed) {
        this.live = false;
        continue;
      }
      const queued = this.queue.shift();
      if (queued !== undefined) {
        this.queuedEvents -= queued.length;
        const skip = this.nextPosition - queued[0]!.position;
        if (skip < 0) {
          // A gap (should not happen with an in-order feed): fill it from the store.
          this.live = false;
          this.queue = [];
          this.queuedEvents = 0;
          continue;
        }
        if (skip < queued.length) await this.deliver(skip === 0 ? queued : queued.slice(skip));
        continue;
      }
      if (this.feed.end() > this.nextPosition) {
        this.live = false;
        continue;
      }
      await this.idle();
      if (this.pollFailure !== null) throw this.pollFailure;
    }
  }

  private async deliver(batch: readonly RecordedEvent[]): Promise<void> {
    assert(
      batch[0]!.position === this.nextPosition,
      `subscription expected position ${this.nextPosition}, store delivered ${batch[0]!.position}`,
    );
    await this.onBatch(batch);
    this.nextPosition = batch[batch.length - 1]!.position + 1;
  }

  private idle(): Promise<void> {
    return new Promise<void>((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
      const poll = this.feed.poll;
      if (poll !== undefined) {
        timer = setTimeout(() => {
          poll().then(
            () => this.signal(),
            (error: unknown) => {
              this.pollFailure = error;
              this.signal();
            },
          );
        }, this.limits.pollIntervalMs);
      }
    });
  }
}
