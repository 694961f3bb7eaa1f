import { LogCorruptError } from '../../../domain/errors.js';
import type { SparseIndex } from './segment-index.js';

/**
 * The in-memory picture of an open log, shared by the writer (which extends it after each
 * durable batch) and readers (which only look at what it says is committed). Everything here
 * describes durable data: `records` and `bytes` grow only after the fdatasync that made them
 * durable.
 */

/** One segment file. */
export interface SegmentState {
  /** Position of its first record. */
  readonly firstPosition: number;
  /** File name inside the log directory. */
  readonly name: string;
  /** Full path. */
  readonly path: string;
  /** CRC of its header (ties the `.idx` file to it). */
  readonly headerCrc: number;
  /** Committed records. */
  records: number;
  /** Committed size in bytes (header included): the offset after its last committed record. */
  bytes: number;
  /** Sparse index of its records. */
  readonly index: SparseIndex;
  /** True once a later segment exists: it never changes again. */
  sealed: boolean;
  /** Format version of the segment: 2 (batches end with seals) or 1 (legacy). */
  readonly formatVersion: number;
  /**
   * Offset after its last batch seal (formats 2, 3; `bytes` for format 1): a follower rescans
   * from here, so a batch it first saw unsealed is checked against its seal.
   */
  lastSealEnd: number;
  /** Records up to `lastSealEnd`. */
  lastSealRecords: number;
}

/** An open log. */
export interface LogState {
  /** Log directory. */
  readonly dir: string;
  /** Stream id from the segment headers ('' for a read-only view of a log not created yet). */
  streamId: string;
  /** Segments in position order; never empty for a writable log. */
  readonly segments: SegmentState[];
  /** Position the next appended event gets (the committed end). */
  nextPosition: number;
  /** recordedAt of the last committed event (or a lower bound); recordedAt never decreases. */
  lastRecordedAt: number;
}

/** LogCorruptError naming a segment and a byte offset: the one format every corruption message uses. */
export function corruptAt(
  segment: { readonly path: string },
  offset: number,
  problem: string,
): LogCorruptError {
  return new LogCorruptError(
    `event log corrupt: segment ${segment.path} at byte offset ${offset}: ${problem}`,
  );
}

/** Index in `segments` of the segment holding `position` (binary search); -1 when before the first. */
export function segmentIndexOf(segments: readonly SegmentState[], position: number): number {
  let lo = 0;
  let hi = segments.length - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    if (segments[mid]!.firstPosition <= position) {
      found = mid;
      lo = mid + 1;
    } else {
      hi = mid - 1;
    }
  }
  return found;
}
