import { InvalidArgumentError, OutOfRangeError } from '../../domain/errors.js';
import type { Geometry } from '../../domain/geometry.js';

/** Bytes per block of the I/O path (the volume's block size is fixed at 512). */
export const BLOCK_BYTES = 512;

/** Whole blocks in a buffer of `lengthBytes`; throws unless it is a positive multiple of a block. */
export function blocksOf(lengthBytes: number): number {
  if (lengthBytes === 0 || lengthBytes % BLOCK_BYTES !== 0) {
    throw new InvalidArgumentError(`write of ${lengthBytes} bytes: give whole 512-byte blocks`);
  }
  return lengthBytes / BLOCK_BYTES;
}

/** Throw unless `[lbn, lbn + count)` is a non-empty range inside the volume. */
export function assertBlockRange(geometry: Geometry, lbn: number, count: number): void {
  if (!Number.isSafeInteger(lbn) || !Number.isSafeInteger(count) || lbn < 0 || count <= 0) {
    throw new OutOfRangeError(`LBN range ${lbn}+${count} is invalid`);
  }
  if (lbn + count > geometry.blocks) {
    throw new OutOfRangeError(
      `LBN range ${lbn}-${lbn + count - 1} is past the end of the volume (${geometry.blocks} blocks)`,
    );
  }
}
