import { promises as fs } from 'node:fs';
import { assert, IoError, WrongExpectedPositionError } from '../../../domain/errors.js';
import type { ShadowEvent } from '../../../domain/events.js';
import { checkExpectedPosition } from '../shared/store-arguments.js';
import { ioError } from './durable-file.js';
import type { LogState, SegmentState } from './log-state.js';
import { createSegmentFile, writeIndexFile } from './open-log.js';
import { encodeRecord, type PreparedAppend, prepareAppend } from './record-codec.js';

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
 * batch is written. One batch holds at most `maxBatchBytes` (a single larger append goes alone).
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

/** An append waiting to be written. */
export interface PendingAppend {
  /** Checked and measured events. */
  readonly prepared: PreparedAppend;
  /** Optimistic concurrency expectation. */
  readonly expectedPosition: number | undefined;
  /** Settles the append's promise. */
  readonly resolve: (lastPosition: number) => void;
  /** Settles the append's promise. */
  readonly reject: (error: unknown) => void;
}

/** Called after each durable group with its first position, its appends and their recordedAt. */
export type CommitListener = (
  firstPosition: number,
  appends: readonly PendingAppend[],
  recordedAt: number,
) => void;

/** Bytes of the reusable encode buffer (batches larger than this allocate once). */
const REUSED_BUFFER_BYTES = 1024 * 1024;

/** Group-committing writer of one open log. */
/**
 * Flags of the segment the writer appends to: O_DSYNC makes each write durable on return,
 * one thread-pool hop per batch instead of two (write, then fdatasync).
 */
export const SEGMENT_APPEND_FLAGS = fs.constants.O_RDWR | fs.constants.O_DSYNC;

export class GroupCommitWriter {
  /** Counters. */
  readonly stats: WriterStats = {
    fsyncs: 0,
    batches: 0,
    events: 0,
    bytesWritten: 0,
    rolls: 0,
    peakQueuedBytes: 0,
    peakQueuedEvents: 0,
    peakBatchEvents: 0,
  };
  private readonly state: LogState;
  private readonly limits: WriterLimits;
  private readonly clock: () => number;
  private readonly onCommit: CommitListener;
  private handle: fs.FileHandle;
  private readonly queue: PendingAppend[] = [];
  private readonly waiting: PendingAppend[] = [];
  /** Bytes and events accepted (queued or in flight) and not yet written. */
  private pendingBytes = 0;
  private pendingEvents = 0;
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
    return new Promise<number>((resolve, reject) => {
      const item: PendingAppend = { prepared, expectedPosition, resolve, reject };
      if (this.waiting.length === 0 && this.hasRoomFor(item)) this.enqueue(item);
      else this.waiting.push(item);
    });
  }

  /** Resolves once every accepted append is written (or failed); new appends are refused from now on. */
  async close(): Promise<void> {
    this.closing = true;
    if (this.flushing || this.queue.length > 0 || this.waiting.length > 0) {
      await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
    }
    await this.handle.close().catch(() => undefined);
  }

  private hasRoomFor(item: PendingAppend): boolean {
    // An empty pipeline always takes an append, however large: otherwise it could never go.
    if (this.pendingEvents === 0) return true;
    return (
      this.pendingBytes + item.prepared.sizeBytes <= this.limits.maxQueuedBytes &&
      this.pendingEvents + item.prepared.events.length <= this.limits.maxQueuedEvents
    );
  }

  private enqueue(item: PendingAppend): void {
    this.accept(item);
    if (!this.flushing) {
      this.flushing = true;
      setImmediate(() => void this.flushLoop());
    }
  }

  private accept(item: PendingAppend): void {
    this.queue.push(item);
    this.pendingBytes += item.prepared.sizeBytes;
    this.pendingEvents += item.prepared.events.length;
    this.stats.peakQueuedBytes = Math.max(this.stats.peakQueuedBytes, this.pendingBytes);
    this.stats.peakQueuedEvents = Math.max(this.stats.peakQueuedEvents, this.pendingEvents);
  }

  private release(item: PendingAppend): void {
    this.pendingBytes -= item.prepared.sizeBytes;
    this.pendingEvents -= item.prepared.events.length;
  }

  private admitWaiters(): void {
    let admitted = 0;
    while (admitted < this.waiting.length && this.hasRoomFor(this.waiting[admitted]!)) {
      this.accept(this.waiting[admitted]!);
      admitted++;
    }
    if (admitted > 0) this.waiting.splice(0, admitted);
  }

  private async flushLoop(): Promise<void> {
    // Runs while appends are queued; every round writes (or rejects) at least one append.
    while (this.queue.length > 0) {
      const batch = this.takeBatch();
      try {
        await this.writeBatch(batch);
      } catch (error) {
        this.fail(error, batch);
      }
      for (const item of batch) this.release(item);
      this.admitWaiters();
      // Let acknowledged appenders run (and append again) so they join the next batch.
      if (this.queue.length > 0) await new Promise<void>((resolve) => setImmediate(resolve));
    }
    this.flushing = false;
    for (const resolve of this.idleWaiters.splice(0)) resolve();
  }

  private takeBatch(): PendingAppend[] {
    let bytes = 0;
    let count = 0;
    while (count < this.queue.length) {
      const size = this.queue[count]!.prepared.sizeBytes;
      if (count > 0 && bytes + size > this.limits.maxBatchBytes) break;
      bytes += size;
      count++;
    }
    return this.queue.splice(0, count);
  }

  private fail(error: unknown, batch: readonly PendingAppend[]): void {
    const failure =
      error instanceof Error && 'code' in error && typeof (error as { code: unknown }).code === 'string'
        ? (error as Error)
        : new IoError(`event log ${this.state.dir}: ${(error as Error).message}`, { cause: error });
    this.failure ??= failure;
    // Settling twice is a no-op, so appends resolved before the failure stay resolved.
    for (const item of batch) item.reject(this.failure);
    for (const item of this.queue.splice(0)) {
      item.reject(this.failure);
      this.release(item);
    }
    for (const item of this.waiting.splice(0)) item.reject(this.failure);
  }

  private async writeBatch(batch: readonly PendingAppend[]): Promise<void> {
    if (this.failure !== null) throw this.failure;
    let next = this.state.nextPosition;
    const accepted: PendingAppend[] = [];
    for (const item of batch) {
      if (item.expectedPosition !== undefined && item.expectedPosition !== next) {
        item.reject(new WrongExpectedPositionError(item.expectedPosition, next));
        continue;
      }
      accepted.push(item);
      next += item.prepared.events.length;
    }
    if (accepted.length === 0) return;
    this.stats.peakBatchEvents = Math.max(this.stats.peakBatchEvents, next - this.state.nextPosition);
    const recordedAt = Math.max(this.clock(), this.state.lastRecordedAt);
    const { segmentBytes } = this.limits;
    let i = 0;
    // Bounded: each round writes at least one append.
    while (i < accepted.length) {
      if (this.active.records > 0 && this.active.bytes + accepted[i]!.prepared.sizeBytes > segmentBytes) {
        await this.roll();
      }
      let bytes = 0;
      let j = i;
      while (
        j < accepted.length &&
        (j === i || this.active.bytes + bytes + accepted[j]!.prepared.sizeBytes <= segmentBytes)
      ) {
        bytes += accepted[j]!.prepared.sizeBytes;
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
    items: readonly PendingAppend[],
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
      const n = item.prepared.events.length;
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
      position += item.prepared.events.length;
      item.resolve(position - 1);
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
