/** The group-commit writer's bounds and counters (group-commit-writer.ts). */

import { emptyZeroFillStats, type ZeroFillStats } from './zero-fill-ahead.js';

/** Size limits of the writer: the store's resolved limits (store-options.ts). */
export type { StoreLimits as WriterLimits } from './store-options.js';

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
  /** Most group writes in flight at once (the commit window's high-water mark). */
  peakWritesInFlight: number;
  /** The active segment's zero-fill-ahead: extensions done and failed, appends that waited, low-space skips. */
  readonly zeroFill: ZeroFillStats;
}

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
    peakWritesInFlight: 0,
    zeroFill: emptyZeroFillStats(),
  };
}
