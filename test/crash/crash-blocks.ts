/**
 * Block contents of the crash test: every 512-byte block an application write puts down names
 * the write (u32 id) and the block (u32 LBN), and the rest derives from both, so any block read
 * back tells which write it holds (0: never written) or that it is garbage.
 */

/** Block size of the test volume (the engine's). */
export const BLOCK_BYTES = 512;

function fillBlock(out: Uint8Array, at: number, id: number, lbn: number): void {
  const view = new DataView(out.buffer, out.byteOffset + at, BLOCK_BYTES);
  view.setUint32(0, id, true);
  view.setUint32(4, lbn, true);
  for (let i = 8; i < BLOCK_BYTES; i++) out[at + i] = (id * 131 + lbn * 7 + i) & 0xff;
}

/** The data of write `id` at `lbn` over `count` blocks. */
export function writeData(id: number, lbn: number, count: number): Uint8Array {
  const out = new Uint8Array(count * BLOCK_BYTES);
  for (let b = 0; b < count; b++) fillBlock(out, b * BLOCK_BYTES, id, lbn + b);
  return out;
}

const expected = new Uint8Array(BLOCK_BYTES);

/**
 * Which write the block at `lbn` holds: its id, 0 for all zeroes (never written), or -1 when it
 * is neither (a block no write of this run put there).
 */
export function blockWriteId(block: Uint8Array, lbn: number): number {
  const view = new DataView(block.buffer, block.byteOffset, BLOCK_BYTES);
  const id = view.getUint32(0, true);
  if (id === 0) return block.every((b) => b === 0) ? 0 : -1;
  fillBlock(expected, 0, id, lbn);
  return Buffer.compare(block, expected) === 0 ? id : -1;
}
