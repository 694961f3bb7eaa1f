import { InvalidArgumentError, IoError, LogCorruptError, ShadowlogError } from '../../../domain/errors.js';
import type { RecordedEvent, ShadowEvent } from '../../../domain/events.js';
import type {
  AppendOptions,
  EventStore,
  ReadOptions,
  Subscription,
} from '../../../domain/ports/event-store.js';
import { checkReadRange, checkSubscribeFrom, DEFAULT_READ_BATCH } from '../shared/store-arguments.js';
import {
  AppendWriter,
  type AppendWriterLimits,
  type AppendWriterStats,
  DEFAULT_APPEND_WRITER_LIMITS,
  type StreamTail,
} from './append-writer.js';
import { BACKWARDS, END, FORWARDS } from './client-constants.js';
import { type KurrentDbClientSurface, streamNameFor } from './client-surface.js';
import { fromResolvedEvent } from './event-mapping.js';
import {
  DEFAULT_RETRY_POLICY,
  describeError,
  type RetryPolicy,
  type ServerTarget,
  withRetry,
} from './retry-policy.js';
import { revisionFromPosition } from './revision-mapping.js';
import {
  DEFAULT_KURRENTDB_SUBSCRIPTION_LIMITS,
  KurrentDbSubscription,
  type KurrentDbSubscriptionLimits,
} from './stream-subscription.js';

/**
 * The KurrentDB (formerly EventStoreDB) event store: one shadow set is one stream,
 * `shadowlog-<setId>`, and position p is stream revision p. For users whose sets span several
 * hosts: the log lives in a server (or cluster) every host can reach.
 *
 * - append: group commit with expected revisions, idempotent retries, bounded backlog
 *   (append-writer.ts);
 * - read: pages of `readStream`, validated, re-read from where they stopped after a
 *   transient failure;
 * - subscribe: server catch-up subscriptions, one batch at a time (stream-subscription.ts);
 * - mapping of events and revisions: event-mapping.ts, revision-mapping.ts.
 *
 * The store is opened with {@link KurrentDbEventStore.connect} (or `openKurrentDbStore` from a
 * connection string), which reads the stream's tail once: that checks the server is reachable
 * and gives the writer its first expected revision.
 */

/** Options of {@link KurrentDbEventStore}. */
export interface KurrentDbEventStoreOptions {
  /** The shadow set; its stream is `shadowlog-<setId>`. */
  readonly setId: string;
  /** The server, for messages; defaults to an anonymous description. */
  readonly target?: ServerTarget;
  /** Clock for recordedAt (ms since the epoch); `Date.now` by default. */
  readonly clock?: () => number;
  /** Retries of server calls. */
  readonly retry?: Partial<RetryPolicy>;
  /** Bounds of the writer (set `maxAppendBytes` to the server's MaxAppendSize if it was changed). */
  readonly writerLimits?: Partial<AppendWriterLimits>;
  /** Bounds of subscriptions. */
  readonly subscriptionLimits?: Partial<KurrentDbSubscriptionLimits>;
  /** Events per readStream call when reading (batches are cut from these pages). */
  readonly readPageEvents?: number;
  /** Dispose the client on close (default true: the store owns it). */
  readonly ownsClient?: boolean;
}

/** Same rule as set names everywhere else (CLI, decider). */
const SET_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** Store over one KurrentDB stream; see the file comment. */
export class KurrentDbEventStore implements EventStore {
  /** The set's stream name. */
  readonly streamName: string;
  private readonly client: KurrentDbClientSurface;
  private readonly target: ServerTarget;
  private readonly retry: RetryPolicy;
  private readonly subscriptionLimits: KurrentDbSubscriptionLimits;
  private readonly readPageEvents: number;
  private readonly ownsClient: boolean;
  private readonly writer: AppendWriter;
  private readonly subscriptions = new Set<KurrentDbSubscription>();
  private closed = false;
  private closing: Promise<void> | null = null;

  /** Open a store: read the stream's tail (retrying), so that an unreachable server fails here. */
  static async connect(
    client: KurrentDbClientSurface,
    options: KurrentDbEventStoreOptions,
  ): Promise<KurrentDbEventStore> {
    const store = new KurrentDbEventStore(client, options);
    store.writer.setTail(await store.readTail());
    return store;
  }

  /** Use {@link KurrentDbEventStore.connect}: the writer needs the tail before the first append. */
  private constructor(client: KurrentDbClientSurface, options: KurrentDbEventStoreOptions) {
    if (typeof options.setId !== 'string' || !SET_ID.test(options.setId)) {
      throw new InvalidArgumentError(
        `set name '${options.setId}' is invalid: use letters, digits, '.', '_' and '-' (up to 128), starting with a letter or digit`,
      );
    }
    this.client = client;
    this.streamName = streamNameFor(options.setId);
    this.target = options.target ?? { display: 'the configured KurrentDB server', tls: false };
    this.retry = { ...DEFAULT_RETRY_POLICY, ...options.retry };
    this.subscriptionLimits = { ...DEFAULT_KURRENTDB_SUBSCRIPTION_LIMITS, ...options.subscriptionLimits };
    this.readPageEvents = options.readPageEvents ?? DEFAULT_READ_BATCH;
    this.ownsClient = options.ownsClient ?? true;
    this.writer = new AppendWriter({
      client,
      streamName: this.streamName,
      target: this.target,
      retry: this.retry,
      limits: { ...DEFAULT_APPEND_WRITER_LIMITS, ...options.writerLimits },
      clock: options.clock ?? Date.now,
      readTail: () => this.readTail(),
    });
  }

