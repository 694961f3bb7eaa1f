import { promises as fs } from 'node:fs';
import { assert, IoError, ShadowlogError } from '../../../domain/errors.js';
import type { ShadowEvent } from '../../../domain/events.js';
import { AppendQueue } from '../shared/append-queue.js';
import { expectedPositionRefusal } from '../shared/expected-position.js';
import { type PendingAppend, rejectAppend, resolveAppend } from '../shared/pending-append.js';
import { checkExpectedPosition } from '../shared/store-arguments.js';
import { encodeSeal } from './batch-seal.js';
import { ioError } from './durable-file.js';
import type { DurableListener } from './durable-listener.js';
import { listInManifest } from './log-manifest.js';
import type { LogState, SegmentState } from './log-state.js';
import { encodeRecord, type PreparedAppend, prepareAppend, SEAL_FRAME_BYTES } from './record-codec.js';
import { createSegmentFile, writeIndexFile } from './segment-files.js';
import { SEGMENT_HEADER_BYTES } from './segment-format.js';
import { failStopError, HEALTHY, isRecoverable, noSpaceError, type StoreHealth } from './write-failure.js';
import type { WriterLimits, WriterStats } from './writer-stats.js';
import { emptyWriterStats } from './writer-stats.js';
import { ZeroFillAhead } from './zero-fill-ahead.js';

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
 * Every group (one write) ends with a batch seal (batch-seal.ts) in the same O_DSYNC write:
 * the seal is durable exactly when the group is acknowledged, which is what lets recovery tell
 * a damaged acknowledged record from a torn write (docs/log-format.md).
 *
 * Failures (write-failure.ts): a full disk is recoverable -- the failing batch and everything
 * queued behind it are rejected, the segment is cut back to its durable end, and the next
 * append tries again. Any other I/O error stops the writer for good (fail-stop): after a
 * failed write the state of the file is unknown, so every pending and later append is
 * rejected and the log must be reopened, which runs recovery.
 */

export { emptyWriterStats, type WriterLimits, type WriterStats } from './writer-stats.js';

/** An append waiting to be written: its events checked, measured and ready to encode. */
export type PendingEmbeddedAppend = PendingAppend<PreparedAppend>;

