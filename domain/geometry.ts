import { InvalidArgumentError, OutOfRangeError } from './errors.js';

/** Bytes in one logical block. Fixed, as on OpenVMS. */
export const BLOCK_SIZE = 512;
/** Blocks covered by one bitmap bit by default (OpenVMS: one bit covers 127 blocks). */
export const DEFAULT_CHUNK_BLOCKS = 127;
/** Largest volume handled: 2^53 bytes would break number arithmetic long before; 64 TiB is plenty. */
export const MAX_VOLUME_BLOCKS = 2 ** 37;

/** The shape of a shadow set's volume. */
export interface Geometry {
  /** Bytes per block; always {@link BLOCK_SIZE}. */
  readonly blockSize: number;
  /** Volume size in blocks. */
  readonly blocks: number;
  /** Blocks per bitmap chunk. */
  readonly chunkBlocks: number;
  /** Chunks in the volume; the last one may be clipped. */
  readonly chunks: number;
}

/** A run of chunks, inclusive of `first` and `last`. */
export interface ChunkSpan {
  /** First chunk of the span. */
  readonly first: number;
  /** Last chunk of the span (inclusive). */
  readonly last: number;
}

/** Build a geometry, checking sizes. */
export function makeGeometry(blocks: number, chunkBlocks: number = DEFAULT_CHUNK_BLOCKS): Geometry {
  if (!Number.isSafeInteger(blocks) || blocks <= 0 || blocks > MAX_VOLUME_BLOCKS) {
    throw new InvalidArgumentError(
      `volume size ${blocks} blocks is invalid: give a whole number of 512-byte blocks from 1 to ${MAX_VOLUME_BLOCKS}`,
    );
  }
  if (!Number.isSafeInteger(chunkBlocks) || chunkBlocks <= 0 || chunkBlocks > 2 ** 24) {
    throw new InvalidArgumentError(
      `chunk size ${chunkBlocks} blocks is invalid: give a whole number of blocks from 1 to ${2 ** 24}`,
    );
  }
  const chunks = Math.ceil(blocks / chunkBlocks);
  // The chunk bitmap addresses chunks with 32-bit arithmetic on its hot path.
  if (chunks > 2 ** 32) {
    throw new InvalidArgumentError(
      `${blocks} blocks in chunks of ${chunkBlocks} make ${chunks} chunks, more than 2^32: use larger chunks`,
    );
  }
  return { blockSize: BLOCK_SIZE, blocks, chunkBlocks, chunks };
}

/** Throw unless `[lbn, lbn + count)` is a non-empty range inside the volume. */
export function checkRange(geometry: Geometry, lbn: number, count: number): void {
  if (!Number.isSafeInteger(lbn) || !Number.isSafeInteger(count) || lbn < 0 || count <= 0) {
    throw new OutOfRangeError(`LBN range ${lbn}+${count} is invalid: LBN must be >= 0 and count >= 1`);
  }
  if (lbn + count > geometry.blocks) {
    throw new OutOfRangeError(
      `LBN range ${lbn}-${lbn + count - 1} is past the end of the volume (${geometry.blocks} blocks)`,
    );
  }
}

/** Chunk holding `lbn`. */
export function chunkOf(geometry: Geometry, lbn: number): number {
  return Math.floor(lbn / geometry.chunkBlocks);
}

/** Chunks touched by the block range `[lbn, lbn + count)`; the range must be checked already. */
export function chunkSpan(geometry: Geometry, lbn: number, count: number): ChunkSpan {
  return {
    first: Math.floor(lbn / geometry.chunkBlocks),
    last: Math.floor((lbn + count - 1) / geometry.chunkBlocks),
  };
}

/** First LBN of `chunk`. */
export function chunkStartLbn(geometry: Geometry, chunk: number): number {
  return chunk * geometry.chunkBlocks;
}

/** Blocks in `chunk`: `chunkBlocks`, except the clipped last chunk. */
export function chunkBlockCount(geometry: Geometry, chunk: number): number {
  if (!Number.isSafeInteger(chunk) || chunk < 0 || chunk >= geometry.chunks) {
    throw new OutOfRangeError(`chunk ${chunk} is outside the volume (chunks 0-${geometry.chunks - 1})`);
  }
  return Math.min(geometry.chunkBlocks, geometry.blocks - chunk * geometry.chunkBlocks);
}

/** Blocks covered by the chunk run `[first, first + count)`, with the last chunk clipped. */
export function chunkRunBlocks(geometry: Geometry, first: number, count: number): number {
  const start = first * geometry.chunkBlocks;
  const end = Math.min(geometry.blocks, (first + count) * geometry.chunkBlocks);
  return end - start;
}

/** Volume size in bytes. */
export function volumeBytes(geometry: Geometry): number {
  return geometry.blocks * geometry.blockSize;
}
