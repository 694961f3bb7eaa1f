import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { RecordedEvent, SetOrigin, ShadowEvent } from '../../domain/events.js';
import { initialProjectedState, projectBatch } from '../../projections/projected-state.js';
import { decodeProjectedState, encodeProjectedState } from '../../projections/state-snapshot.js';
import {
  evolveWrittenChunks,
  evolveWrittenChunksRun,
  initialWrittenChunks,
  mayHoldData,
  writtenCount,
} from '../../projections/written-chunks.js';
import { visitAsRuns } from '../support/write-runs.js';

const BLOCKS = 1000; // not a whole number of chunks: the last chunk is short
const CHUNK_BLOCKS = 16;
const CHUNKS = Math.ceil(BLOCKS / CHUNK_BLOCKS);

function created(origin: SetOrigin | undefined): ShadowEvent {
  return {
    type: 'ShadowSetCreated',
    v: 1,
    setId: 'DSA1',
    blockSize: 512,
    blocks: BLOCKS,
    chunkBlocks: CHUNK_BLOCKS,
    members: [
      { id: 'm1', path: '/a' },
      { id: 'm2', path: '/b' },
    ],
    ...(origin ? { origin } : {}),
  } as ShadowEvent;
}

function recorded(events: ShadowEvent[]): RecordedEvent[] {
  return events.map((event, position) => ({ position, recordedAt: 1_000 + position, event }));
}

const FRESH: SetOrigin = { kind: 'fresh', created: ['m1', 'm2'], copied: [] };

const mutation = fc
  .record({
    type: fc.constantFrom('BlocksWritten', 'BlocksTrimmed', 'ZeroesWritten'),
    lbn: fc.integer({ min: 0, max: BLOCKS - 1 }),
    count: fc.integer({ min: 1, max: 200 }),
  })
  .map((m) => ({ ...m, v: 1, count: Math.min(m.count, BLOCKS - m.lbn) }) as ShadowEvent);

describe('written-chunks projection', () => {
  it('a chunk it calls never written reads as zeroes, for random write/trim/zero histories', () => {
    fc.assert(
      fc.property(fc.array(mutation, { maxLength: 60 }), (history) => {
        // Model: per block, nonzero after a write, zero after a trim or write-zeroes.
        const nonzero = new Uint8Array(BLOCKS);
        for (const e of history) {
          if (e.type === 'BlocksWritten' || e.type === 'BlocksTrimmed' || e.type === 'ZeroesWritten')
            nonzero.fill(e.type === 'BlocksWritten' ? 1 : 0, e.lbn, e.lbn + e.count);
        }
        const state = projectBatch(initialProjectedState(), recorded([created(FRESH), ...history]));
        const written = state.written!;
        expect(written.vouches).toBe(true);
        for (let c = 0; c < CHUNKS; c++) {
          const any = nonzero.subarray(c * CHUNK_BLOCKS, (c + 1) * CHUNK_BLOCKS).some((b) => b === 1);
          // Sound: data is never called a hole. Exact on whole-chunk terms: a clear chunk is all zero.
          if (any) expect(mayHoldData(written, c)).toBe(true);
        }
        // The snapshot carries it unchanged.
        const back = decodeProjectedState(encodeProjectedState(state)).written!;
        expect(Array.from(back.words)).toEqual(Array.from(written.words));
        expect(back.vouches).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('clears chunks a trim covers whole, including the short last chunk, and keeps partly trimmed ones', () => {
    const events = recorded([
      created(FRESH),
      { type: 'BlocksWritten', v: 1, lbn: 0, count: BLOCKS } as ShadowEvent,
      { type: 'BlocksTrimmed', v: 1, lbn: 8, count: 40 } as ShadowEvent, // chunk 1 and 2 whole
      { type: 'ZeroesWritten', v: 1, lbn: 992, count: 8 } as ShadowEvent, // the short last chunk
    ]);
    const written = projectBatch(initialProjectedState(), events).written!;
    expect(mayHoldData(written, 0)).toBe(true);
    expect(mayHoldData(written, 1)).toBe(false);
    expect(mayHoldData(written, 2)).toBe(false);
    expect(mayHoldData(written, 3)).toBe(true);
    expect(mayHoldData(written, CHUNKS - 1)).toBe(false);
    expect(writtenCount(written)).toBe(CHUNKS - 3);
  });

  it.each([
    [{ kind: 'assume-clean', created: [], copied: [] } as SetOrigin, /--assume-clean/],
    [{ kind: 'copied', created: [], copied: ['m2'] } as SetOrigin, /members that held data/],
    [undefined, /before set origins were recorded/],
  ])('cannot vouch for origin %j and says why', (origin, reason) => {
    const written = projectBatch(initialProjectedState(), recorded([created(origin)])).written!;
    expect(written.vouches).toBe(false);
    expect(written.reason).toMatch(reason);
    expect(mayHoldData(written, 5)).toBe(true);
    expect(writtenCount(written)).toBe(CHUNKS);
  });
});

describe('written-chunks run fold', () => {
  it('folds a run exactly like each write alone, for writes inside a word and across words', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(1, 3, 16, 127),
        fc.array(
          fc.record({
            type: fc.constantFrom('BlocksWritten', 'BlocksTrimmed', 'ZeroesWritten'),
            lbn: fc.nat({ max: BLOCKS + 50 }),
            count: fc.integer({ min: 1, max: 900 }),
          }),
          { maxLength: 60 },
        ),
        fc.integer({ min: 1, max: 9 }),
        (chunkBlocks, writes, capacity) => {
          const create = { ...created(FRESH), chunkBlocks } as ShadowEvent;
          const log = recorded([create, ...writes.map((w) => ({ ...w, v: 1 }) as ShadowEvent)]);
          const plain = initialWrittenChunks();
          for (const r of log) evolveWrittenChunks(plain, r);
          const fast = initialWrittenChunks();
          visitAsRuns(log, capacity, {
            onWrites: (run) => evolveWrittenChunksRun(fast, run),
            onEvent: (r) => evolveWrittenChunks(fast, r),
          });
          expect(Array.from(fast.words)).toEqual(Array.from(plain.words));
        },
      ),
      { numRuns: 300 },
    );
  });
});