/** Called after each durable group with its first position, its appends and their recordedAt. */
export type CommitListener = (
  firstPosition: number,
  appends: readonly PendingEmbeddedAppend[],
  recordedAt: number,
) => void;

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
  /** How the writer is: ok, degraded (no space; retried) or failed (fail-stop). */
  health: StoreHealth = HEALTHY;
  private readonly state: LogState;
  private readonly limits: WriterLimits;
  private readonly clock: () => number;
  private readonly onCommit: CommitListener;
  private readonly onDurable: DurableListener | undefined;
  private handle: fs.FileHandle;
  private readonly queue: AppendQueue<PreparedAppend>;
  private flushing = false;
  private closing = false;
  private failure: Error | null = null;
  /** A roll began (the index of the active segment is written) but did not finish: finish it before writing. */
  private rollPending = false;
  private readonly idleWaiters: (() => void)[] = [];
  private encodeBuffer = Buffer.allocUnsafe(REUSED_BUFFER_BYTES);
  /** The active segment's zero-filled margin: appends overwrite zeros instead of extending the file. */
  private readonly zeroFill: ZeroFillAhead;

  constructor(
    state: LogState,
    handle: fs.FileHandle,
    limits: WriterLimits,
    clock: () => number,
    onCommit: CommitListener,
    onDurable?: DurableListener,
  ) {
    assert(state.segments.length > 0, 'writer needs an active segment');
    this.state = state;
    this.handle = handle;
    this.limits = limits;
    this.clock = clock;
    this.onCommit = onCommit;
    this.onDurable = onDurable;
    this.queue = new AppendQueue(
      {
        maxQueuedEvents: limits.maxQueuedEvents,
        maxQueuedBytes: limits.maxQueuedBytes,
        maxBatchEvents: Number.MAX_SAFE_INTEGER,
        maxBatchBytes: limits.maxBatchBytes,
      },
      this.stats,
    );
    this.zeroFill = new ZeroFillAhead(limits.zeroAheadBytes, limits.segmentBytes);
    this.zeroFill.reset(this.active.path, this.active.bytes);
    this.zeroFill.maybeExtend(this.active.bytes);
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
    await this.zeroFill.idle();
    // A closed log has no zero tail (copies and `log check` see only data); best effort: a
    // tail left by a failure here is zeros after the last seal, which readers take as the end.
    if (this.failure === null) await cutFile(this.handle, this.active.bytes).catch(() => undefined);
    await this.handle.close().catch(() => undefined);
  }

  private async flushLoop(): Promise<void> {
    // Runs while appends are queued; every round writes (or rejects) at least one append.
    while (this.queue.ready) {
      const batch = this.queue.take();
      try {
        await this.writeBatch(batch);
      } catch (error) {
        await this.failed(error, batch);
      }
      this.queue.release(batch);
      // Let acknowledged appenders run (and append again) so they join the next batch.
      if (this.queue.ready) await new Promise<void>((resolve) => setImmediate(resolve));
    }
    this.flushing = false;
    for (const resolve of this.idleWaiters.splice(0)) resolve();
  }

  /**
   * A batch failed. No space: reject it and everything queued behind it, cut the segment back
   * to its durable end, stay open (degraded). Anything else, or a failing cut: fail-stop.
   */
  private async failed(error: unknown, batch: readonly PendingEmbeddedAppend[]): Promise<void> {
    const segmentPath = this.active.path;
    if (this.failure === null && isRecoverable(error)) {
      const rejection = noSpaceError(segmentPath, error);
      try {
        await this.zeroFill.idle();
        await cutFile(this.handle, this.active.bytes);
        this.zeroFill.cutTo(this.active.bytes);
      } catch (cutError) {
        this.failStop(failStopError(segmentPath, cutError), batch);
        return;
      }
      const sinceMs = this.health.status === 'degraded' ? this.health.sinceMs : Date.now();
      this.health = { status: 'degraded', reason: rejection.message, sinceMs };
      // Settling twice is a no-op, so appends resolved before the failure stay resolved.
      for (const item of batch) rejectAppend(item, rejection);
      this.queue.rejectWaiting(rejection);
      return;
    }
    // A typed error of shadowlog's own (an invariant) stays itself; an I/O error says to restart.
    const own = error instanceof ShadowlogError && !(error instanceof IoError);
    this.failStop(this.failure ?? (own ? error : failStopError(segmentPath, error)), batch);
  }

  private failStop(failure: Error, batch: readonly PendingEmbeddedAppend[]): void {
    this.failure ??= failure;
    this.health = { status: 'failed', reason: this.failure.message };
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
    // Every group ends with a seal: count it against the segment size.
    const room = this.limits.segmentBytes - SEAL_FRAME_BYTES;
    let i = 0;
    // Bounded: each round writes at least one append.
    while (i < accepted.length) {
      const full = this.active.records > 0 && this.active.bytes + accepted[i]!.bytes > room;
      if (this.rollPending || full) await this.roll();
      let bytes = 0;
      let j = i;
      while (j < accepted.length && (j === i || this.active.bytes + bytes + accepted[j]!.bytes <= room)) {
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

  /** Encode the records and their seal, write them with one O_DSYNC write, then publish them. */
  private async writeGroup(
    items: readonly PendingEmbeddedAppend[],
    bytes: number,
    recordedAt: number,
  ): Promise<void> {
    const segment = this.active;
    const total = bytes + SEAL_FRAME_BYTES;
    if (this.encodeBuffer.length < total) {
      if (total <= REUSED_BUFFER_BYTES * 4) this.encodeBuffer = Buffer.allocUnsafe(total);
    }
    const buf = this.encodeBuffer.length >= total ? this.encodeBuffer : Buffer.allocUnsafe(total);
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
    const first = this.state.nextPosition;
    const events = recordIndex - segment.records;
    encodeSeal(buf, off, first, events, bytes, recordedAt);
    // Never into a range an extension is still zeroing (its zeros would land over the batch).
    await this.zeroFill.beforeWrite(segment.bytes + total);
    try {
      let done = 0;
      // Short writes are legal; bounded because each round writes at least one byte or throws.
      while (done < total) {
        const { bytesWritten } = await this.handle.write(buf, done, total - done, segment.bytes + done);
        if (bytesWritten <= 0) throw new Error('write made no progress');
        done += bytesWritten;
      }
      // The segment is open with O_DSYNC: each write returns once its data (and the file size)
      // is durable, so no separate fdatasync round trip through the thread pool is needed.
    } catch (error) {
      throw ioError('append to', segment.path, error);
    }
    this.stats.fsyncs++;
    this.stats.bytesWritten += total;
    // Durable: publish.
    segment.records = recordIndex;
    segment.bytes += total;
    segment.lastSealEnd = segment.bytes;
    segment.lastSealRecords = recordIndex;
    this.state.nextPosition += events;
    this.state.lastRecordedAt = recordedAt;
    this.stats.events += events;
    this.zeroFill.maybeExtend(segment.bytes);
    // A write went through: whatever filled the disk is gone (set before anyone is told).
    if (this.health.status === 'degraded') this.health = HEALTHY;
    if (this.onDurable !== undefined) {
      this.onDurable({
        segmentPath: segment.path,
        endOffsetBytes: segment.bytes,
        lastPosition: this.state.nextPosition - 1,
      });
    }
    let position = first;
    for (const item of items) {
      position += item.eventCount;
      resolveAppend(item, position - 1);
    }
    this.onCommit(first, items, recordedAt);
  }

  /**
   * Seal the active segment (index file first), create the next one, list it in the manifest,
   * and switch to it. Nothing in memory changes until every step succeeded; a roll that failed
   * (a full disk) is redone before the next write, so the old segment never grows again once
   * the next one may exist on disk.
   */
  private async roll(): Promise<void> {
    const old = this.active;
    this.rollPending = true;
    // Only the last segment may have a zero tail: cut it off durably before the index (which
    // names the size) is written.
    await this.zeroFill.idle();
    await cutFile(this.handle, old.bytes).catch((error: unknown) => {
      throw ioError('cut the zero tail of', old.path, error);
    });
    // The index is written before the next segment exists: a reader that sees segment N+1
    // can rely on segment N being complete and indexed.
    await writeIndexFile(this.state.dir, old, false);
    const created = await createSegmentFile(
      this.state.dir,
      this.state.streamId,
      this.state.nextPosition,
      Math.max(this.clock(), this.state.lastRecordedAt),
    );
    const lastPosition = this.state.nextPosition - 1;
    this.onDurable?.({ segmentPath: created.path, endOffsetBytes: SEGMENT_HEADER_BYTES, lastPosition });
    // Listed only once durable: a crash before this leaves one segment past the manifest,
    // which the next open accepts because it starts where the last listed one ends.
    await listInManifest(this.state, this.onDurable, created.firstPosition);
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
    this.rollPending = false;
    this.stats.rolls++;
    this.zeroFill.reset(created.path, created.bytes);
    this.zeroFill.maybeExtend(created.bytes);
    await previous.close().catch(() => undefined);
  }
}

/** Truncate the file to `bytes` (its data end) and make the size durable. */
async function cutFile(handle: fs.FileHandle, bytes: number): Promise<void> {
  await handle.truncate(bytes);
  await handle.datasync();
}
