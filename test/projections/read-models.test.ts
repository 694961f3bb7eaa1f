import { describe, expect, it } from 'vitest';
import { memberStates } from '../../projections/member-states.js';
import { MinimergeBitmap } from '../../projections/minimerge-bitmap.js';
import { initialProjectedState, projectBatch } from '../../projections/projected-state.js';
import { summarise } from '../../projections/set-summary.js';
import { bitmapSizeBytes, percentOf, writeBitmaps } from '../../projections/write-bitmaps.js';
import { fingerprint, SetHarness } from '../support/set-harness.js';

const BLOCKS = 127 * 1000;
const SIZE = BLOCKS * 512;

describe('read models', () => {
  it('lists members with their state, and the bitmaps as SHOW DEVICE/BITMAP does', () => {
    const h = SetHarness.create(BLOCKS);
    h.run({ type: 'DismountMember', member: 'm2', policy: 'minicopy', fingerprint: fingerprint(SIZE) });
    h.run({ type: 'DismountMember', member: 'm3', policy: 'minicopy', fingerprint: fingerprint(SIZE) });
    h.run({ type: 'WriteBlocks', kind: 'write', lbn: 0, count: 127 * 5 });
    h.run({ type: 'RequestMount', member: 'm3', policy: 'minicopy', fingerprint: fingerprint(SIZE) });
    h.run({ type: 'StartCopy', member: 'm3' });
    h.run({ type: 'ProgressCopy', member: 'm3', chunksDone: 2, nextChunk: 2, bytesCopied: 2 });
    expect(memberStates(h.state)).toEqual([
      {
        id: 'm1',
        path: '/dev/m1.img',
        state: 'valid',
        sincePosition: 0,
        leftWith: null,
        error: null,
        copyPercent: null,
      },
      {
        id: 'm2',
        path: '/dev/m2.img',
        state: 'dismounted',
        sincePosition: 1,
        leftWith: 'minicopy',
        error: null,
        copyPercent: null,
      },
      {
        id: 'm3',
        path: '/dev/m3.img',
        state: 'copying',
        sincePosition: 5,
        leftWith: 'minicopy',
        error: null,
        copyPercent: 40,
      },
    ]);
    const views = writeBitmaps(h.state).map(({ bitmap, ...rest }) => rest);
    expect(views).toEqual([
      {
        member: 'm2',
        type: 'minicopy',
        sincePosition: 1,
        sinceTime: h.log[1]!.recordedAt,
        sizeBytes: 128,
        chunksMarked: 5,
        chunks: 1000,
        percent: 0.5,
        active: true,
      },
      {
        member: 'm3',
        type: 'minicopy',
        sincePosition: 2,
        sinceTime: h.log[2]!.recordedAt,
        sizeBytes: 128,
        chunksMarked: 5,
        chunks: 1000,
        percent: 0.5,
        active: false,
      },
    ]);
    expect(percentOf(1, 0)).toBe(0);
    expect(bitmapSizeBytes(33)).toBe(8);
  });

  it('minimerge bitmap marks only writes from its position on', () => {
    const h = SetHarness.create(BLOCKS);
    h.run({ type: 'WriteBlocks', kind: 'write', lbn: 0, count: 1 });
    h.run({ type: 'SyncMembers', position: 1 });
    h.run({ type: 'WriteBlocks', kind: 'zeroes', lbn: 127 * 7, count: 200 });
    const mm = new MinimergeBitmap(h.state.geometry!, 2);
    for (const r of h.log) mm.apply(r);
    expect([...mm.chunks.runs()]).toEqual([{ first: 7, count: 2 }]);
    expect(mm.writes).toBe(1);
  });
});

describe('set summary (the show document)', () => {
  it('lists geometry, members, minicopy and minimerge bitmaps, merge and sync', () => {
    const h = SetHarness.create(BLOCKS);
    h.run({ type: 'WriteBlocks', kind: 'write', lbn: 0, count: 1 });
    h.run({ type: 'SyncMembers', position: 1 });
    h.run({ type: 'DismountMember', member: 'm2', policy: 'minicopy', fingerprint: fingerprint(SIZE) });
    h.run({ type: 'WriteBlocks', kind: 'write', lbn: 127 * 3, count: 1 });
    h.run({ type: 'StartMerge', chunks: 1 });
    const state = projectBatch(initialProjectedState(), h.log);
    const mm = new MinimergeBitmap(h.state.geometry!, 3);
    for (const r of h.log) mm.apply(r);
    const summary = summarise(state, mm, h.log[3]!.recordedAt);
    expect(summary).toMatchObject({
      set: 'DSA1',
      position: 5,
      time: new Date(h.log[5]!.recordedAt).toISOString(),
      blockSize: 512,
      blocks: BLOCKS,
      chunkBlocks: 127,
      merge: { source: 'm1', chunks: 1, sincePosition: 5 },
      syncedPosition: 1,
    });
    expect(summary.members.map((m) => [m.id, m.state])).toEqual([
      ['m1', 'valid'],
      ['m2', 'dismounted'],
      ['m3', 'valid'],
    ]);
    expect(summary.bitmaps).toEqual([
      {
        member: 'm2',
        type: 'minicopy',
        sincePosition: 3,
        sinceTime: new Date(h.log[3]!.recordedAt).toISOString(),
        sizeBytes: 128,
        chunksMarked: 1,
        percent: 0.1,
        active: true,
      },
      {
        member: '*',
        type: 'minimerge',
        sincePosition: 2,
        sinceTime: new Date(h.log[3]!.recordedAt).toISOString(),
        sizeBytes: 128,
        chunksMarked: 1,
        percent: 0.1,
        active: true,
      },
    ]);
    expect(summarise(initialProjectedState())).toMatchObject({
      set: '',
      position: -1,
      time: null,
      blocks: 0,
      members: [],
      bitmaps: [],
    });
  });
});
