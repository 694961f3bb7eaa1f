import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ChunkBitmap, type ChunkRun, MAX_BITMAP_CHUNKS } from '../../domain/chunk-bitmap.js';
import { InvalidArgumentError, LogCorruptError, OutOfRangeError } from '../../domain/errors.js';

/** Runs of a boolean[] model, computed independently of the implementation. */
function modelRuns(model: readonly boolean[], from = 0): ChunkRun[] {
  const runs: ChunkRun[] = [];
  let start = -1;
  for (let c = from; c <= model.length; c++) {
    const set = c < model.length && model[c] === true;
    if (set && start < 0) start = c;
    if (!set && start >= 0) {
      runs.push({ first: start, count: c - start });
      start = -1;
    }
  }
  return runs;
}

function modelNextSet(model: readonly boolean[], from: number): number {
  for (let c = from; c < model.length; c++) if (model[c]) return c;
  return -1;
}

function expectMatches(bitmap: ChunkBitmap, model: readonly boolean[]): void {
  expect(bitmap.chunks).toBe(model.length);
  expect(bitmap.count()).toBe(model.filter(Boolean).length);
  for (let c = 0; c < model.length; c++) expect(bitmap.test(c)).toBe(model[c]);
  expect([...bitmap.runs()]).toEqual(modelRuns(model));
}

/** A bitmap size plus runs inside it, biased towards word boundaries. */
const sizedRunsArb = fc.integer({ min: 1, max: 200 }).chain((chunks) =>
  fc.tuple(
    fc.constant(chunks),
    fc.array(
      fc
        .tuple(fc.integer({ min: 0, max: chunks - 1 }), fc.integer({ min: 0, max: chunks - 1 }))
        .map(([x, y]) => [Math.min(x, y), Math.max(x, y)] as const),
      { maxLength: 20 },
    ),
  ),
);

function build(chunks: number, runs: readonly (readonly [number, number])[]) {
  const bitmap = new ChunkBitmap(chunks);
  const model = new Array<boolean>(chunks).fill(false);
  for (const [first, last] of runs) {
    bitmap.set(first, last);
    for (let c = first; c <= last; c++) model[c] = true;
  }
  return { bitmap, model };
}

