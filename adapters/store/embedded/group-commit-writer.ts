import type { promises as fs } from 'node:fs';
import { assert, IoError, ShadowlogError } from '../../../domain/errors.js';
import type { ShadowEvent } from '../../../domain/events.js';
import { AppendQueue } from '../shared/append-queue.js';
import { expectedPositionRefusal } from '../shared/expected-position.js';
import { type PendingAppend, rejectAppend, resolveAppend } from '../shared/pending-append.js';
import { checkExpectedPosition } from '../shared/store-arguments.js';
import { CommitWindow, type Reservation } from './commit-window.js';
import type { DurableListener } from './durable-listener.js';
import type { LogState, SegmentState } from './log-state.js';
import { type PreparedAppend, prepareAppend, SEAL_FRAME_BYTES } from './record-codec.js';
import { cutFile, rollSegment } from './segment-roll.js';
import { failStopError, HEALTHY, isRecoverable, noSpaceError, type StoreHealth } from './write-failure.js';
import type { WriterLimits, WriterStats } from './writer-stats.js';
import { emptyWriterStats } from './writer-stats.js';
import { ZeroFillAhead } from './zero-fill-ahead.js';

/**
 * The write path: group commit. Appends queue up; each batch is encoded into a buffer of its
 * own and written with one positional O_DSYNC write; appends that arrive meanwhile join the
 * next batch. A sync costs ~150 us to a few ms here, so one per event would cap the log near a
 * few thousand events/s; with 256 concurrent appenders each write covers hundreds of them.
 * Up to `maxWritesInFlight` writes run at once (the commit window, commit-window.ts; default
 * two, see store-options.ts). Writes are published -- appends resolved, listeners told --
 * strictly in file order, each only after it and every write before it returned (invariant 1
 * of docs/design.md).
 *
 * Memory is bounded: accepted, unwritten appends hold at most `maxQueuedBytes` and
 * `maxQueuedEvents`; past that, appenders wait in FIFO order (../shared/append-queue.ts). A
 * batch holds at most `maxBatchBytes` (a single larger append goes alone), no event bound.
 *
 * An append never spans segments: the writer rolls to a new segment before an append that
 * does not fit (an append larger than a segment gets a fresh segment of its own). With the
 * commit flag on each append's last record this makes appends all-or-nothing across crashes.
 *
 * Every group (one write) ends with a batch seal (batch-seal.ts) in the same O_DSYNC write,
 * naming the durable end of the segment when the write was issued: that is what lets recovery
 * tell a write lost in flight (torn) from a damaged acknowledged record (corrupt), even when a
 * later write of the window survived the crash (docs/pipelined-commits.md).
 *
 * Failures (write-failure.ts): every write in flight is waited for, none after the failed one
 * is published, and the segment is cut back to its published end. A full disk is recoverable:
 * the failed appends and all queued behind them are rejected; the next append tries again.
 * Any other I/O error stops the writer for good (fail-stop): every pending and later append
 * is rejected and the log must be reopened, which runs recovery.
 */

export { SEGMENT_APPEND_FLAGS } from './segment-roll.js';
export { emptyWriterStats, type WriterLimits, type WriterStats } from './writer-stats.js';

/** An append waiting to be written: its events checked, measured and ready to encode. */
export type PendingEmbeddedAppend = PendingAppend<PreparedAppend>;

