import { randomUUID } from 'node:crypto';
import type { AppendResult } from '@kurrent/kurrentdb-client';
import { IoError, OutOfRangeError, ShadowlogError } from '../../../domain/errors.js';
import type { ShadowEvent } from '../../../domain/events.js';
import { AppendQueue } from '../shared/append-queue.js';
import { expectedPositionRefusal } from '../shared/expected-position.js';
import { rejectAppend, resolveAppend } from '../shared/pending-append.js';
import { checkExpectedPosition } from '../shared/store-arguments.js';
import { type Chunk, cutIntoChunks } from './append-chunks.js';
import type { KurrentDbClientSurface } from './client-surface.js';
import { describeError, type RetryPolicy, type ServerTarget, withRetry } from './retry-policy.js';
import { streamStateBefore } from './revision-mapping.js';
import { type PendingServerAppend, prepareServerAppend, type ServerAppend } from './server-append.js';

/**
 * The write path: group commit over `appendToStream`.
 *
 * Appends queue up; one server append is in flight at a time, and every append that arrives
 * meanwhile joins the next one, so N concurrent appenders cost about one round trip, not N.
 * Memory is bounded: past `maxQueuedEvents` / `maxQueuedBytes` of accepted-but-unwritten
 * events, appenders wait in FIFO order (../shared/append-queue.ts).
 *
 * Every server append carries the expected revision -- the writer's knowledge of the stream's
 * end -- never `any`. That makes each call exact: if another writer appended meanwhile the
 * server answers "wrong expected version", the writer re-reads the tail and plans again, and
 * nothing lands in an unexpected place. It also makes retries safe: events get their ids once,
 * when the append is accepted, and a call repeated after a lost connection carries the same
 * ids and expectation, which the server's idempotency check recognises instead of writing the
 * events twice. (Ids derived from stream + position + index would be stable too, but two
 * *different* appends racing for the same expected position would then share ids, and the
 * loser's call would pass as an idempotent repeat of the winner's.)
 *
 * Appends with `expectedPosition` are checked against the planned position. A mismatch is
 * only reported when the writer's knowledge of the tail was confirmed by the server *after*
 * the append was called (tickets order the two); otherwise the tail is re-read first, so an
 * appender that saw another writer's events is never refused on stale knowledge.
 *
 * KurrentDB refuses appends above its MaxAppendSize (1 MiB by default). Group commits stay
 * below it; a single append above it is written in several server appends, each with its
 * expected revision. Those are atomic one by one, not together: if the server fails between
 * them, a prefix of that append is in the stream and the append is rejected saying so.
 *
 * recordedAt is max(last recordedAt of the stream, now), fixed per server append, so it never
 * decreases along the stream, even across writers with skewed clocks.
 */

/** Bounds of the writer. */
export interface AppendWriterLimits {
  /** Most bytes (as the server counts them) per server append: the server's MaxAppendSize. */
  readonly maxAppendBytes: number;
  /** Most events per server append. */
  readonly maxAppendEvents: number;
  /** Most accepted-but-unwritten events before appenders wait. */
  readonly maxQueuedEvents: number;
  /** Most accepted-but-unwritten bytes before appenders wait. */
  readonly maxQueuedBytes: number;
}

/** Defaults: the server's default MaxAppendSize, and a few tens of MB of backlog at most. */
export const DEFAULT_APPEND_WRITER_LIMITS: AppendWriterLimits = {
  maxAppendBytes: 1024 * 1024,
  maxAppendEvents: 16_384,
  maxQueuedEvents: 262_144,
  maxQueuedBytes: 32 * 1024 * 1024,
};

/** Counters, for tests, benchmarks and diagnostics. */
export interface AppendWriterStats {
  /** appendToStream calls, retries included. */
  serverCalls: number;
  /** Server appends that succeeded. */
  serverAppends: number;
  /** Calls repeated after a transient failure. */
  retries: number;
  /** Wrong-expected-version answers (another writer, or an unknown outcome, moved the stream). */
  conflicts: number;
  /** Tail reads. */
  tailReads: number;
  /** Most appends committed by one server append. */
  peakAppendsPerServerAppend: number;
  /** Highest accepted-but-unwritten events at once. */
  peakQueuedEvents: number;
  /** Highest accepted-but-unwritten bytes at once. */
  peakQueuedBytes: number;
}

/** What the writer knows of the stream's end. */
export interface StreamTail {
  /** Position the next event gets. */
  readonly end: number;
  /** recordedAt of the last event; -Infinity for an empty stream. */
  readonly lastRecordedAt: number;
}

