import { assert } from '../../../domain/errors.js';
import { type PendingAppend, rejectAppend } from './pending-append.js';
import { RingBuffer } from './ring-buffer.js';

/**
 * A writer's backlog: accepted appends waiting to be written, bounded in events and bytes,
 * shared by the embedded group-commit writer and the KurrentDB writer. Past the bounds an
 * append is not refused but parked, in FIFO order behind the others, and admitted as batches
 * are written: appenders feel backpressure as latency, and call order is kept. An empty
 * backlog admits anything, so an append larger than the bounds still goes through (alone).
 *
 * Events and bytes count from admission until the writer releases the batch holding them, so
 * a batch being written still takes room. Batches are taken from the front while they fit the
 * batch bounds, at least one append each. Both FIFOs are rings (ring-buffer.ts): taking a
 * batch costs its own length, never a copy of the rest of the backlog.
 */

/** Bounds of the backlog and of one batch. */
export interface AppendQueueLimits {
  /** Most accepted-but-unwritten events before appends are parked. */
  readonly maxQueuedEvents: number;
  /** Most accepted-but-unwritten bytes before appends are parked. */
  readonly maxQueuedBytes: number;
  /** Most events per batch. */
  readonly maxBatchEvents: number;
  /** Most bytes per batch. */
  readonly maxBatchBytes: number;
}

/** High-water marks, for tests and diagnostics (the writers pass their stats objects). */
export interface AppendQueuePeaks {
  /** Highest accepted-but-unwritten events at once. */
  peakQueuedEvents: number;
  /** Highest accepted-but-unwritten bytes at once. */
  peakQueuedBytes: number;
}

/** A FIFO of appends with a bounded admitted part; see the file comment. */
export class AppendQueue<P> {
  private readonly limits: AppendQueueLimits;
  private readonly peaks: AppendQueuePeaks;
  /** Admitted appends not yet taken into a batch. */
  private readonly admitted = new RingBuffer<PendingAppend<P>>();
  /** Parked appends, waiting for room. */
  private readonly parked = new RingBuffer<PendingAppend<P>>();
  /** Events and bytes admitted and not yet released (queued or in a batch being written). */
  private events = 0;
  private bytes = 0;

  constructor(limits: AppendQueueLimits, peaks: AppendQueuePeaks) {
    assert(limits.maxBatchEvents >= 1 && limits.maxBatchBytes >= 1, 'batch bounds must be positive');
    this.limits = limits;
    this.peaks = peaks;
  }

  /** Admitted appends wait for a batch. */
  get ready(): boolean {
    return this.admitted.length > 0;
  }

  /** Nothing admitted, parked or in a batch. */
  get empty(): boolean {
    return this.admitted.length === 0 && this.parked.length === 0 && this.events === 0;
  }

  /**
   * Accept an append of `prepared`: it is offered at once (admitted or parked), and the
   * promise settles when the writer resolves or rejects it.
   */
  append(
    prepared: P,
    eventCount: number,
    bytes: number,
    expectedPosition: number | undefined,
  ): Promise<number> {
    return new Promise<number>((resolve, reject) => {
      this.offer({ prepared, eventCount, bytes, expectedPosition, settled: false, resolve, reject });
    });
  }

  /** Admit `item`, or park it behind earlier parked appends. */
  offer(item: PendingAppend<P>): void {
    if (this.parked.length === 0 && this.hasRoomFor(item)) this.admit(item);
    else this.parked.push(item);
  }

  /** The next batch: admitted appends in order while they fit (at least one). Call only when `ready`. */
  take(): PendingAppend<P>[] {
    const { maxBatchEvents, maxBatchBytes } = this.limits;
    const first = this.admitted.shift();
    const batch = [first];
    let events = first.eventCount;
    let bytes = first.bytes;
    // Bounded by the admitted appends.
    while (this.admitted.length > 0) {
      const next = this.admitted.peek();
      if (events + next.eventCount > maxBatchEvents || bytes + next.bytes > maxBatchBytes) break;
      batch.push(this.admitted.shift());
      events += next.eventCount;
      bytes += next.bytes;
    }
    return batch;
  }

  /** A batch is written (or failed): free its room and admit parked appends that now fit. */
  release(batch: readonly PendingAppend<P>[]): void {
    for (const item of batch) {
      this.events -= item.eventCount;
      this.bytes -= item.bytes;
    }
    assert(this.events >= 0 && this.bytes >= 0, 'released more than was admitted');
    // Bounded by the parked appends.
    while (this.parked.length > 0 && this.hasRoomFor(this.parked.peek())) this.admit(this.parked.shift());
  }

  /**
   * Reject every append not taken yet, admitted or parked, with `error`, and forget them
   * (fail-stop writers). A batch already taken is the writer's to settle and release.
   */
  rejectWaiting(error: unknown): void {
    // Bounded by the queued appends; nothing is offered meanwhile (rejecting is synchronous).
    while (this.admitted.length > 0) {
      const item = this.admitted.shift();
      this.events -= item.eventCount;
      this.bytes -= item.bytes;
      rejectAppend(item, error);
    }
    while (this.parked.length > 0) rejectAppend(this.parked.shift(), error);
  }

  private hasRoomFor(item: PendingAppend<P>): boolean {
    return (
      this.events === 0 ||
      (this.events + item.eventCount <= this.limits.maxQueuedEvents &&
        this.bytes + item.bytes <= this.limits.maxQueuedBytes)
    );
  }

  private admit(item: PendingAppend<P>): void {
    this.admitted.push(item);
    this.events += item.eventCount;
    this.bytes += item.bytes;
    if (this.events > this.peaks.peakQueuedEvents) this.peaks.peakQueuedEvents = this.events;
    if (this.bytes > this.peaks.peakQueuedBytes) this.peaks.peakQueuedBytes = this.bytes;
  }
}
