import type { ResolvedEvent } from '@kurrent/kurrentdb-client';
import { IoError, LogCorruptError, ShadowlogError } from '../../../domain/errors.js';
import type { RecordedEvent } from '../../../domain/events.js';
import type { Subscription } from '../../../domain/ports/event-store.js';
import type { KurrentDbClientSurface, StreamSubscriptionSurface } from './client-surface.js';
import { fromResolvedEvent } from './event-mapping.js';
import {
  backoffDelay,
  describeError,
  isTransient,
  pause,
  type RetryPolicy,
  type ServerTarget,
  unreachableError,
} from './retry-policy.js';
import { subscriptionStart } from './revision-mapping.js';

/**
 * Subscriptions over KurrentDB catch-up subscriptions (`subscribeToStream`): the server reads
 * the stored events, then switches to live ones, and tells nothing of the switch that matters
 * here -- to the subscriber it is one ordered sequence.
 *
 * Delivery is one batch at a time: whatever the client has buffered (up to
 * `maxBatchEvents`) goes to the callback, and nothing more is read until the callback's
 * promise settles. Buffering is bounded by the subscription Readable's `highWaterMark`
 * (`maxBufferedEvents`): once it is full gRPC flow control holds the server back, and a
 * server whose subscriber stays behind too long falls back to catching up from its log.
 *
 * A dropped connection is not the subscriber's problem: the subscription is opened again from
 * the next undelivered position, with the store's backoff, and events seen twice across the
 * reconnect are skipped by position. Every delivery is checked: positions are consecutive
 * from `from`, no gap, no duplicate.
 */

/** Bounds of one subscription. */
export interface KurrentDbSubscriptionLimits {
  /** Most events buffered between the server and the callback. */
  readonly maxBufferedEvents: number;
  /** Most events per callback. */
  readonly maxBatchEvents: number;
}

/** Defaults: a few MB of small events per subscriber. */
export const DEFAULT_KURRENTDB_SUBSCRIPTION_LIMITS: KurrentDbSubscriptionLimits = {
  maxBufferedEvents: 4096,
  maxBatchEvents: 4096,
};

/** What a subscription needs. */
export interface StreamSubscriptionDeps {
  /** The client (only subscribeToStream is called). */
  readonly client: Pick<KurrentDbClientSurface, 'subscribeToStream'>;
  /** The set's stream. */
  readonly streamName: string;
  /** The server, for messages. */
  readonly target: ServerTarget;
  /** Reconnects after transient failures. */
  readonly retry: RetryPolicy;
  /** Bounds. */
  readonly limits: KurrentDbSubscriptionLimits;
}

/** The callback failed: ends the subscription with its error, never retried. */
class CallbackFailure {
  constructor(readonly error: unknown) {}
}

/** A subscription of one callback to a set's stream; see the file comment. */
export class KurrentDbSubscription implements Subscription {
  /** Resolves after unsubscribe or store close; rejects on a callback, data or connection error. */
  readonly done: Promise<void>;
  private readonly deps: StreamSubscriptionDeps;
  private readonly onBatch: (batch: readonly RecordedEvent[]) => void | Promise<void>;
  private readonly stopping = new AbortController();
  private nextPosition: number;

  constructor(
    deps: StreamSubscriptionDeps,
    from: number,
    onBatch: (batch: readonly RecordedEvent[]) => void | Promise<void>,
  ) {
    this.deps = deps;
    this.onBatch = onBatch;
    this.nextPosition = from;
    this.done = this.run();
    // Errors surface through `done`; an unobserved one must not crash the process.
    this.done.catch(() => undefined);
  }

  /** See {@link Subscription.unsubscribe}. */
  async unsubscribe(): Promise<void> {
    this.stop();
    await this.done.catch(() => undefined);
  }

  /** Stop without waiting (the store's close waits on `done` itself). */
  stop(): void {
    this.stopping.abort();
  }

  private get stopped(): boolean {
    return this.stopping.signal.aborted;
  }