describe('ChunkBitmap', () => {
  it('starts clear', () => {
    const bitmap = new ChunkBitmap(100);
    expect(bitmap.chunks).toBe(100);
    expect(bitmap.count()).toBe(0);
    expect(bitmap.test(0)).toBe(false);
    expect(bitmap.test(99)).toBe(false);
    expect(bitmap.nextSet(0)).toBe(-1);
    expect([...bitmap.runs()]).toEqual([]);
  });

  it('supports an empty bitmap', () => {
    const bitmap = new ChunkBitmap(0);
    expect(bitmap.count()).toBe(0);
    expect(bitmap.nextSet(0)).toBe(-1);
    expect([...bitmap.runs()]).toEqual([]);
    expect(bitmap.serialise()).toEqual(new Uint8Array(0));
    expect(ChunkBitmap.deserialise(new Uint8Array(0), 0).equals(bitmap)).toBe(true);
    expect(() => bitmap.set(0, 0)).toThrow(OutOfRangeError);
  });

  it.each([-1, 1.5, Number.NaN, MAX_BITMAP_CHUNKS + 1])('rejects size %s', (chunks) => {
    expect(() => new ChunkBitmap(chunks)).toThrow(InvalidArgumentError);
  });

  describe('set', () => {
    it('sets one chunk, counting it once', () => {
      const bitmap = new ChunkBitmap(64);
      bitmap.set(31, 31);
      bitmap.set(31, 31);
      bitmap.set(32, 32);
      expect(bitmap.count()).toBe(2);
      expect(bitmap.test(30)).toBe(false);
      expect(bitmap.test(31)).toBe(true);
      expect(bitmap.test(32)).toBe(true);
      expect(bitmap.test(33)).toBe(false);
    });

    it('sets a run inside one word, counting only new bits', () => {
      const bitmap = new ChunkBitmap(40);
      bitmap.set(3, 5);
      bitmap.set(4, 10);
      expect(bitmap.count()).toBe(8);
      expect([...bitmap.runs()]).toEqual([{ first: 3, count: 8 }]);
      bitmap.set(4, 6);
      expect(bitmap.count()).toBe(8);
    });

    it('sets a whole word and the top bit of a word', () => {
      const bitmap = new ChunkBitmap(96);
      bitmap.set(32, 63);
      expect(bitmap.count()).toBe(32);
      bitmap.set(0, 31);
      expect(bitmap.count()).toBe(64);
      expect([...bitmap.runs()]).toEqual([{ first: 0, count: 64 }]);
    });

    it('sets a run across many words, counting overlap once', () => {
      const bitmap = new ChunkBitmap(300);
      bitmap.set(70, 70);
      bitmap.set(100, 140);
      bitmap.set(10, 250);
      expect(bitmap.count()).toBe(241);
      expect([...bitmap.runs()]).toEqual([{ first: 10, count: 241 }]);
      bitmap.set(0, 299);
      expect(bitmap.count()).toBe(300);
    });

    it.each([
      [-1, 0],
      [5, 4],
      [0, 100],
      [100, 100],
      [0.5, 1],
      [1, 1.5],
      [Number.NaN, 1],
    ])('rejects run %s-%s', (first, last) => {
      const bitmap = new ChunkBitmap(100);
      expect(() => bitmap.set(first, last)).toThrow(OutOfRangeError);
      expect(bitmap.count()).toBe(0);
    });
  });

  describe('test', () => {
    it.each([-1, 100, 1.5, Number.NaN])('rejects chunk %s', (chunk) => {
      expect(() => new ChunkBitmap(100).test(chunk)).toThrow(OutOfRangeError);
    });
  });

  it('clear resets bits and count', () => {
    const bitmap = new ChunkBitmap(100);
    bitmap.set(0, 99);
    bitmap.clear();
    expect(bitmap.count()).toBe(0);
    expect(bitmap.nextSet(0)).toBe(-1);
    expect(bitmap.equals(new ChunkBitmap(100))).toBe(true);
  });

  describe('nextSet', () => {
    it('finds set chunks across zero words', () => {
      const bitmap = new ChunkBitmap(1000);
      bitmap.set(5, 5);
      bitmap.set(900, 901);
      expect(bitmap.nextSet(0)).toBe(5);
      expect(bitmap.nextSet(5)).toBe(5);
      expect(bitmap.nextSet(6)).toBe(900);
      expect(bitmap.nextSet(901)).toBe(901);
      expect(bitmap.nextSet(902)).toBe(-1);
      expect(bitmap.nextSet(1000)).toBe(-1);
      expect(bitmap.nextSet(2 ** 40)).toBe(-1);
    });

    it('finds the top bit of a word', () => {
      const bitmap = new ChunkBitmap(64);
      bitmap.set(31, 31);
      bitmap.set(63, 63);
      expect(bitmap.nextSet(0)).toBe(31);
      expect(bitmap.nextSet(32)).toBe(63);
    });

    it.each([-1, 0.5, Number.NaN])('rejects from %s', (from) => {
      const bitmap = new ChunkBitmap(10);
      expect(() => bitmap.nextSet(from)).toThrow(OutOfRangeError);
      expect(() => [...bitmap.runs(from)]).toThrow(OutOfRangeError);
    });
  });

  describe('runs', () => {
    it('lists maximal runs across word boundaries', () => {
      const bitmap = new ChunkBitmap(100);
      bitmap.set(0, 0);
      bitmap.set(30, 33);
      bitmap.set(35, 35);
      bitmap.set(64, 99);
      expect([...bitmap.runs()]).toEqual([
        { first: 0, count: 1 },
        { first: 30, count: 4 },
        { first: 35, count: 1 },
        { first: 64, count: 36 },
      ]);
    });

    it('clips a run that straddles from', () => {
      const bitmap = new ChunkBitmap(100);
      bitmap.set(10, 50);
      bitmap.set(60, 60);
      expect([...bitmap.runs(20)]).toEqual([
        { first: 20, count: 31 },
        { first: 60, count: 1 },
      ]);
      expect([...bitmap.runs(60)]).toEqual([{ first: 60, count: 1 }]);
      expect([...bitmap.runs(61)]).toEqual([]);
      expect([...bitmap.runs(500)]).toEqual([]);
    });

    it('ends a run at the last chunk when the size is not a multiple of 32', () => {
      const bitmap = new ChunkBitmap(37);
      bitmap.set(30, 36);
      expect([...bitmap.runs()]).toEqual([{ first: 30, count: 7 }]);
      const full = new ChunkBitmap(64);
      full.set(0, 63);
      expect([...full.runs()]).toEqual([{ first: 0, count: 64 }]);
    });
  });

  describe('union', () => {
    it('merges bits and counts each once', () => {
      const a = new ChunkBitmap(100);
      const b = new ChunkBitmap(100);
      a.set(0, 40);
      b.set(30, 70);
      b.set(99, 99);
      a.union(b);
      expect(a.count()).toBe(72);
      expect([...a.runs()]).toEqual([
        { first: 0, count: 71 },
        { first: 99, count: 1 },
      ]);
      expect(b.count()).toBe(42);
    });

    it('rejects a bitmap of another size', () => {
      expect(() => new ChunkBitmap(10).union(new ChunkBitmap(11))).toThrow(InvalidArgumentError);
    });
  });

  it('equals compares size and bits', () => {
    const a = new ChunkBitmap(100);
    const b = new ChunkBitmap(100);
    expect(a.equals(b)).toBe(true);
    a.set(5, 5);
    expect(a.equals(b)).toBe(false);
    b.set(6, 6);
    expect(a.equals(b)).toBe(false);
    b.set(5, 5);
    a.set(6, 6);
    expect(a.equals(b)).toBe(true);
    expect(new ChunkBitmap(10).equals(new ChunkBitmap(11))).toBe(false);
  });

  it('clone is independent', () => {
    const a = new ChunkBitmap(100);
    a.set(10, 20);
    const copy = a.clone();
    expect(copy.equals(a)).toBe(true);
    expect(copy.count()).toBe(11);
    copy.set(50, 50);
    expect(a.test(50)).toBe(false);
    expect(a.count()).toBe(11);
  });

  describe('serialise', () => {
    it('writes little-endian words', () => {
      const bitmap = new ChunkBitmap(40);
      bitmap.set(0, 0);
      bitmap.set(9, 9);
      bitmap.set(31, 31);
      bitmap.set(39, 39);
      expect([...bitmap.serialise()]).toEqual([0x01, 0x02, 0x00, 0x80, 0x80, 0x00, 0x00, 0x00]);
    });

    it('round-trips, including from a view into a larger buffer', () => {
      const bitmap = new ChunkBitmap(70);
      bitmap.set(3, 40);
      bitmap.set(69, 69);
      const bytes = bitmap.serialise();
      expect(bytes.byteLength).toBe(12);
      const padded = new Uint8Array(20);
      padded.set(bytes, 5);
      const copy = ChunkBitmap.deserialise(padded.subarray(5, 17), 70);
      expect(copy.equals(bitmap)).toBe(true);
      expect(copy.count()).toBe(39);
    });

    it('rejects a wrong length', () => {
      expect(() => ChunkBitmap.deserialise(new Uint8Array(8), 70)).toThrow(LogCorruptError);
      expect(() => ChunkBitmap.deserialise(new Uint8Array(13), 70)).toThrow(LogCorruptError);
      expect(() => ChunkBitmap.deserialise(new Uint8Array(4), 0)).toThrow(LogCorruptError);
    });

    it('rejects bits set past the last chunk', () => {
      const bytes = new Uint8Array(12);
      bytes[8] = 0x40; // chunk 70 of a 70-chunk bitmap
      expect(() => ChunkBitmap.deserialise(bytes, 70)).toThrow(LogCorruptError);
      bytes[8] = 0x20; // chunk 69: valid
      expect(ChunkBitmap.deserialise(bytes, 70).test(69)).toBe(true);
      const top = new Uint8Array(8);
      top[7] = 0x80; // chunk 63 of a 64-chunk bitmap: no tail, valid
      expect(ChunkBitmap.deserialise(top, 64).count()).toBe(1);
    });

    it('rejects an invalid size', () => {
      expect(() => ChunkBitmap.deserialise(new Uint8Array(0), -1)).toThrow(InvalidArgumentError);
    });
  });

  describe('properties against a boolean[] model', () => {
    it('set, test, count and runs', () => {
      fc.assert(
        fc.property(sizedRunsArb, ([chunks, runs]) => {
          const { bitmap, model } = build(chunks, runs);
          expectMatches(bitmap, model);
        }),
      );
    });

    it('nextSet and runs from any start', () => {
      fc.assert(
        fc.property(sizedRunsArb, fc.nat(250), ([chunks, runs], from) => {
          const { bitmap, model } = build(chunks, runs);
          expect(bitmap.nextSet(from)).toBe(modelNextSet(model, from));
          expect([...bitmap.runs(from)]).toEqual(modelRuns(model, from));
        }),
      );
    });

    it('serialise round-trips', () => {
      fc.assert(
        fc.property(sizedRunsArb, ([chunks, runs]) => {
          const { bitmap, model } = build(chunks, runs);
          const bytes = bitmap.serialise();
          expect(bytes.byteLength).toBe(Math.ceil(chunks / 32) * 4);
          const copy = ChunkBitmap.deserialise(bytes, chunks);
          expect(copy.equals(bitmap)).toBe(true);
          expectMatches(copy, model);
        }),
      );
    });

    it('union', () => {
      const twoArb = fc.integer({ min: 1, max: 200 }).chain((chunks) => {
        const runArb = fc
          .tuple(fc.integer({ min: 0, max: chunks - 1 }), fc.integer({ min: 0, max: chunks - 1 }))
          .map(([x, y]) => [Math.min(x, y), Math.max(x, y)] as const);
        return fc.tuple(
          fc.constant(chunks),
          fc.array(runArb, { maxLength: 10 }),
          fc.array(runArb, { maxLength: 10 }),
        );
      });
      fc.assert(
        fc.property(twoArb, ([chunks, runsA, runsB]) => {
          const a = build(chunks, runsA);
          const b = build(chunks, runsB);
          a.bitmap.union(b.bitmap);
          expectMatches(
            a.bitmap,
            a.model.map((x, i) => x || b.model[i]!),
          );
          expectMatches(b.bitmap, b.model);
        }),
      );
    });

    it('equals agrees with the model and clone', () => {
      fc.assert(
        fc.property(sizedRunsArb, fc.nat(199), ([chunks, runs], extra) => {
          const { bitmap, model } = build(chunks, runs);
          const copy = bitmap.clone();
          expect(copy.equals(bitmap)).toBe(true);
          const chunk = extra % chunks;
          copy.set(chunk, chunk);
          expect(copy.equals(bitmap)).toBe(model[chunk] === true);
        }),
      );
    });
  });

  it('handles a 2 TiB volume at 127 blocks per chunk', () => {
    const chunks = Math.ceil(2 ** 32 / 127); // 2 TiB = 2^32 blocks of 512 bytes
    expect(chunks).toBeGreaterThan(33_000_000);
    const bitmap = new ChunkBitmap(chunks);
    bitmap.set(0, 0);
    bitmap.set(1_000_000, 1_999_999);
    bitmap.set(20_000_000, 20_000_000);
    bitmap.set(chunks - 10, chunks - 1);
    expect(bitmap.count()).toBe(1 + 1_000_000 + 1 + 10);
    expect([...bitmap.runs()]).toEqual([
      { first: 0, count: 1 },
      { first: 1_000_000, count: 1_000_000 },
      { first: 20_000_000, count: 1 },
      { first: chunks - 10, count: 10 },
    ]);
    expect(bitmap.nextSet(20_000_001)).toBe(chunks - 10);
    const bytes = bitmap.serialise();
    expect(bytes.byteLength).toBe(Math.ceil(chunks / 32) * 4);
    const copy = ChunkBitmap.deserialise(bytes, chunks);
    expect(copy.equals(bitmap)).toBe(true);
    expect(copy.count()).toBe(bitmap.count());
    bitmap.set(0, chunks - 1);
    expect(bitmap.count()).toBe(chunks);
    expect([...bitmap.runs()]).toEqual([{ first: 0, count: chunks }]);
    copy.union(bitmap);
    expect(copy.count()).toBe(chunks);
  });
});

