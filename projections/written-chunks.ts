import { originDoubt } from '../domain/copy-sparse.js';
import type { RecordedEvent } from '../domain/events.js';
import { WRITE_KIND_WRITTEN, type WriteRun } from '../domain/write-run.js';

/**
 * The chunks that may hold data other than zeroes: a bitmap folded from the write events since
 * the set was created. A write sets every chunk it touches; a trim or write-zeroes clears the
 * chunks it covers whole (they read as zeroes on every member afterwards). A clear bit is only
 * a promise when the set began all zeroes, so `vouches` is false unless the origin is `fresh`
 * (every member a new sparse image); with `assume-clean`, `copied` or no origin (a log written
 * before origins) callers must treat every chunk as written. Used by full copies to skip what was
 * never written (processes/copy/copy-pass.ts) and by NBD `base:allocation`.
 */
export interface WrittenChunks {
  /** True when a clear bit means "reads as zeroes" (the set's origin is `fresh`). */
  vouches: boolean;
  /** Why the bitmap cannot vouch, for CopyStarted's reason; null when it vouches. */
  reason: string | null;
  /** Blocks per chunk. */
  chunkBlocks: number;
  /** Volume size in blocks. */
  blocks: number;
  /** Number of chunks in the volume. */
  chunks: number;
  /** One bit per chunk, set = may hold data. */
  words: Uint32Array;
}

/** Before ShadowSetCreated: no geometry, vouches for nothing. */
export function initialWrittenChunks(): WrittenChunks {
  return {
    vouches: false,
    reason: 'the set is not created yet',
    chunkBlocks: 1,
    blocks: 0,
    chunks: 0,
    words: new Uint32Array(0),
  };
}

/** Fold one event (in place). Only ShadowSetCreated and the three write events matter. */
export function evolveWrittenChunks(state: WrittenChunks, recorded: RecordedEvent): void {
  const event = recorded.event;
  switch (event.type) {
    case 'ShadowSetCreated': {
      state.chunkBlocks = event.chunkBlocks;
      state.blocks = event.blocks;
      state.chunks = Math.ceil(event.blocks / event.chunkBlocks);
      state.words = new Uint32Array(Math.ceil(state.chunks / 32));
      state.reason = originDoubt(event.origin);
      state.vouches = state.reason === null;
      return;
    }
    case 'BlocksWritten':
      applyWrite(state, true, event.lbn, event.count);
      return;
    case 'BlocksTrimmed':
    case 'ZeroesWritten':
      applyWrite(state, false, event.lbn, event.count);
      return;
    default:
      return;
  }
}

/**
 * Fold a run of writes (replay's fast path, domain/write-run.ts): the same as each write folded
 * alone (test/projections/projected-replay.test.ts). A data write inside one word of the bitmap
 * -- nearly every write -- is one OR in the loop; the rest take {@link applyWrite}.
 */
export function evolveWrittenChunksRun(state: WrittenChunks, run: WriteRun): void {
  const { kinds, lbns, counts } = run;
  const words = state.words;
  const chunkBlocks = state.chunkBlocks;
  const lastChunk = state.chunks - 1;
  for (let i = 0; i < run.length; i++) {
    const lbn = lbns[i]!;
    const count = counts[i]!;
    if (kinds[i] === WRITE_KIND_WRITTEN) {
      const first = Math.floor(lbn / chunkBlocks);
      const last = Math.min(Math.floor((lbn + count - 1) / chunkBlocks), lastChunk);
      const w = first >>> 5;
      if (first <= last && w === last >>> 5) {
        const lo = first & 31;
        words[w] = words[w]! | ((0xffffffff >>> (31 - (last & 31) + lo)) << lo);
        continue;
      }
    }
    applyWrite(state, kinds[i] === WRITE_KIND_WRITTEN, lbn, count);
  }
}

/**
 * One write: data sets every chunk it touches; a trim or write-zeroes clears only the chunks it
 * covers whole (a partly zeroed chunk keeps its bit).
 */
function applyWrite(state: WrittenChunks, data: boolean, lbn: number, count: number): void {
  if (count === 0) return;
  if (data) {
    const first = Math.floor(lbn / state.chunkBlocks);
    const last = Math.floor((lbn + count - 1) / state.chunkBlocks);
    setRange(state.words, first, Math.min(last, state.chunks - 1), true);
    return;
  }
  const first = Math.ceil(lbn / state.chunkBlocks);
  const end = lbn + count;
  // The last chunk may be short (the volume need not be whole chunks): covered when end reaches it.
  const last = end >= state.blocks ? state.chunks - 1 : Math.floor(end / state.chunkBlocks) - 1;
  if (last >= first) setRange(state.words, first, Math.min(last, state.chunks - 1), false);
}

/** True when chunk `chunk` may hold data (always true when the bitmap cannot vouch). */
export function mayHoldData(state: WrittenChunks, chunk: number): boolean {
  if (!state.vouches) return true;
  return ((state.words[chunk >>> 5]! >>> (chunk & 31)) & 1) === 1;
}

/** Number of chunks that may hold data (all of them when the bitmap cannot vouch). */
export function writtenCount(state: WrittenChunks): number {
  if (!state.vouches) return state.chunks;
  let n = 0;
  for (let i = 0; i < state.words.length; i++) {
    let w = state.words[i]!;
    w -= (w >>> 1) & 0x55555555;
    w = (w & 0x33333333) + ((w >>> 2) & 0x33333333);
    n += (Math.imul((w + (w >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24) & 0xff;
  }
  return n;
}

/** A deep copy. */
export function cloneWrittenChunks(state: WrittenChunks): WrittenChunks {
  return { ...state, words: state.words.slice() };
}

/** Set or clear bits `first..last` (inclusive): whole words in a plain loop, edges masked. */
function setRange(words: Uint32Array, first: number, last: number, on: boolean): void {
  if (last < first) return;
  const fw = first >>> 5;
  const lw = last >>> 5;
  for (let w = fw; w <= lw; w++) {
    const lo = w === fw ? first & 31 : 0;
    const hi = w === lw ? last & 31 : 31;
    const mask = ((0xffffffff >>> (31 - hi + lo)) << lo) >>> 0;
    words[w] = on ? (words[w]! | mask) >>> 0 : (words[w]! & ~mask) >>> 0;
  }
}
