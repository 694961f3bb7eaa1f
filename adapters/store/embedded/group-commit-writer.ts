import { promises as fs } from 'node:fs';
import { assert, IoError } from '../../../domain/errors.js';
import type { ShadowEvent } from '../../../domain/events.js';
import { AppendQueue } from '../shared/append-queue.js';
import { expectedPositionRefusal } from '../shared/expected-position.js';
import { type PendingAppend, rejectAppend, resolveAppend } from '../shared/pending-append.js';
import { checkExpectedPosition } from '../shared/store-arguments.js';
import { ioError } from './durable-file.js';
import type { LogState, SegmentState } from './log-state.js';
import { encodeRecord, type PreparedAppend, prepareAppend } from './record-codec.js';
import { createSegmentFile, writeIndexFile } from './segment-files.js';

/**
 * The write path: group commit. Appends queue up; one batch at a time is encoded into one
 * buffer, written with one positional write and made durable with one fdatasync; appends that
 * arrive while a batch is in flight join the next one. An append's promise resolves only
 * after the fdatasync covering its records returned. fdatasync costs ~150 us here, so one
 * sync per event would cap the log near 6,500 events/s; with 256 concurrent appenders each
 * sync covers ~256 of them.
 *
 * Memory is bounded: appends accepted but not yet written may hold at most `maxQueuedBytes`
 * and `maxQueuedEvents`; past that, appenders wait (FIFO, so call order is kept) until a
 * batch is written (the shared append queue, ../shared/append-queue.ts). One batch holds at
 * most `maxBatchBytes` (a single larger append goes alone); it has no event bound.
 *
 * An append never spans segments: the writer rolls to a new segment before an append that
 * does not fit (an append larger than a segment gets a fresh segment of its own). With the
 * commit flag on each append's last record this makes appends all-or-nothing across crashes.
 *
 * On an I/O error the writer stops for good (fail-stop): after a failed fdatasync the state
 * of the file is unknown, so every pending and later append is rejected with the error and
 * the log must be reopened, which runs recovery.
 */

/** Size limits of the writer. */
export interface WriterLimits {
  /** Roll to a new segment once the next append would pass this size. */
  readonly segmentBytes: number;
  /** Most bytes encoded into one batch. */
  readonly maxBatchBytes: number;
  /** Most bytes of accepted-but-unwritten appends before appenders wait. */
  readonly maxQueuedBytes: number;
  /** Most events of accepted-but-unwritten appends before appenders wait. */
  readonly maxQueuedEvents: number;
  /** Largest single append, encoded. */
  readonly maxAppendBytes: number;
}

/** Counters of the writer, for benchmarks and diagnostics. */
export interface WriterStats {
  /** fdatasync calls made. */
  fsyncs: number;
  /** Batches written. */
  batches: number;
  /** Events made durable. */
  events: number;
  /** Record bytes written. */
  bytesWritten: number;
  /** Segments created after the first. */
  rolls: number;
  /** Highest bytes ever accepted-but-unwritten at once (shows the queue bound holding). */
  peakQueuedBytes: number;
  /** Highest events ever accepted-but-unwritten at once. */
  peakQueuedEvents: number;
  /** Most events in one batch. */
  peakBatchEvents: number;
}

/** An append waiting to be written: its events checked, measured and ready to encode. */
export type PendingEmbeddedAppend = PendingAppend<PreparedAppend>;

/** Called after each durable group with its first position, its appends and their recordedAt. */
export type CommitListener = (
  firstPosition: number,
  appends: readonly PendingEmbeddedAppend[],
  recordedAt: number,
) => void;

/** Counters of a writer that has written nothing (and of a read-only store, which has no writer). */
export function emptyWriterStats(): WriterStats {
  return {
    fsyncs: 0,
    batches: 0,
    events: 0,
    bytesWritten: 0,
    rolls: 0,
    peakQueuedBytes: 0,
    peakQueuedEvents: 0,
    peakBatchEvents: 0,
  };
}

/** Bytes of the reusable encode buffer (batches larger than this allocate once). */
const REUSED_BUFFER_BYTES = 1024 * 1024;