/** Called after each durable group with its first position, its appends and their recordedAt. */
export type CommitListener = (
  firstPosition: number,
  appends: readonly PendingEmbeddedAppend[],
  recordedAt: number,
) => void;

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
  /** The active segment's zero-filled margin: appends overwrite zeros instead of extending the file. */
  private readonly zeroFill: ZeroFillAhead;
  /** Writes issued and not yet published, oldest first; at most `maxWritesInFlight`. */
  private readonly window: CommitWindow;
  /** Wakes the flush loop when it waits for a write and an append arrives. */
  private wake: (() => void) | null = null;

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
    // Batches have a byte bound only (the queue's event and byte bounds are the store's).
    this.queue = new AppendQueue({ ...limits, maxBatchEvents: Number.MAX_SAFE_INTEGER }, this.stats);
    this.window = new CommitWindow(limits.maxWritesInFlight);
    this.zeroFill = new ZeroFillAhead(limits, this.stats.zeroFill);
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
    } else if (this.window.hasRoom) {
      this.wake?.();
      this.wake = null;
    }
    return appended;
  }

  /** Resolves once every accepted append is written (or failed); new appends are refused from now on. */
  async close(): Promise<void> {
    this.closing = true;
    if (this.flushing || !this.queue.empty)
      await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
    await this.zeroFill.idle();
    // A closed log has no zero tail; best effort: zeros left after the last seal read as the end.
    if (this.failure === null) await cutFile(this.handle, this.active.bytes).catch(() => undefined);
    await this.handle.close().catch(() => undefined);
  }

  private async flushLoop(): Promise<void> {
    // Each round publishes, issues or waits for a write that returns: bounded by the appends.
    for (;;) {
      const head = this.window.head;
      if (head?.settled === true) {
        if (head.error !== undefined) await this.failWindow(head.error, []);
        else this.publishHead();
        // Let acknowledged appenders run (and append again) so they join the next batch.
        if (this.window.length === 0 && this.queue.ready)
          await new Promise((resolve) => setImmediate(resolve));
        continue;
      }
      if (this.queue.ready && this.window.hasRoom) {
        const batch = this.queue.take();
        try {
          await this.issueBatch(batch);
        } catch (error) {
          await this.failWindow(error, batch);
        }
        continue;
      }
      if (head === undefined) break;
      // Wait for the oldest write, or for an append that can be issued meanwhile.
      const arrived = new Promise<void>((resolve) => (this.wake = resolve));
      await Promise.race([head.done, arrived]);
      this.wake = null;
    }
    this.flushing = false;
    for (const resolve of this.idleWaiters.splice(0)) resolve();
  }

  private get reserved(): Reservation {
    return this.window.reservation(this.active, this.state.nextPosition, this.state.lastRecordedAt);
  }

  /**
   * A write failed (or a batch could not be issued): publish the earlier writes that returned,
   * wait for every other write in flight, publish none of them, fail their appends (`failed`).
   */
  private async failWindow(error: unknown, batch: readonly PendingEmbeddedAppend[]): Promise<void> {
    this.publishReturned();
    const groups = this.window.takeAll();
    for (const group of groups) await group.done;
    const items = [...groups.flatMap((group) => group.items), ...batch];
    this.active.index.truncate(this.active.records);
    await this.failed(error, items);
    for (const group of groups) if (group.releases !== null) this.queue.release(group.releases);
    if (!groups.some((group) => group.releases === batch)) this.queue.release(batch);
  }

  /** Publish the oldest write (it returned): resolve its appends, tell listeners. */
  private publishHead(): void {
    const group = this.window.shift();
    assert(group.settled && group.error === undefined, 'publishing a write that did not return');
    const segment = group.segment;
    assert(segment === this.active, 'a write in flight outlived its segment');
    assert(this.state.nextPosition === group.firstPosition, 'writes published out of order');
    assert(segment.bytes + group.groupBytes === group.bytesAfter, 'writes published with a gap');
    this.stats.fsyncs++;
    this.stats.bytesWritten += group.groupBytes;
    segment.records = group.recordsAfter;
    segment.bytes = group.bytesAfter;
    segment.lastSealEnd = segment.bytes;
    segment.lastSealRecords = segment.records;
    this.state.nextPosition += group.events;
    this.state.lastRecordedAt = group.recordedAt;
    this.stats.events += group.events;
    // A write went through: whatever filled the disk is gone (set before anyone is told).
    if (this.health.status === 'degraded') this.health = HEALTHY;
    this.onDurable?.({
      segmentPath: segment.path,
      endOffsetBytes: segment.bytes,
      lastPosition: this.state.nextPosition - 1,
    });
    let position = group.firstPosition;
    for (const item of group.items) {
      position += item.eventCount;
      resolveAppend(item, position - 1);
    }
    this.onCommit(group.firstPosition, group.items, group.recordedAt);
    if (group.releases !== null) this.queue.release(group.releases);
  }

  /** Publish every write in the window, oldest first (before a roll); throws a write's error. */
  private async drainWindow(): Promise<void> {
    while (this.window.length > 0) await this.publishOldest(); // Bounded by the window.
  }

  /** Publish the writes at the head that returned without error; bounded by the window. */
  private publishReturned(): void {
    while (this.window.head?.settled === true && this.window.head.error === undefined) this.publishHead();
  }

  /** Wait for the oldest write and publish it; throws its error. */
  private async publishOldest(): Promise<void> {
    const head = this.window.head!;
    await head.done;
    if (head.error !== undefined) throw head.error;
    this.publishHead();
  }

  /**
   * Appends failed. No space: reject them and everything queued behind, cut the segment back to
   * its published end, stay open (degraded). Anything else, or a failing cut: fail-stop (the
   * cut is still tried: a later write of the window may have reached the disk; if the cut
   * fails too, a reopen may keep rejected appends whose bytes did land, as with one write).
   */
  private async failed(error: unknown, batch: readonly PendingEmbeddedAppend[]): Promise<void> {
    const segmentPath = this.active.path;
    await this.zeroFill.idle();
    if (this.failure === null && isRecoverable(error)) {
      const rejection = noSpaceError(segmentPath, error);
      try {
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
    if (this.failure === null) await cutFile(this.handle, this.active.bytes).catch(() => undefined);
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

  /** Check a batch's expected positions and issue it as one group per segment it fills. */
  private async issueBatch(batch: readonly PendingEmbeddedAppend[]): Promise<void> {
    if (this.failure !== null) throw this.failure;
    // An expected position is checked against the published log, not writes that may still fail.
    if (this.window.length > 0 && batch.some((item) => item.expectedPosition !== undefined))
      await this.drainWindow();
    let next = this.reserved.position;
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
    if (accepted.length === 0) {
      this.queue.release(batch);
      return;
    }
    this.stats.peakBatchEvents = Math.max(this.stats.peakBatchEvents, next - this.reserved.position);
    const recordedAt = Math.max(this.clock(), this.reserved.recordedAt);
    // Every group ends with a seal: count it against the segment size.
    const room = this.limits.segmentBytes - SEAL_FRAME_BYTES;
    let i = 0;
    // Bounded: each round issues at least one append.
    while (i < accepted.length) {
      let reserved = this.reserved;
      if (this.rollPending || (reserved.records > 0 && reserved.bytes + accepted[i]!.bytes > room)) {
        // A roll seals the segment: every write into it is published first.
        await this.drainWindow();
        await this.roll();
        reserved = this.reserved;
      }
      let bytes = 0;
      let j = i;
      while (j < accepted.length && (j === i || reserved.bytes + bytes + accepted[j]!.bytes <= room)) {
        bytes += accepted[j]!.bytes;
        j++;
      }
      await this.issueGroup(accepted.slice(i, j), bytes, recordedAt, j === accepted.length ? batch : null);
      i = j;
    }
    this.stats.batches++;
  }

  private get active(): SegmentState {
    return this.state.segments[this.state.segments.length - 1]!;
  }

  /**
   * Start the group's write (commit-window.ts encodes it); the flush loop publishes it once it
   * and every write before it returned. Waits first while the window is full, for a
   * zero-fill extension over its range, and -- after an open, a roll or a cut, with writes in
   * flight -- for them, so that the page it starts in can be read back.
   */
  private async issueGroup(
    items: readonly PendingEmbeddedAppend[],
    bytes: number,
    recordedAt: number,
    releases: readonly PendingEmbeddedAppend[] | null,
  ): Promise<void> {
    while (!this.window.hasRoom) await this.publishOldest(); // Bounded by the window.
    this.publishReturned(); // Before any wait below: their appenders are not held.
    const segment = this.active;
    const start = this.reserved.bytes;
    // Never into a range an extension is still zeroing (its zeros would land over the batch).
    await this.zeroFill.beforeWrite(start + bytes + SEAL_FRAME_BYTES);
    if (!this.window.canStartAt(start)) await this.drainWindow();
    if (this.window.length === 0 && this.limits.maxWritesInFlight > 1) {
      await this.window.loadPage(this.handle, segment.path, start);
    }
    const reserved = this.reserved;
    assert(reserved.bytes === start, 'the reserved end moved while a group waited');
    const group = this.window.issue(this.handle, {
      segment,
      items,
      bytes,
      recordedAt,
      releases,
      start,
      firstRecord: reserved.records,
      firstPosition: reserved.position,
    });
    this.stats.peakWritesInFlight = this.window.peak;
    this.zeroFill.maybeExtend(group.bytesAfter);
  }

  /**
   * Seal the active segment, create the next one and switch to it (segment-roll.ts). Nothing in
   * memory changes until every step succeeded; a roll that failed (a full disk) is redone
   * before the next write, so the old segment never grows again once the next one may exist on
   * disk. Called with no write in flight.
   */
  private async roll(): Promise<void> {
    const old = this.active;
    this.rollPending = true;
    await this.zeroFill.idle();
    const createdAtMs = Math.max(this.clock(), this.state.lastRecordedAt);
    const { created, handle } = await rollSegment(this.state, old, this.handle, createdAtMs, this.onDurable);
    const previous = this.handle;
    this.handle = handle;
    old.sealed = true;
    this.state.segments.push(created);
    this.rollPending = false;
    this.stats.rolls++;
    this.window.forgetPage();
    this.zeroFill.reset(created.path, created.bytes);
    this.zeroFill.maybeExtend(created.bytes);
    await previous.close().catch(() => undefined);
  }
}