/** What the writer needs. */
export interface AppendWriterDeps {
  /** The client (only appendToStream is called). */
  readonly client: Pick<KurrentDbClientSurface, 'appendToStream'>;
  /** The set's stream. */
  readonly streamName: string;
  /** The server, for messages. */
  readonly target: ServerTarget;
  /** Retries of each server append. */
  readonly retry: RetryPolicy;
  /** Bounds. */
  readonly limits: AppendWriterLimits;
  /** Clock for recordedAt, ms since the epoch. */
  readonly clock: () => number;
  /** Read the stream's tail from the server (retrying as it sees fit). */
  readonly readTail: () => Promise<StreamTail>;
  /** Event id generator; random UUIDs by default. */
  readonly newId?: () => string;
}

/** Re-planning after conflicts is bounded: a stream this contended is not a shadow set log. */
const MAX_CONFLICTS_PER_BATCH = 64;

interface KnownTail extends StreamTail {
  /** Tickets up to this one were issued before the server confirmed this tail. */
  readonly confirmedTicket: number;
}

/** Group-committing writer of one stream. */
export class AppendWriter {
  /** Counters. */
  readonly stats: AppendWriterStats = {
    serverCalls: 0,
    serverAppends: 0,
    retries: 0,
    conflicts: 0,
    tailReads: 0,
    peakAppendsPerServerAppend: 0,
    peakQueuedEvents: 0,
    peakQueuedBytes: 0,
  };
  private readonly deps: AppendWriterDeps;
  private readonly newId: () => string;
  private readonly queue: AppendQueue<ServerAppend>;
  private ticket = 0;
  private tail: KnownTail | null = null;
  private flushing = false;
  private closing = false;
  private readonly idleWaiters: (() => void)[] = [];

  constructor(deps: AppendWriterDeps) {
    this.deps = deps;
    this.newId = deps.newId ?? randomUUID;
    this.queue = new AppendQueue(
      {
        maxQueuedEvents: deps.limits.maxQueuedEvents,
        maxQueuedBytes: deps.limits.maxQueuedBytes,
        maxBatchEvents: deps.limits.maxAppendEvents,
        maxBatchBytes: deps.limits.maxAppendBytes,
      },
      this.stats,
    );
  }

  /** Seed the tail (the store reads it when opening), confirmed now. */
  setTail(tail: StreamTail): void {
    this.tail = { ...tail, confirmedTicket: this.ticket };
  }

  /** Queue an append; resolves with the position of its last event once the server acknowledged it. */
  append(events: readonly ShadowEvent[], expectedPosition: number | undefined): Promise<number> {
    if (this.closing) {
      return Promise.reject(new IoError(`KurrentDB store of ${this.deps.streamName} is closed`));
    }
    let accepted: ReturnType<typeof prepareServerAppend>;
    try {
      checkExpectedPosition(expectedPosition);
      accepted = prepareServerAppend(events, this.deps.limits.maxAppendBytes, this.newId, this.ticket + 1);
    } catch (error) {
      return Promise.reject(error);
    }
    this.ticket++;
    const { prepared, bytes } = accepted;
    const appended = this.queue.append(prepared, prepared.events.length, bytes, expectedPosition);
    if (!this.flushing) {
      this.flushing = true;
      void this.flushLoop();
    }
    return appended;
  }