/**
 * Flags of the segment the writer appends to: O_DSYNC makes each write durable on return,
 * one thread-pool hop per batch instead of two (write, then fdatasync).
 */
export const SEGMENT_APPEND_FLAGS = fs.constants.O_RDWR | fs.constants.O_DSYNC;

/** Group-committing writer of one open log. */
export class GroupCommitWriter {
  /** Counters. */
  readonly stats: WriterStats = emptyWriterStats();
  private readonly state: LogState;
  private readonly limits: WriterLimits;
  private readonly clock: () => number;
  private readonly onCommit: CommitListener;
  private handle: fs.FileHandle;
  private readonly queue: AppendQueue<PreparedAppend>;
  private flushing = false;
  private closing = false;
  private failure: Error | null = null;
  private readonly idleWaiters: (() => void)[] = [];
  private encodeBuffer = Buffer.allocUnsafe(REUSED_BUFFER_BYTES);

  constructor(
    state: LogState,
    handle: fs.FileHandle,
    limits: WriterLimits,
    clock: () => number,
    onCommit: CommitListener,
  ) {
    assert(state.segments.length > 0, 'writer needs an active segment');
    this.state = state;
    this.handle = handle;
    this.limits = limits;
    this.clock = clock;
    this.onCommit = onCommit;
    this.queue = new AppendQueue(
      {
        maxQueuedEvents: limits.maxQueuedEvents,
        maxQueuedBytes: limits.maxQueuedBytes,
        maxBatchEvents: Number.MAX_SAFE_INTEGER,
        maxBatchBytes: limits.maxBatchBytes,
      },
      this.stats,
    );
  }

  /** Queue an append; resolves with its last position once durable. */
  append(events: readonly ShadowEvent[], expectedPosition: number | undefined): Promise<number> {
    if (this.failure !== null) return Promise.reject(this.failure);
    if (this.closing) return Promise.reject(new IoError(`event log ${this.state.dir} is closed`));
    let prepared: PreparedAppend;
    try {
      checkExpectedPosition(expectedPosition);
      prepared = prepareAppend(events, this.limits.maxAppendBytes);
    } catch (error) {
      return Promise.reject(error);
    }
    const appended = this.queue.append(
      prepared,
      prepared.events.length,
      prepared.sizeBytes,
      expectedPosition,
    );
    if (!this.flushing) {
      this.flushing = true;
      setImmediate(() => void this.flushLoop());
    }
    return appended;
  }

  /** Resolves once every accepted append is written (or failed); new appends are refused from now on. */
  async close(): Promise<void> {
    this.closing = true;
    if (this.flushing || !this.queue.empty) {
      await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
    }
    await this.handle.close().catch(() => undefined);
  }

  private async flushLoop(): Promise<void> {
    // Runs while appends are queued; every round writes (or rejects) at least one append.
    while (this.queue.ready) {
      const batch = this.queue.take();
      try {
        await this.writeBatch(batch);
      } catch (error) {
        this.fail(error, batch);
      }
      this.queue.release(batch);
      // Let acknowledged appenders run (and append again) so they join the next batch.
      if (this.queue.ready) await new Promise<void>((resolve) => setImmediate(resolve));
    }
    this.flushing = false;
    for (const resolve of this.idleWaiters.splice(0)) resolve();
  }

  private fail(error: unknown, batch: readonly PendingEmbeddedAppend[]): void {
    const failure =
      error instanceof Error && 'code' in error && typeof (error as { code: unknown }).code === 'string'
        ? (error as Error)
        : new IoError(`event log ${this.state.dir}: ${(error as Error).message}`, { cause: error });
    this.failure ??= failure;
    // Settling twice is a no-op, so appends resolved before the failure stay resolved.
    for (const item of batch) rejectAppend(item, this.failure);
    this.queue.rejectWaiting(this.failure);
  }

