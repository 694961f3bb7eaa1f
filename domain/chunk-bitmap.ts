import { assert, InvalidArgumentError, LogCorruptError, OutOfRangeError } from './errors.js';

/** A run of consecutive set chunks. */
export interface ChunkRun {
  /** First chunk of the run. */
  readonly first: number;
  /** Number of chunks in the run; always >= 1. */
  readonly count: number;
}

/**
 * Most chunks a bitmap holds. Chunk numbers go through 32-bit operators (`>>> 5`, `& 31`) on
 * the hot path, which is only correct below 2^32; that is 512 MiB of bitmap, far past any
 * volume the geometry allows with a sensible chunk size.
 */
export const MAX_BITMAP_CHUNKS = 2 ** 32;

const ALL_ONES = 0xffffffff;

/** Set bits in a 32-bit word (SWAR popcount: a handful of operations, no loop). */
function popcount(word: number): number {
  word -= (word >>> 1) & 0x55555555;
  word = (word & 0x33333333) + ((word >>> 2) & 0x33333333);
  return (Math.imul((word + (word >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24) & 0xff;
}

/** Index of the lowest set bit of a non-zero word. */
function lowestBit(word: number): number {
  return 31 - Math.clz32(word & -word);
}

/** Word with bits `from..31` set (from in 0..31). */
function maskFrom(from: number): number {
  return (ALL_ONES << from) >>> 0;
}

/** Word with bits `0..to` set (to in 0..31). */
function maskTo(to: number): number {
  return ALL_ONES >>> (31 - to);
}

/**
 * The write bitmap of a dismounted member: one bit per chunk, set when the set writes any
 * block of that chunk while the member is away (invariant 2: it never under-reports).
 *
 * Bits live in a `Uint32Array` (bit `c & 31` of word `c >>> 5`), so a 2 TiB volume at 127
 * blocks per chunk (~34M chunks) takes ~4 MiB and whole words can be skipped or filled at
 * once. The population count is kept incrementally so `count()` — asked on every copy
 * decision and every `show` — is O(1). Bits past `chunks` in the last word are always zero;
 * `nextSet`, `runs`, `equals` and `serialise` rely on it.
 */
export class ChunkBitmap {
  /** Chunks covered by the bitmap: valid chunk numbers are `0 .. chunks - 1`. */
  readonly chunks: number;
  /** The bits, little-endian within each word. */
  private readonly words: Uint32Array;
  /** Number of set bits, maintained by every mutation. */
  private population = 0;

  /** A bitmap of `chunks` chunks, all clear. */
  constructor(chunks: number) {
    if (!Number.isSafeInteger(chunks) || chunks < 0 || chunks > MAX_BITMAP_CHUNKS) {
      throw new InvalidArgumentError(
        `bitmap size ${chunks} chunks is invalid: give a whole number from 0 to ${MAX_BITMAP_CHUNKS}`,
      );
    }
    this.chunks = chunks;
    this.words = new Uint32Array(Math.ceil(chunks / 32));
  }

  /**
   * Set chunks `first..last` inclusive. This runs for every application write while a member
   * is away, so a single chunk and a run inside one word take a short path.
   */
  set(first: number, last: number): void {
    if (
      !Number.isInteger(first) ||
      !Number.isInteger(last) ||
      first < 0 ||
      first > last ||
      last >= this.chunks
    ) {
      throw new OutOfRangeError(
        `chunk run ${first}-${last} is invalid: need 0 <= first <= last < ${this.chunks}`,
      );
    }
    const words = this.words;
    const firstWord = first >>> 5;
    const lastWord = last >>> 5;
    if (first === last) {
      const bit = 1 << (first & 31);
      const old = words[firstWord]!;
      if ((old & bit) === 0) {
        words[firstWord] = old | bit;
        this.population++;
      }
      return;
    }
    if (firstWord === lastWord) {
      this.orWord(firstWord, maskFrom(first & 31) & maskTo(last & 31));
      return;
    }
    this.orWord(firstWord, maskFrom(first & 31));
    for (let w = firstWord + 1; w < lastWord; w++) {
      const old = words[w]!;
      if (old !== ALL_ONES) {
        this.population += 32 - popcount(old);
        words[w] = ALL_ONES;
      }
    }
    this.orWord(lastWord, maskTo(last & 31));
  }

  /**
   * Set the chunks of writes `start .. end - 1` of a write run's columns (domain/write-run.ts):
   * for each, chunks `floor(lbn / chunkBlocks) .. floor((lbn + count - 1) / chunkBlocks)`, the
   * same as {@link set} of each. Replay's fold (domain/write-fold.ts) runs this once per run,
   * so a write inside one word -- nearly all of them -- is one OR in the loop, no call.
   */
  setWrites(lbns: Float64Array, counts: Float64Array, start: number, end: number, chunkBlocks: number): void {
    const words = this.words;
    const chunks = this.chunks;
    let population = this.population;
    for (let i = start; i < end; i++) {
      const lbn = lbns[i]!;
      const first = Math.floor(lbn / chunkBlocks);
      const last = Math.floor((lbn + counts[i]! - 1) / chunkBlocks);
      const w = first >>> 5;
      if (first >= 0 && first <= last && last < chunks && w === last >>> 5) {
        const old = words[w]!;
        const added = maskFrom(first & 31) & maskTo(last & 31) & ~old;
        if (added !== 0) {
          words[w] = old | added;
          population += popcount(added);
        }
        continue;
      }
      // Spans words, or out of range: set() fills or throws (before changing anything), with
      // the count in step.
      this.population = population;
      this.set(first, last);
      population = this.population;
    }
    this.population = population;
  }

  /** Whether `chunk` is set. */
  test(chunk: number): boolean {
    if (!Number.isInteger(chunk) || chunk < 0 || chunk >= this.chunks) {
      throw new OutOfRangeError(`chunk ${chunk} is outside the bitmap (chunks 0-${this.chunks - 1})`);
    }
    return ((this.words[chunk >>> 5]! >>> (chunk & 31)) & 1) === 1;
  }

  /** Number of set chunks, in O(1). */
  count(): number {
    return this.population;
  }

  /** Clear every chunk (a completed copy consumes the bitmap). */
  clear(): void {
    this.words.fill(0);
    this.population = 0;
  }

  /** First set chunk at or after `from`, or -1 when there is none; `from` may be >= `chunks`. */
  nextSet(from: number): number {
    this.checkFrom(from);
    if (from >= this.chunks) return -1;
    const words = this.words;
    let w = from >>> 5;
    let word = words[w]! & maskFrom(from & 31);
    // Zero words are the common case in a sparse bitmap: one compare each.
    while (word === 0) {
      if (++w >= words.length) return -1;
      word = words[w]!;
    }
    return w * 32 + lowestBit(word);
  }

  /**
   * Maximal runs of set chunks, ascending, beginning at or after `from`; a run that straddles
   * `from` is reported from `from`. The iterator reads the live bitmap, so do not mutate the
   * bitmap while iterating.
   */
  *runs(from = 0): IterableIterator<ChunkRun> {
    let first = this.nextSet(from);
    while (first !== -1) {
      const end = this.nextClear(first);
      yield { first, count: end - first };
      if (end >= this.chunks) return;
      first = this.nextSet(end);
    }
  }

  /** Set every chunk set in `other` (same size required), as when two bitmaps merge. */
  union(other: ChunkBitmap): void {
    if (other.chunks !== this.chunks) {
      throw new InvalidArgumentError(
        `cannot merge a bitmap of ${other.chunks} chunks into one of ${this.chunks} chunks`,
      );
    }
    const words = this.words;
    const theirs = other.words;
    for (let w = 0; w < words.length; w++) {
      const bits = theirs[w]!;
      if (bits !== 0) this.orWord(w, bits);
    }
  }

  /** Whether both bitmaps have the same size and the same chunks set. */
  equals(other: ChunkBitmap): boolean {
    if (other.chunks !== this.chunks || other.population !== this.population) return false;
    const words = this.words;
    const theirs = other.words;
    for (let w = 0; w < words.length; w++) {
      if (words[w] !== theirs[w]) return false;
    }
    return true;
  }

  /** An independent copy. */
  clone(): ChunkBitmap {
    const copy = new ChunkBitmap(this.chunks);
    copy.words.set(this.words);
    copy.population = this.population;
    return copy;
  }

  /**
   * The bits as bytes for snapshots: little-endian 32-bit words, exactly `ceil(chunks / 32) * 4`
   * bytes, whatever the host's byte order, so snapshots move between machines.
   */
  serialise(): Uint8Array {
    const bytes = new Uint8Array(this.words.length * 4);
    const view = new DataView(bytes.buffer);
    const words = this.words;
    for (let w = 0; w < words.length; w++) {
      const word = words[w]!;
      if (word !== 0) view.setUint32(w * 4, word, true);
    }
    return bytes;
  }

  /**
   * Read a bitmap written by {@link ChunkBitmap.serialise}. The bytes come from disk, so the
   * length and the unused tail bits are checked rather than trusted, and the population count
   * is recomputed rather than stored.
   */
  static deserialise(bytes: Uint8Array, chunks: number): ChunkBitmap {
    const bitmap = new ChunkBitmap(chunks);
    const words = bitmap.words;
    if (bytes.byteLength !== words.length * 4) {
      throw new LogCorruptError(
        `bitmap of ${chunks} chunks must be ${words.length * 4} bytes but is ${bytes.byteLength}`,
      );
    }
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    let population = 0;
    for (let w = 0; w < words.length; w++) {
      const word = view.getUint32(w * 4, true);
      if (word !== 0) {
        words[w] = word;
        population += popcount(word);
      }
    }
    const tailBits = chunks & 31;
    if (tailBits !== 0 && (words[words.length - 1]! & maskFrom(tailBits)) !== 0) {
      throw new LogCorruptError(`bitmap of ${chunks} chunks has bits set past its last chunk`);
    }
    bitmap.population = population;
    return bitmap;
  }

  /** OR `bits` into word `w`, counting only the bits that were clear. */
  private orWord(w: number, bits: number): void {
    const old = this.words[w]!;
    const added = bits & ~old;
    if (added !== 0) {
      this.words[w] = old | bits;
      this.population += popcount(added);
    }
  }

  /** First clear chunk at or after `from` (a set chunk), or `chunks` when the rest are set. */
  private nextClear(from: number): number {
    const words = this.words;
    let w = from >>> 5;
    let word = ~words[w]! & maskFrom(from & 31);
    while (word === 0) {
      if (++w >= words.length) return this.chunks;
      word = ~words[w]!;
    }
    const clear = w * 32 + lowestBit(word);
    // Bits past `chunks` are always zero, so a run reaching the last chunk stops exactly at
    // `chunks`; anything further means the tail invariant broke.
    assert(clear <= this.chunks, `bitmap has bits set past chunk ${this.chunks - 1}`);
    return clear;
  }

  /** Throw unless `from` is a whole, non-negative chunk number (it may be past the end). */
  private checkFrom(from: number): void {
    if (!Number.isInteger(from) || from < 0) {
      throw new OutOfRangeError(`chunk ${from} is invalid: need a whole number >= 0`);
    }
  }
}