  /** Counters of the write path. */
  get writerStats(): Readonly<AppendWriterStats> {
    return this.writer.stats;
  }

  /** See {@link EventStore.append}. */
  append(events: readonly ShadowEvent[], options: AppendOptions = {}): Promise<number> {
    return this.writer.append(events, options.expectedPosition);
  }

  /** See {@link EventStore.read}. Arguments are checked at the call; `to` defaults to the end at the first batch. */
  read(from: number, to?: number, options: ReadOptions = {}): AsyncIterable<readonly RecordedEvent[]> {
    const range = checkReadRange(from, to, options.batchSize, Number.MAX_SAFE_INTEGER);
    return this.readBatches(range.from, to === undefined ? undefined : range.to, range.batchSize);
  }

  /** See {@link EventStore.subscribe}. */
  subscribe(from: number, onBatch: (batch: readonly RecordedEvent[]) => void | Promise<void>): Subscription {
    checkSubscribeFrom(from);
    if (this.closed) throw new IoError(`KurrentDB store of ${this.streamName} is closed`);
    const subscription = new KurrentDbSubscription(
      {
        client: this.client,
        streamName: this.streamName,
        target: this.target,
        retry: this.retry,
        limits: this.subscriptionLimits,
      },
      from,
      onBatch,
    );
    this.subscriptions.add(subscription);
    void subscription.done.catch(() => undefined).finally(() => this.subscriptions.delete(subscription));
    return subscription;
  }

  /** See {@link EventStore.lastPosition}. Asks the server: other writers' events count. */
  async lastPosition(): Promise<number> {
    this.checkOpen();
    return (await this.readTail()).end - 1;
  }

  /** See {@link EventStore.close}: pending appends finish, subscriptions end, the client is released. Idempotent. */
  close(): Promise<void> {
    this.closed = true;
    this.closing ??= this.shutDown();
    return this.closing;
  }

  private async shutDown(): Promise<void> {
    await this.writer.close();
    const running = [...this.subscriptions];
    for (const subscription of running) subscription.stop();
    await Promise.all(running.map((subscription) => subscription.done.catch(() => undefined)));
    if (this.ownsClient) await this.client.dispose();
  }

  private checkOpen(): void {
    if (this.closed) throw new IoError(`KurrentDB store of ${this.streamName} is closed`);
  }

  /** The stream's end and last recordedAt, from its last event. */
  private readTail(): Promise<StreamTail> {
    return this.serverCall(`reading the end of ${this.streamName}`, async () => {
      let last: RecordedEvent | undefined;
      try {
        for await (const resolved of this.client.readStream(this.streamName, {
          fromRevision: END,
          direction: BACKWARDS,
          maxCount: 1n,
          requiresLeader: true,
        })) {
          last = fromResolvedEvent(resolved, this.streamName);
        }
      } catch (error) {
        if (!isStreamNotFound(error)) throw error;
      }
      return last === undefined
        ? { end: 0, lastRecordedAt: Number.NEGATIVE_INFINITY }
        : { end: last.position + 1, lastRecordedAt: last.recordedAt };
    });
  }

  private async *readBatches(
    from: number,
    to: number | undefined,
    batchSize: number,
  ): AsyncGenerator<readonly RecordedEvent[]> {
    this.checkOpen();
    const end = to ?? (await this.readTail()).end;
    // Pages are whole numbers of batches, so that every batch but the last is full.
    const pageSize = batchSize * Math.max(1, Math.floor(this.readPageEvents / batchSize));
    let next = from;
    while (next < end) {
      const want = Math.min(pageSize, end - next);
      const page = await this.readPage(next, want);
      for (let i = 0; i < page.length; i += batchSize) yield page.slice(i, i + batchSize);
      if (page.length < want) return;
      next += page.length;
    }
  }

  /** Up to `count` events from `from`, checked consecutive. A transient failure re-reads the page. */
  private readPage(from: number, count: number): Promise<RecordedEvent[]> {
    return this.serverCall(`reading ${this.streamName} from position ${from}`, async () => {
      const page: RecordedEvent[] = [];
      try {
        for await (const resolved of this.client.readStream(this.streamName, {
          fromRevision: revisionFromPosition(from),
          direction: FORWARDS,
          maxCount: BigInt(count),
          requiresLeader: true,
        })) {
          const recorded = fromResolvedEvent(resolved, this.streamName);
          if (recorded.position !== from + page.length) {
            throw new LogCorruptError(
              `${this.streamName} jumps from position ${from + page.length} to ${recorded.position}: ` +
                'events are missing from the stream (truncated or scavenged?)',
            );
          }
          page.push(recorded);
        }
      } catch (error) {
        if (!isStreamNotFound(error)) throw error;
      }
      return page;
    });
  }

  /** Run a server call with retries; client errors that are final become IoError naming the server. */
  private async serverCall<T>(what: string, call: () => Promise<T>): Promise<T> {
    try {
      return await withRetry(call, this.retry, this.target, what);
    } catch (error) {
      if (error instanceof ShadowlogError) throw error;
      throw new IoError(`KurrentDB at ${this.target.display}: ${what} failed: ${describeError(error)}`, {
        cause: error,
      });
    }
  }
}

/** True for the client's error about a stream that does not exist (yet): an empty set log. */
function isStreamNotFound(error: unknown): boolean {
  return (
    typeof error === 'object' && error !== null && (error as { type?: unknown }).type === 'stream-not-found'
  );
}
