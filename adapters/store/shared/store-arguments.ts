import { InvalidArgumentError } from '../../../domain/errors.js';

/**
 * Argument checks shared by every EventStore implementation, so that all of them reject the
 * same inputs with the same messages (the contract suite checks it).
 */

/** Default events per read batch. */
export const DEFAULT_READ_BATCH = 4096;
/** Largest read batch a caller may ask for: bounds the memory one batch holds. */
export const MAX_READ_BATCH = 1 << 20;

function isPosition(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

/** A checked read range, `to` clamped to the end, and the batch size. */
export interface ReadRange {
  /** First position. */
  readonly from: number;
  /** End (exclusive), at most the stream's end. */
  readonly to: number;
  /** Events per batch. */
  readonly batchSize: number;
}

/**
 * Check `read(from, to, { batchSize })` against a stream whose next position is `end`.
 * Throws InvalidArgumentError for a negative or fractional position, `from > to`, or a batch
 * size outside 1..MAX_READ_BATCH. A range past the end is fine: it yields nothing.
 */
export function checkReadRange(
  from: number,
  to: number | undefined,
  batchSize: number | undefined,
  end: number,
): ReadRange {
  if (!isPosition(from))
    throw new InvalidArgumentError(`read: from must be a non-negative integer, got ${from}`);
  if (to !== undefined && !isPosition(to)) {
    throw new InvalidArgumentError(`read: to must be a non-negative integer, got ${to}`);
  }
  if (to !== undefined && from > to)
    throw new InvalidArgumentError(`read: from (${from}) is after to (${to})`);
  const size = batchSize ?? DEFAULT_READ_BATCH;
  if (!(Number.isSafeInteger(size) && size >= 1 && size <= MAX_READ_BATCH)) {
    throw new InvalidArgumentError(
      `read: batchSize must be an integer from 1 to ${MAX_READ_BATCH}, got ${batchSize}`,
    );
  }
  const clampedTo = Math.min(to ?? end, end);
  return { from, to: Math.max(from, clampedTo), batchSize: size };
}

/** Check a subscription's start position. */
export function checkSubscribeFrom(from: number): void {
  if (!isPosition(from))
    throw new InvalidArgumentError(`subscribe: from must be a non-negative integer, got ${from}`);
}

/** Check an append's expected position, when given. */
export function checkExpectedPosition(expected: number | undefined): void {
  if (expected !== undefined && !isPosition(expected)) {
    throw new InvalidArgumentError(
      `append: expectedPosition must be a non-negative integer, got ${expected}`,
    );
  }
}
