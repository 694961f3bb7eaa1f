import { InvalidArgumentError } from './errors.js';

/**
 * A run of consecutive write records (BlocksWritten, BlocksTrimmed, ZeroesWritten) as columns
 * of typed arrays, so replay decodes and folds writes in plain loops without building an
 * event object per write. Entry `i` is the write at position `firstPosition + i`; only
 * entries `0 .. length - 1` are valid. The store's replay fills one run and reuses it: a
 * visitor must not keep it past its `onWrites` call (see domain/ports/event-store.ts).
 */
export interface WriteRun {
  /** Position of entry 0. */
  firstPosition: number;
  /** Valid entries. */
  length: number;
  /** Per entry: {@link WRITE_KIND_WRITTEN}, {@link WRITE_KIND_TRIMMED} or {@link WRITE_KIND_ZEROES}. */
  readonly kinds: Uint8Array;
  /** Per entry: first block. */
  readonly lbns: Float64Array;
  /** Per entry: blocks (>= 1). */
  readonly counts: Float64Array;
  /** Per entry: recordedAt, ms since the epoch. */
  readonly recordedAts: Float64Array;
}

/** Kind of a BlocksWritten entry (the log's record kind too, record-codec.ts). */
export const WRITE_KIND_WRITTEN = 1;
/** Kind of a BlocksTrimmed entry. */
export const WRITE_KIND_TRIMMED = 2;
/** Kind of a ZeroesWritten entry. */
export const WRITE_KIND_ZEROES = 3;

/** Entries of a run by default: 8192 × 25 bytes = 200 KiB, well inside L2 on the folds. */
export const DEFAULT_WRITE_RUN_CAPACITY = 8192;

/** An empty run able to hold `capacity` entries. */
export function createWriteRun(capacity = DEFAULT_WRITE_RUN_CAPACITY): WriteRun {
  if (!(Number.isSafeInteger(capacity) && capacity >= 1 && capacity <= 1 << 20)) {
    throw new InvalidArgumentError(`write run capacity must be 1 to ${1 << 20} entries, got ${capacity}`);
  }
  return {
    firstPosition: 0,
    length: 0,
    kinds: new Uint8Array(capacity),
    lbns: new Float64Array(capacity),
    counts: new Float64Array(capacity),
    recordedAts: new Float64Array(capacity),
  };
}
