/**
 * The writer's backlog: accepted appends waiting for a server append, bounded in events and
 * bytes. Past the bounds an append is not refused but parked, in FIFO order behind the
 * others, and admitted as batches are written: appenders feel backpressure as latency, and
 * call order is kept. An empty backlog admits anything, so an append larger than the bounds
 * still goes through (alone).
 *
 * Batches are taken from the front while they fit one server append. Items are removed by
 * advancing an index, not `Array.shift` (which copies): with a quarter of a million single-event
 * appends queued, shifting would turn every batch into a copy of the whole backlog.
 */

/** What the backlog needs to know of an append. */
export interface QueuedItem {
  /** Events of the append. */
  readonly eventCount: number;
  /** Bytes of the append, as the server counts them. */
  readonly bytes: number;
}

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

/** High-water marks, for tests and diagnostics. */
export interface AppendQueuePeaks {
  /** Highest accepted-but-unwritten events at once. */
  peakQueuedEvents: number;
  /** Highest accepted-but-unwritten bytes at once. */
  peakQueuedBytes: number;
}

/** A FIFO of items with a bounded admitted part; see the file comment. */
export class AppendQueue<T extends QueuedItem> {
  private readonly limits: AppendQueueLimits;
  private readonly peaks: AppendQueuePeaks;
  /** Admitted items; those before `head` are taken. */
  private admitted: T[] = [];
  private head = 0;
  /** Parked items, FIFO. */
  private parked: T[] = [];
  private parkedHead = 0;
  /** Events and bytes admitted and not yet released (queued or in a batch being written). */
  private events = 0;
  private bytes = 0;

  constructor(limits: AppendQueueLimits, peaks: AppendQueuePeaks) {
    this.limits = limits;
    this.peaks = peaks;
  }

  /** Admitted items waiting for a batch. */
  get ready(): boolean {
    return this.head < this.admitted.length;
  }

  /** Nothing admitted, parked or in a batch. */
  get empty(): boolean {
    return !this.ready && this.parkedHead === this.parked.length && this.events === 0;
  }

  /** Admit `item`, or park it behind earlier parked items. */
  offer(item: T): void {
    if (this.parkedHead === this.parked.length && this.hasRoomFor(item)) this.admit(item);
    else this.parked.push(item);
  }

  /** The next batch: admitted items in order while they fit (at least one). Call only when `ready`. */
  take(): T[] {
    const { maxBatchEvents, maxBatchBytes } = this.limits;
    const batch = [this.admitted[this.head++]!];
    let events = batch[0]!.eventCount;
    let bytes = batch[0]!.bytes;
    while (this.head < this.admitted.length) {
      const next = this.admitted[this.head]!;
      if (events + next.eventCount > maxBatchEvents || bytes + next.bytes > maxBatchBytes) break;
      batch.push(next);
      this.head++;
      events += next.eventCount;
      bytes += next.bytes;
    }
    if (this.head === this.admitted.length) {
      this.admitted = [];
      this.head = 0;
    }
    return batch;
  }

  /** A batch is settled: free its room and admit parked items that now fit. */
  release(batch: readonly T[]): void {
    for (const item of batch) {
      this.events -= item.eventCount;
      this.bytes -= item.bytes;
    }
    while (this.parkedHead < this.parked.length && this.hasRoomFor(this.parked[this.parkedHead]!)) {
      this.admit(this.parked[this.parkedHead++]!);
    }
    if (this.parkedHead === this.parked.length) {
      this.parked = [];
      this.parkedHead = 0;
    }
  }

  private hasRoomFor(item: T): boolean {
    return (
      this.events === 0 ||
      (this.events + item.eventCount <= this.limits.maxQueuedEvents &&
        this.bytes + item.bytes <= this.limits.maxQueuedBytes)
    );
  }

  private admit(item: T): void {
    this.admitted.push(item);
    this.events += item.eventCount;
    this.bytes += item.bytes;
    this.peaks.peakQueuedEvents = Math.max(this.peaks.peakQueuedEvents, this.events);
    this.peaks.peakQueuedBytes = Math.max(this.peaks.peakQueuedBytes, this.bytes);
  }
}