  private async writeBatch(batch: readonly PendingEmbeddedAppend[]): Promise<void> {
    if (this.failure !== null) throw this.failure;
    let next = this.state.nextPosition;
    const accepted: PendingEmbeddedAppend[] = [];
    for (const item of batch) {
      const refusal = expectedPositionRefusal(item.expectedPosition, next);
      if (refusal !== null) {
        rejectAppend(item, refusal);
        continue;
      }
      accepted.push(item);
      next += item.eventCount;
    }
    if (accepted.length === 0) return;
    this.stats.peakBatchEvents = Math.max(this.stats.peakBatchEvents, next - this.state.nextPosition);
    const recordedAt = Math.max(this.clock(), this.state.lastRecordedAt);
    const { segmentBytes } = this.limits;
    let i = 0;
    // Bounded: each round writes at least one append.
    while (i < accepted.length) {
      if (this.active.records > 0 && this.active.bytes + accepted[i]!.bytes > segmentBytes) {
        await this.roll();
      }
      let bytes = 0;
      let j = i;
      while (
        j < accepted.length &&
        (j === i || this.active.bytes + bytes + accepted[j]!.bytes <= segmentBytes)
      ) {
        bytes += accepted[j]!.bytes;
        j++;
      }
      await this.writeGroup(accepted.slice(i, j), bytes, recordedAt);
      i = j;
    }
    this.stats.batches++;
  }

  private get active(): SegmentState {
    return this.state.segments[this.state.segments.length - 1]!;
  }

  /** Encode, write and fdatasync appends that all go to the active segment, then publish them. */
  private async writeGroup(
    items: readonly PendingEmbeddedAppend[],
    bytes: number,
    recordedAt: number,
  ): Promise<void> {
    const segment = this.active;
    if (this.encodeBuffer.length < bytes) {
      if (bytes <= REUSED_BUFFER_BYTES * 4) this.encodeBuffer = Buffer.allocUnsafe(bytes);
    }
    const buf = this.encodeBuffer.length >= bytes ? this.encodeBuffer : Buffer.allocUnsafe(bytes);
    let off = 0;
    let recordIndex = segment.records;
    for (const item of items) {
      const n = item.eventCount;
      for (let k = 0; k < n; k++) {
        segment.index.note(recordIndex, segment.bytes + off);
        off = encodeRecord(buf, off, item.prepared, k, recordedAt, k === n - 1);
        recordIndex++;
      }
    }
    assert(off === bytes, `encoded ${off} bytes, expected ${bytes}`);
    try {
      let done = 0;
      // Short writes are legal; bounded because each round writes at least one byte or throws.
      while (done < bytes) {
        const { bytesWritten } = await this.handle.write(buf, done, bytes - done, segment.bytes + done);
        if (bytesWritten <= 0) throw new Error('write made no progress');
        done += bytesWritten;
      }
      // The segment is open with O_DSYNC: each write returns once its data (and the file size)
      // is durable, so no separate fdatasync round trip through the thread pool is needed.
    } catch (error) {
      throw ioError('append to', segment.path, error);
    }
    this.stats.fsyncs++;
    this.stats.bytesWritten += bytes;
    // Durable: publish.
    const first = this.state.nextPosition;
    const events = recordIndex - segment.records;
    segment.records = recordIndex;
    segment.bytes += bytes;
    this.state.nextPosition += events;
    this.state.lastRecordedAt = recordedAt;
    this.stats.events += events;
    let position = first;
    for (const item of items) {
      position += item.eventCount;
      resolveAppend(item, position - 1);
    }
    this.onCommit(first, items, recordedAt);
  }

  /** Seal the active segment (index file first) and start the next one. */
  private async roll(): Promise<void> {
    const old = this.active;
    // The index is written before the next segment exists: a reader that sees segment N+1
    // can rely on segment N being complete and indexed.
    await writeIndexFile(this.state.dir, old, false);
    const created = await createSegmentFile(
      this.state.dir,
      this.state.streamId,
      this.state.nextPosition,
      Math.max(this.clock(), this.state.lastRecordedAt),
    );
    let handle: fs.FileHandle;
    try {
      handle = await fs.open(created.path, SEGMENT_APPEND_FLAGS);
    } catch (error) {
      throw ioError('open segment', created.path, error);
    }
    const previous = this.handle;
    this.handle = handle;
    old.sealed = true;
    this.state.segments.push(created);
    this.stats.rolls++;
    await previous.close().catch(() => undefined);
  }
}