  private async run(): Promise<void> {
    const { client, streamName, target, retry, limits } = this.deps;
    let failures = 0;
    while (!this.stopped) {
      let reader: SubscriptionReader | undefined;
      try {
        const source = client.subscribeToStream(
          streamName,
          { fromRevision: subscriptionStart(this.nextPosition) },
          { highWaterMark: limits.maxBufferedEvents },
        );
        reader = new SubscriptionReader(source, this.stopping.signal);
        const startedAt = this.nextPosition;
        const outcome = await this.pump(reader);
        if (outcome === 'stopped') return;
        // The server ended the subscription without an error: open it again.
        failures = this.nextPosition > startedAt ? 1 : failures + 1;
        if (failures >= retry.maxAttempts) {
          throw new IoError(`KurrentDB ended the subscription to ${streamName} ${failures} times in a row`);
        }
      } catch (error) {
        if (error instanceof CallbackFailure) throw error.error;
        if (this.stopped) return;
        if (!isTransient(error)) {
          if (error instanceof ShadowlogError) throw error;
          throw new IoError(
            `subscription to ${streamName} on ${target.display} failed: ${describeError(error)}`,
            {
              cause: error,
            },
          );
        }
        // A connection that delivered something before it broke starts the count again.
        failures = reader?.delivered ? 1 : failures + 1;
        if (failures >= retry.maxAttempts) {
          throw unreachableError(target, `subscribing to ${streamName}`, failures, error);
        }
      } finally {
        await reader?.close();
      }
      await pause(backoffDelay(retry, failures), this.stopping.signal);
    }
  }

  /** Deliver batches until stopped, or the source ends or fails. */
  private async pump(reader: SubscriptionReader): Promise<'stopped' | 'ended'> {
    const { streamName, limits } = this.deps;
    for (;;) {
      const items = await reader.next(limits.maxBatchEvents);
      if (this.stopped) return 'stopped';
      if (items === 'ended') return 'ended';
      const batch: RecordedEvent[] = [];
      for (const item of items) {
        const recorded = fromResolvedEvent(item, streamName);
        const expected = this.nextPosition + batch.length;
        // Before `from` (the server may start early) or seen before a reconnect: skip.
        if (recorded.position < expected) continue;
        if (recorded.position > expected) {
          throw new LogCorruptError(
            `subscription to ${streamName} jumped from position ${expected} to ${recorded.position}: ` +
              'events are missing from the stream (truncated or scavenged?)',
          );
        }
        batch.push(recorded);
      }
      if (batch.length === 0) continue;
      try {
        await this.onBatch(batch);
      } catch (error) {
        throw new CallbackFailure(error);
      }
      this.nextPosition = batch[batch.length - 1]!.position + 1;
      reader.delivered = true;
    }
  }
}

/**
 * Pull-style reading of a subscription Readable: take what is buffered when the subscriber
 * is ready, wait when nothing is. Listeners stay attached for the Readable's whole life, so an
 * error emitted while the callback runs is kept, not thrown at the process.
 */
class SubscriptionReader {
  /** True once something from this source was delivered. */
  delivered = false;
  private readonly source: StreamSubscriptionSurface;
  private readonly signal: AbortSignal;
  private failure: unknown = null;
  private ended = false;
  private wake: (() => void) | null = null;
  private readonly onWake = () => {
    const wake = this.wake;
    this.wake = null;
    wake?.();
  };
  private readonly onError = (error: unknown) => {
    this.failure ??= error;
    this.onWake();
  };
  private readonly onEnd = () => {
    this.ended = true;
    this.onWake();
  };

  constructor(source: StreamSubscriptionSurface, signal: AbortSignal) {
    this.source = source;
    this.signal = signal;
    source.on('error', this.onError);
    source.on('end', this.onEnd);
    source.on('close', this.onEnd);
    source.on('readable', this.onWake);
    signal.addEventListener('abort', this.onWake);
  }

  /** Up to `max` buffered items, waiting for one; 'ended' when the source is done. Rejects with its error. */
  async next(max: number): Promise<ResolvedEvent[] | 'ended'> {
    for (;;) {
      if (this.signal.aborted) return 'ended';
      const items: ResolvedEvent[] = [];
      while (items.length < max) {
        const item: ResolvedEvent | null | undefined = this.source.read();
        if (item === null || item === undefined) break;
        items.push(item);
      }
      // Buffered events are good even if the connection broke after them: deliver first.
      if (items.length > 0) return items;
      if (this.failure !== null) throw this.failure;
      if (this.ended) return 'ended';
      await new Promise<void>((resolve) => {
        this.wake = resolve;
      });
    }
  }

  /** Cancel the server side and drop the Readable. Late errors (the cancel itself) are ignored. */
  async close(): Promise<void> {
    this.signal.removeEventListener('abort', this.onWake);
    this.source.off('end', this.onEnd);
    this.source.off('close', this.onEnd);
    this.source.off('readable', this.onWake);
    this.source.off('error', this.onError);
    this.source.on('error', () => undefined);
    try {
      await this.source.unsubscribe();
    } catch {
      // Already broken: nothing to cancel.
    }
    this.source.destroy();
  }
}
