import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { makeGeometry } from '../../../domain/geometry.js';
import type { BlockDevice } from '../../../domain/ports/block-device.js';
import { UnitCopier } from '../../../processes/copy/unit-copier.js';
import type { WrittenChunks } from '../../../projections/written-chunks.js';
import { writtenChunksOf } from '../../support/written-chunks-of.js';

const CHUNK_BLOCKS = 4;
const CHUNK_BYTES = CHUNK_BLOCKS * 512;

/** A device over bytes that counts its calls; `punches` false: no zeroRange (a block device). */
function countingDevice(bytes: Uint8Array, punches: boolean) {
  const calls = { reads: 0, writes: 0, zeroRanges: 0, inFlight: 0, maxInFlight: 0 };
  const track = async (kind: 'reads' | 'writes' | 'zeroRanges', f: () => void) => {
    calls[kind]++;
    calls.inFlight++;
    calls.maxInFlight = Math.max(calls.maxInFlight, calls.inFlight);
    await new Promise((r) => setImmediate(r));
    f();
    calls.inFlight--;
  };
  const device: BlockDevice = {
    name: 'mem',
    size: () => bytes.length,
    read: (b, at) => track('reads', () => b.set(bytes.subarray(at, at + b.length))),
    write: (b, at) => track('writes', () => bytes.set(b, at)),
    flush: async () => undefined,
    close: async () => undefined,
    ...(punches
      ? { zeroRange: (at: number, n: number) => track('zeroRanges', () => bytes.fill(0, at, at + n)) }
      : {}),
  };
  return { device, calls };
}

function writtenOf(chunks: number, bits: readonly boolean[]): WrittenChunks {
  return writtenChunksOf(chunks, bits, CHUNK_BLOCKS, chunks * CHUNK_BLOCKS - 1);
}

/** Runs of equal values in `bits`. */
function runsOf(bits: readonly boolean[], value: boolean): number {
  let runs = 0;
  for (let i = 0; i < bits.length; i++) if (bits[i] === value && (i === 0 || bits[i - 1] !== value)) runs++;
  return runs;
}

/** Counting devices over `source` and `target` and a UnitCopier from one to the other. */
function copierBetween(g: ReturnType<typeof makeGeometry>, source: Uint8Array, target: Uint8Array) {
  const src = countingDevice(source, true);
  const dst = countingDevice(target, true);
  const reads = { readValid: (v: Uint8Array, at: number) => src.device.read(v, at) };
  return { src, dst, copier: new UnitCopier({ geometry: g, reads } as never, dst.device, 'm1') };
}

describe('UnitCopier: one unit of a copy under its range lock', () => {
  it('leaves the target equal to the source where chunks may hold data and zero elsewhere, for any bitmap and buffer', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.boolean(), { minLength: 1, maxLength: 24 }),
        fc.integer({ min: 1, max: 8 }),
        fc.boolean(),
        fc.integer({ min: 1, max: 255 }),
        async (bits, bufferChunks, punches, seed) => {
          const chunks = bits.length;
          const g = makeGeometry(chunks * CHUNK_BLOCKS - 1, CHUNK_BLOCKS);
          const source = new Uint8Array(g.blocks * 512).map((_, i) => (i * 31 + seed) & 0xff);
          const target = new Uint8Array(g.blocks * 512).fill(0x77);
          const src = countingDevice(source, true);
          const dst = countingDevice(target, punches);
          const reads = { readValid: (v: Uint8Array, at: number) => src.device.read(v, at) };
          const copier = new UnitCopier({ geometry: g, reads } as never, dst.device, 'm1');
          const buffer = new Uint8Array(bufferChunks * CHUNK_BYTES);
          await copier.copy([{ first: 0, count: chunks }], buffer, writtenOf(chunks, bits));
          for (let c = 0; c < chunks; c++) {
            const at = c * CHUNK_BYTES;
            const end = Math.min(at + CHUNK_BYTES, target.length);
            const want = bits[c] ? source.subarray(at, end) : new Uint8Array(end - at);
            expect(Buffer.from(target.subarray(at, end)).equals(Buffer.from(want))).toBe(true);
          }
        },
      ),
      { numRuns: 150 },
    );
  }, 60_000);

  it('coalesces adjacent data chunks into one read and one write, and issues the pieces together', async () => {
    // Chunks 0-2 and 5 and 9-10 may hold data: three runs, two gaps between them and one after.
    const bits = [true, true, true, false, false, true, false, false, false, true, true, false];
    const chunks = bits.length;
    const g = makeGeometry(chunks * CHUNK_BLOCKS, CHUNK_BLOCKS);
    const source = new Uint8Array(g.blocks * 512).fill(0xaa);
    const target = new Uint8Array(g.blocks * 512).fill(0x55);
    const { src, dst, copier } = copierBetween(g, source, target);
    await copier.copy(
      [{ first: 0, count: chunks }],
      new Uint8Array(chunks * CHUNK_BYTES),
      writtenOf(chunks, bits),
    );
    expect(src.calls.reads).toBe(runsOf(bits, true));
    expect(dst.calls.writes).toBe(runsOf(bits, true));
    expect(dst.calls.zeroRanges).toBe(runsOf(bits, false));
    // The three data reads were in flight together, not one after another.
    expect(src.calls.maxInFlight).toBe(3);
    expect(dst.calls.maxInFlight).toBe(3);
  });

  it('splits data larger than its buffer into buffer-sized groups, one group in flight at a time', async () => {
    const bits = new Array<boolean>(10).fill(true);
    const g = makeGeometry(10 * CHUNK_BLOCKS, CHUNK_BLOCKS);
    const source = new Uint8Array(g.blocks * 512).map((_, i) => i & 0xff);
    const target = new Uint8Array(g.blocks * 512);
    const { src, copier } = copierBetween(g, source, target);
    await copier.copy([{ first: 0, count: 10 }], new Uint8Array(3 * CHUNK_BYTES), writtenOf(10, bits));
    expect(src.calls.reads).toBe(4); // 3 + 3 + 3 + 1 chunks
    expect(src.calls.maxInFlight).toBe(1);
    expect(Buffer.from(target).equals(Buffer.from(source))).toBe(true);
  });

  it('leaves the gaps alone when the target is known to read as zeroes there (it held no storage)', async () => {
    const bits = [true, false, false, true, false];
    const chunks = bits.length;
    const g = makeGeometry(chunks * CHUNK_BLOCKS, CHUNK_BLOCKS);
    const source = new Uint8Array(g.blocks * 512).fill(0xaa);
    const target = new Uint8Array(g.blocks * 512);
    const { dst, copier } = copierBetween(g, source, target);
    await copier.copy(
      [{ first: 0, count: chunks }],
      new Uint8Array(chunks * CHUNK_BYTES),
      writtenOf(chunks, bits),
      true,
    );
    expect(dst.calls.zeroRanges).toBe(0);
    expect(dst.calls.reads).toBe(0);
    expect(dst.calls.writes).toBe(runsOf(bits, true));
    for (let c = 0; c < chunks; c++) {
      const want = bits[c] ? 0xaa : 0;
      expect(target.subarray(c * CHUNK_BYTES, (c + 1) * CHUNK_BYTES).every((b) => b === want)).toBe(true);
    }
  });
});