  /** Refuse new appends and resolve once every accepted one is settled. Idempotent. */
  async close(): Promise<void> {
    this.closing = true;
    if (this.isIdle()) return;
    await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  private isIdle(): boolean {
    return !this.flushing && this.queue.empty;
  }

  private async flushLoop(): Promise<void> {
    try {
      while (this.queue.ready) {
        const batch = this.queue.take();
        try {
          await this.commitBatch(batch);
        } catch (error) {
          for (const item of batch) rejectAppend(item, error);
        }
        this.queue.release(batch);
      }
    } finally {
      this.flushing = false;
      if (this.isIdle()) for (const resolve of this.idleWaiters.splice(0)) resolve();
    }
  }

  private async currentTail(): Promise<KnownTail> {
    if (this.tail !== null) return this.tail;
    const sentTicket = this.ticket;
    this.stats.tailReads++;
    const tail = await this.deps.readTail();
    this.tail = { ...tail, confirmedTicket: sentTicket };
    return this.tail;
  }

  /** Commit a batch: runs of appends whose expectations fit, each as one (or, if large, several) server appends. */
  private async commitBatch(batch: readonly PendingServerAppend[]): Promise<void> {
    let next = 0;
    let conflicts = 0;
    while (next < batch.length) {
      const tail = await this.currentTail();
      const head = batch[next]!;
      const refusal = expectedPositionRefusal(head.expectedPosition, tail.end);
      if (refusal !== null) {
        if (head.prepared.ticket > tail.confirmedTicket) {
          // Our knowledge predates the call: the appender may have seen a newer stream.
          this.tail = null;
          continue;
        }
        rejectAppend(head, refusal);
        next++;
        continue;
      }
      let end = next + 1;
      let cursor = tail.end + head.eventCount;
      // Extend the run while the expectations fit; bounded by the batch.
      while (end < batch.length && expectedPositionRefusal(batch[end]!.expectedPosition, cursor) === null) {
        cursor += batch[end]!.eventCount;
        end++;
      }
      if (cursor - 1 > Number.MAX_SAFE_INTEGER) {
        throw new OutOfRangeError(`appending would take ${this.deps.streamName} past position 2^53 - 1`);
      }
      const settled = await this.writeRun(batch.slice(next, end), tail);
      if (settled < end - next && ++conflicts > MAX_CONFLICTS_PER_BATCH) {
        throw new IoError(
          `${this.deps.streamName} changed under this writer ${conflicts} times in a row: another process keeps ` +
            'appending to it; a shadow set has one writer',
        );
      }
      next += settled;
    }
  }

  /**
   * Write a run of appends starting at the tail. Returns how many of them (from the front)
   * are settled; fewer than all after a conflict, when the caller plans the rest again.
   */
  private async writeRun(run: readonly PendingServerAppend[], tail: KnownTail): Promise<number> {
    const recordedAt = Math.max(tail.lastRecordedAt, this.deps.clock());
    const chunks = cutIntoChunks(run, tail.end, recordedAt, this.deps.limits);
    let settled = 0;
    for (const chunk of chunks) {
      const sentTicket = this.ticket;
      const last = chunk.first + chunk.data.length - 1;
      let result: AppendResult | undefined;
      try {
        result = await withRetry(
          () => {
            this.stats.serverCalls++;
            return this.deps.client.appendToStream(this.deps.streamName, chunk.data, {
              streamState: streamStateBefore(chunk.first),
            });
          },
          this.deps.retry,
          this.deps.target,
          `appending ${chunk.data.length} events to ${this.deps.streamName}`,
          () => this.stats.retries++,
        );
      } catch (error) {
        this.tail = null;
        if (!isWrongExpectedVersion(error)) throw this.failure(error, chunk);
      }
      // With throwOnAppendFailure=false the client reports a conflict as a result.
      if (result?.success && result.nextExpectedRevision !== BigInt(last)) {
        this.tail = null;
        throw new IoError(
          `KurrentDB acknowledged the append to ${this.deps.streamName} at revision ${result.nextExpectedRevision}, ` +
            `expected ${last}: the stream is not where this writer put it`,
        );
      }
      if (result === undefined || !result.success) {
        this.tail = null;
        this.stats.conflicts++;
        if (chunk.continues !== undefined) {
          rejectAppend(
            chunk.continues,
            this.partialWrite(chunk, 'another writer appended between its parts, so it stops there'),
          );
          return settled + 1;
        }
        return settled;
      }
      this.stats.serverAppends++;
      this.stats.peakAppendsPerServerAppend = Math.max(
        this.stats.peakAppendsPerServerAppend,
        chunk.completes.length,
      );
      this.tail = { end: last + 1, lastRecordedAt: recordedAt, confirmedTicket: sentTicket };
      for (const { append, last: lastOfAppend } of chunk.completes) {
        resolveAppend(append, lastOfAppend);
        settled++;
      }
    }
    return settled;
  }

  /** The error for an append split over several server appends whose later part failed. */
  private partialWrite(chunk: Chunk, why: string): IoError {
    const item = chunk.continues!;
    return new IoError(
      `an append of ${item.eventCount} events was larger than the server's max append size and written in ` +
        `parts; its events before position ${chunk.first} are in ${this.deps.streamName}, but ${why}`,
    );
  }

  /**
   * The error that fails the rest of a batch: the outcome of `chunk` is unknown (retries ran
   * out: withRetry's IoError) or the server refused it (a client error).
   */
  private failure(error: unknown, chunk: Chunk): unknown {
    if (chunk.continues !== undefined) {
      const partial = this.partialWrite(chunk, `the next part failed: ${describeError(error)}`);
      return new IoError(partial.message, { cause: error });
    }
    if (error instanceof IoError) {
      // The last call may have reached the server before the connection broke.
      return new IoError(
        `${error.message} Whether the append was written is unknown; the next append re-reads the stream's end.`,
        { cause: error.cause },
      );
    }
    if (error instanceof ShadowlogError) return error;
    return new IoError(
      `KurrentDB at ${this.deps.target.display} refused appending to ${this.deps.streamName}: ${describeError(error)}`,
      { cause: error },
    );
  }
}

/** True for the client's wrong-expected-version error. */
function isWrongExpectedVersion(error: unknown): boolean {
  return (
    typeof error === 'object' &&
    error !== null &&
    (error as { type?: unknown }).type === 'wrong-expected-version'
  );
}
