import type { WrittenChunks } from '../../projections/written-chunks.js';

/**
 * A written-chunks projection of `chunks` chunks that vouches for exactly the chunks marked in
 * `bits` (chunk i may hold data when `bits[i]`), for `blocks` blocks in chunks of `chunkBlocks`.
 */
export function writtenChunksOf(
  chunks: number,
  bits: readonly boolean[],
  chunkBlocks: number,
  blocks: number,
): WrittenChunks {
  const words = new Uint32Array(Math.ceil(chunks / 32));
  bits.forEach((b, i) => {
    if (b) words[i >>> 5]! |= 1 << (i & 31);
  });
  return { vouches: true, reason: null, chunkBlocks, blocks, chunks, words };
}
