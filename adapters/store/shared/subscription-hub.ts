import type { RecordedEvent } from '../../../domain/events.js';
import type { Subscription } from '../../../domain/ports/event-store.js';
import {
  DEFAULT_SUBSCRIPTION_LIMITS,
  type FeedListener,
  type SubscriptionFeed,
  type SubscriptionLimits,
  startSubscription,
} from './live-subscription.js';

/**
 * A store's side of its live subscriptions: the set of listeners its subscriptions register,
 * the feed they read from, and the two things the store tells them -- a durable batch, and
 * that the store is closing. The memory and the embedded store each keep one; the algorithm
 * of a subscription itself is in live-subscription.ts.
 */

/** How the hub reads the store: the feed without its `listen`, which the hub provides. */
export type FeedSource = Omit<SubscriptionFeed, 'listen'>;

/** Listeners and limits of one store's subscriptions. */
export class SubscriptionHub {
  private readonly listeners = new Set<FeedListener>();
  private readonly feed: SubscriptionFeed;
  private readonly limits: SubscriptionLimits;

  constructor(source: FeedSource, limits: Partial<SubscriptionLimits> | undefined) {
    this.limits = { ...DEFAULT_SUBSCRIPTION_LIMITS, ...limits };
    this.feed = {
      end: source.end,
      read: source.read,
      poll: source.poll,
      listen: (listener) => {
        this.listeners.add(listener);
        return () => this.listeners.delete(listener);
      },
    };
  }

  /** True while a subscription listens: the store builds a batch to publish only then. */
  get listening(): boolean {
    return this.listeners.size > 0;
  }

  /** Start a subscription from `from` (the store checked the argument and that it is open). */
  subscribe(from: number, onBatch: (batch: readonly RecordedEvent[]) => void | Promise<void>): Subscription {
    return startSubscription(this.feed, from, onBatch, this.limits);
  }

  /** Tell every subscription of a durable batch of consecutive events, in order. */
  publish(batch: readonly RecordedEvent[]): void {
    for (const listener of this.listeners) listener.onAppended(batch);
  }

  /** The store is closing: every subscription ends. */
  close(): void {
    // A copy: each listener unregisters itself while we iterate.
    for (const listener of [...this.listeners]) listener.onClosed();
  }
}