describe('ChunkBitmap.setWrites', () => {
  const write = fc.record({ lbn: fc.nat({ max: 3000 }), count: fc.integer({ min: 1, max: 700 }) });
  it('sets the same chunks and count as set() of each write, in one word or across words', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 40 }),
        fc.array(write, { maxLength: 80 }),
        fc.nat(),
        fc.nat(),
        (chunkBlocks, writes, a, b) => {
          const chunks = Math.ceil(3700 / chunkBlocks);
          const plain = new ChunkBitmap(chunks);
          const fast = new ChunkBitmap(chunks);
          const lbns = Float64Array.from(writes, (w) => w.lbn);
          const counts = Float64Array.from(writes, (w) => w.count);
          const start = writes.length === 0 ? 0 : a % writes.length;
          const end = start + (writes.length === 0 ? 0 : b % (writes.length - start + 1));
          for (let i = start; i < end; i++) {
            plain.set(
              Math.floor(lbns[i]! / chunkBlocks),
              Math.floor((lbns[i]! + counts[i]! - 1) / chunkBlocks),
            );
          }
          fast.setWrites(lbns, counts, start, end, chunkBlocks);
          expect(fast.equals(plain)).toBe(true);
          expect(fast.count()).toBe(plain.count());
        },
      ),
      { numRuns: 300 },
    );
  });

  it('refuses a write past the last chunk as set() does, keeping the count of what it set', () => {
    const bitmap = new ChunkBitmap(64);
    const lbns = Float64Array.of(0, 40, 64 * 8);
    const counts = Float64Array.of(8, 300, 1);
    expect(() => bitmap.setWrites(lbns, counts, 0, 3, 8)).toThrow(OutOfRangeError);
    const model = new ChunkBitmap(64);
    model.set(0, 0);
    model.set(5, 42);
    expect(bitmap.equals(model)).toBe(true);
  });
});
