import { describe, expect, it } from 'vitest';
import {
  CommandRejectedError,
  InvalidArgumentError,
  InvariantViolationError,
  NotFoundError,
  OutOfRangeError,
} from '../../domain/errors.js';
import { decide, resolveMember } from '../../domain/shadow-set-decider.js';
import { cloneState, evolve, initialState } from '../../domain/shadow-set-state.js';
import { fingerprint, SetHarness } from '../support/set-harness.js';

/** Full-copy reasons end with this in logs without an origin (domain/copy-sparse.ts). */
const NO_ORIGIN =
  '; every chunk copied: the log was written before set origins were recorded, so it cannot tell which chunks were never written';

const BLOCKS = 127 * 100;
const SIZE = BLOCKS * 512;

describe('decider: create', () => {
  it('creates a set with members m1.. in order', () => {
    const h = SetHarness.create(BLOCKS, 3);
    expect(h.log[0]!.event).toMatchObject({
      type: 'ShadowSetCreated',
      setId: 'DSA1',
      blocks: BLOCKS,
      chunkBlocks: 127,
    });
    expect(h.state.members.map((m) => [m.id, m.status])).toEqual([
      ['m1', 'valid'],
      ['m2', 'valid'],
      ['m3', 'valid'],
    ]);
    expect(h.state.geometry?.chunks).toBe(100);
  });

  it('refuses wrong member counts, sizes, duplicate paths, bad names and a second create', () => {
    const base = {
      type: 'CreateSet' as const,
      setId: 'S',
      blocks: 100,
      memberPaths: ['/a', '/b'],
      memberSizesBytes: [51200, 51200],
    };
    const s = initialState();
    expect(() => decide({ ...base, memberPaths: ['/a'], memberSizesBytes: [51200] }, s)).toThrow(
      /2 to 6 members; 1 given/,
    );
    const seven = Array.from({ length: 7 }, (_, i) => `/m${i}`);
    expect(() =>
      decide({ ...base, memberPaths: seven, memberSizesBytes: seven.map(() => 51200) }, s),
    ).toThrow(InvalidArgumentError);
    expect(() => decide({ ...base, memberSizesBytes: [51200, 4096] }, s)).toThrow(
      /member \/b is 4096 bytes but the set is 51200/,
    );
    expect(() => decide({ ...base, memberPaths: ['/a', '/a'] }, s)).toThrow(/twice/);
    expect(() => decide({ ...base, setId: 'bad name' }, s)).toThrow(/set name/);
    expect(() => decide({ ...base, memberSizesBytes: [51200] }, s)).toThrow(/size must be given/);
    const h = SetHarness.create();
    expect(() => h.run({ ...base })).toThrow(CommandRejectedError);
  });

  it('refuses any other command before the set exists', () => {
    expect(() => decide({ type: 'WriteBlocks', kind: 'write', lbn: 0, count: 1 }, initialState())).toThrow(
      /does not exist/,
    );
  });
});

describe('decider: writes', () => {
  it('records writes, trims and zeroes with range checks', () => {
    const h = SetHarness.create(BLOCKS);
    expect(h.run({ type: 'WriteBlocks', kind: 'write', lbn: 0, count: 8 })[0]!.event.type).toBe(
      'BlocksWritten',
    );
    expect(h.run({ type: 'WriteBlocks', kind: 'trim', lbn: 8, count: 8 })[0]!.event.type).toBe(
      'BlocksTrimmed',
    );
    expect(h.run({ type: 'WriteBlocks', kind: 'zeroes', lbn: 16, count: 8 })[0]!.event.type).toBe(
      'ZeroesWritten',
    );
    expect(() => h.run({ type: 'WriteBlocks', kind: 'write', lbn: BLOCKS - 1, count: 2 })).toThrow(
      OutOfRangeError,
    );
    expect(h.state.writeEvents).toBe(3);
  });
});

describe('decider: dismount and bitmaps', () => {
  it('starts a bitmap with minicopy and marks chunks written after the dismount only', () => {
    const h = SetHarness.create(BLOCKS);
    h.run({ type: 'WriteBlocks', kind: 'write', lbn: 0, count: 1 });
    h.run({ type: 'DismountMember', member: 'm2', policy: 'minicopy', fingerprint: fingerprint(SIZE) });
    h.run({ type: 'WriteBlocks', kind: 'write', lbn: 127 * 5 + 100, count: 60 });
    const m2 = resolveMember(h.state, 'm2');
    expect(m2.status).toBe('dismounted');
    expect(m2.bitmap?.sincePosition).toBe(2);
    expect([...m2.bitmap!.chunks.runs()]).toEqual([{ first: 5, count: 2 }]);
  });

  it('keeps no bitmap with policy none, and says so', () => {
    const h = SetHarness.create(BLOCKS);
    h.run({ type: 'DismountMember', member: '/dev/m3.img', policy: 'none', fingerprint: null });
    const m3 = resolveMember(h.state, 'm3');
    expect(m3.bitmap).toBeNull();
    expect(m3.noBitmapReason).toBe('no bitmap: dismounted with policy none at position 1');
  });

  it('refuses to dismount the last valid member, a member away, or minicopy while merging', () => {
    const h = SetHarness.create(BLOCKS, 2);
    h.run({ type: 'DismountMember', member: 'm2', policy: 'minicopy', fingerprint: fingerprint(SIZE) });
    expect(() => h.run({ type: 'DismountMember', member: 'm1', policy: 'none', fingerprint: null })).toThrow(
      /last valid member of DSA1; mount another member first/,
    );
    expect(() => h.run({ type: 'DismountMember', member: 'm2', policy: 'none', fingerprint: null })).toThrow(
      /it is dismounted/,
    );
    const g = SetHarness.create(BLOCKS, 3);
    g.run({ type: 'StartMerge', chunks: 4 });
    expect(() =>
      g.run({ type: 'DismountMember', member: 'm3', policy: 'minicopy', fingerprint: null }),
    ).toThrow(/is merging/);
    expect(() => g.run({ type: 'DismountMember', member: 'm1', policy: 'none', fingerprint: null })).toThrow(
      /source of the merge/,
    );
    expect(g.run({ type: 'DismountMember', member: 'm3', policy: 'none', fingerprint: null })).toHaveLength(
      1,
    );
  });

  it('names the members when one is unknown (NotFound: exit 3)', () => {
    const h = SetHarness.create(BLOCKS, 2);
    expect(() => h.run({ type: 'DeleteBitmap', member: 'm9' })).toThrow(NotFoundError);
    expect(() => h.run({ type: 'DismountMember', member: 'm9', policy: 'none', fingerprint: null })).toThrow(
      "member 'm9' is not in shadow set DSA1; members: m1 (/dev/m1.img), m2 (/dev/m2.img)",
    );
  });

  it('deletes a bitmap on request, and the next return is a full copy', () => {
    const h = SetHarness.create(BLOCKS);
    h.run({ type: 'DismountMember', member: 'm2', policy: 'minicopy', fingerprint: fingerprint(SIZE) });
    h.run({ type: 'DeleteBitmap', member: 'm2' });
    expect(() => h.run({ type: 'DeleteBitmap', member: 'm2' })).toThrow(
      /no bitmap to delete \(bitmap deleted at position 2\)/,
    );
    expect(() => h.run({ type: 'DeleteBitmap', member: 'm1' })).toThrow(
      /no bitmap to delete \(it is valid\)/,
    );
    expect(() =>
      h.run({ type: 'RequestMount', member: 'm2', policy: 'minicopy', fingerprint: fingerprint(SIZE) }),
    ).toThrow(
      'mount of m2 with policy minicopy refused: bitmap deleted at position 2; use --policy minicopy-optional or --policy full for a full copy',
    );
    h.run({
      type: 'RequestMount',
      member: 'm2',
      policy: 'minicopy-optional',
      fingerprint: fingerprint(SIZE),
    });
    const [started] = h.run({ type: 'StartCopy', member: 'm2' });
    expect(started!.event).toMatchObject({
      kind: 'full',
      reason: `bitmap deleted at position 2; full copy${NO_ORIGIN}`,
      chunks: 100,
    });
  });
});

describe('decider: mount and copy', () => {
  function away() {
    const h = SetHarness.create(BLOCKS);
    h.run({ type: 'DismountMember', member: 'm2', policy: 'minicopy', fingerprint: fingerprint(SIZE) });
    h.run({ type: 'WriteBlocks', kind: 'write', lbn: 0, count: 300 });
    return h;
  }

  it('runs a minicopy through progress to completion and clears the bitmap', () => {
    const h = away();
    h.run({ type: 'RequestMount', member: 'm2', policy: 'minicopy', fingerprint: fingerprint(SIZE) });
    expect(resolveMember(h.state, 'm2').status).toBe('returning');
    const [started] = h.run({ type: 'StartCopy', member: 'm2' });
    expect(started!.event).toEqual({
      type: 'CopyStarted',
      v: 1,
      member: 'm2',
      source: 'm1',
      kind: 'mini',
      reason: 'bitmap since position 1: 3 of 100 chunks marked (3.0%)',
      chunks: 3,
      bytes: 3 * 127 * 512,
    });
    // Writes during the copy reach the target directly and no longer mark its bitmap.
    h.run({ type: 'WriteBlocks', kind: 'write', lbn: 127 * 50, count: 1 });
    expect(resolveMember(h.state, 'm2').bitmap!.chunks.count()).toBe(3);
    h.run({ type: 'ProgressCopy', member: 'm2', chunksDone: 2, nextChunk: 2, bytesCopied: 2 * 127 * 512 });
    expect(() =>
      h.run({ type: 'ProgressCopy', member: 'm2', chunksDone: 1, nextChunk: 2, bytesCopied: 0 }),
    ).toThrow(InvalidArgumentError);
    expect(() =>
      h.run({ type: 'ProgressCopy', member: 'm2', chunksDone: 2, nextChunk: 1, bytesCopied: 0 }),
    ).toThrow(/backwards/);
    expect(() => h.run({ type: 'DismountMember', member: 'm1', policy: 'none', fingerprint: null })).toThrow(
      /source of the copy to m2/,
    );
    expect(() => h.run({ type: 'DeleteBitmap', member: 'm2' })).toThrow(/in use by the running minicopy/);
    h.run({ type: 'CompleteCopy', member: 'm2', bytesCopied: 3 * 127 * 512, durationMs: 5 });
    const m2 = resolveMember(h.state, 'm2');
    expect(m2.status).toBe('valid');
    expect(m2.bitmap).toBeNull();
    expect(m2.copy).toBeNull();
    expect(() => h.run({ type: 'CompleteCopy', member: 'm2', bytesCopied: 0, durationMs: 0 })).toThrow(
      /no copy is running/,
    );
  });

  it('refuses minicopy for a member changed while away; minicopy-optional falls back with the reason', () => {
    const h = away();
    expect(() =>
      h.run({ type: 'RequestMount', member: 'm2', policy: 'minicopy', fingerprint: fingerprint(SIZE, 1) }),
    ).toThrow(/member changed while away: mtime differs/);
    h.run({
      type: 'RequestMount',
      member: 'm2',
      policy: 'minicopy-optional',
      fingerprint: fingerprint(SIZE, 1),
    });
    const [started] = h.run({ type: 'StartCopy', member: 'm2' });
    expect(started!.event).toMatchObject({ kind: 'full' });
    expect((started!.event as { reason: string }).reason).toMatch(
      /^member changed while away: mtime differs .*; full copy; every chunk copied: the log was written before set origins/,
    );
  });

  it('keeps the bitmap after an aborted copy and marks it again', () => {
    const h = away();
    h.run({ type: 'RequestMount', member: 'm2', policy: 'minicopy', fingerprint: fingerprint(SIZE) });
    h.run({ type: 'StartCopy', member: 'm2', source: 'm3' });
    h.run({ type: 'AbortCopy', member: 'm2', reason: 'operator', fingerprint: fingerprint(SIZE, 2) });
    const m2 = resolveMember(h.state, 'm2');
    expect(m2.status).toBe('dismounted');
    expect(m2.bitmap!.chunks.count()).toBe(3);
    h.run({ type: 'WriteBlocks', kind: 'write', lbn: 127 * 99, count: 1 });
    expect(m2.bitmap!.chunks.count()).toBe(4);
    // The new fingerprint is the baseline now.
    h.run({ type: 'RequestMount', member: 'm2', policy: 'minicopy', fingerprint: fingerprint(SIZE, 2) });
  });

  it('drops the bitmap when an aborted copy leaves no fingerprint', () => {
    const h = away();
    h.run({ type: 'RequestMount', member: 'm2', policy: 'full', fingerprint: null });
    const [started] = h.run({ type: 'StartCopy', member: 'm2' });
    expect(started!.event).toMatchObject({ kind: 'full' });
    expect((started!.event as { reason: string }).reason).toBe(
      `full copy requested (policy full)${NO_ORIGIN}`,
    );
    h.run({ type: 'AbortCopy', member: 'm2', reason: 'target unreadable', fingerprint: null });
    expect(resolveMember(h.state, 'm2').noBitmapReason).toMatch(/could not be fingerprinted/);
  });

  it('refuses mounts of valid members, copies of members not returning, and mounts while merging', () => {
    const h = away();
    expect(() => h.run({ type: 'RequestMount', member: 'm1', policy: 'full', fingerprint: null })).toThrow(
      /it is valid/,
    );
    expect(() => h.run({ type: 'StartCopy', member: 'm2' })).toThrow(/not returning; mount it first/);
    expect(() => h.run({ type: 'AbortCopy', member: 'm2', reason: 'x', fingerprint: null })).toThrow(
      /no copy is running/,
    );
    h.run({ type: 'StartMerge', chunks: 1 });
    expect(() => h.run({ type: 'RequestMount', member: 'm2', policy: 'full', fingerprint: null })).toThrow(
      /is merging/,
    );
    expect(() => h.run({ type: 'StartMerge', chunks: 1 })).toThrow(/already merging/);
    h.run({ type: 'CompleteMerge', chunks: 1, durationMs: 1 });
    expect(() => h.run({ type: 'CompleteMerge', chunks: 1, durationMs: 1 })).toThrow(/not merging/);
  });
});

describe('decider: failures, sync, merge', () => {
  it('expels a failed member, keeps the last one, and returns a failed member with a full copy', () => {
    const h = SetHarness.create(BLOCKS, 2);
    h.run({ type: 'FailMember', member: 'm2', error: 'EIO at LBN 5' });
    const m2 = resolveMember(h.state, 'm2');
    expect(m2.status).toBe('failed');
    expect(m2.noBitmapReason).toBe('no bitmap: member failed at position 1 (EIO at LBN 5)');
    expect(() => h.run({ type: 'FailMember', member: 'm1', error: 'EIO' })).toThrow(
      /last valid member .* is kept/,
    );
    expect(() => h.run({ type: 'FailMember', member: 'm2', error: 'EIO' })).toThrow(/it is failed/);
    h.run({ type: 'RequestMount', member: 'm2', policy: 'minicopy-optional', fingerprint: null });
    const [started] = h.run({ type: 'StartCopy', member: 'm2' });
    expect(started!.event).toMatchObject({
      kind: 'full',
      reason: `no bitmap: member failed at position 1 (EIO at LBN 5); full copy${NO_ORIGIN}`,
    });
    h.run({ type: 'FailMember', member: 'm2', error: 'EIO again' });
    expect(resolveMember(h.state, 'm2').copy).toBeNull();
  });

  it('records syncs once and only forwards', () => {
    const h = SetHarness.create(BLOCKS);
    h.run({ type: 'WriteBlocks', kind: 'write', lbn: 0, count: 1 });
    expect(h.run({ type: 'SyncMembers', position: 1 })).toHaveLength(1);
    expect(h.run({ type: 'SyncMembers', position: 1 })).toHaveLength(0);
    expect(() => h.run({ type: 'SyncMembers', position: 99 })).toThrow(/must be from 0 to the last position/);
    expect(h.state.synced).toEqual({ position: 1, eventPosition: 2 });
    const [merge] = h.run({ type: 'StartMerge', chunks: 0 });
    expect(merge!.event).toMatchObject({ type: 'MergeStarted', source: 'm1', fromPosition: 2 });
  });

  it('evolve rejects events that break the rules, naming the position', () => {
    const h = SetHarness.create(BLOCKS);
    const state = cloneState(h.state);
    expect(() =>
      evolve(state, { position: 5, recordedAt: 0, event: { type: 'BlocksWritten', v: 1, lbn: 0, count: 1 } }),
    ).toThrow(InvariantViolationError);
    expect(() =>
      evolve(state, {
        position: 1,
        recordedAt: 0,
        event: { type: 'CopyCompleted', v: 1, member: 'm1', bytesCopied: 0, durationMs: 0 },
      }),
    ).toThrow(/CopyCompleted for m1 without a copy/);
    expect(() =>
      evolve(state, { position: 1, recordedAt: 0, event: { type: 'BitmapDeleted', v: 1, member: 'zz' } }),
    ).toThrow(/unknown member 'zz'/);
    expect(() =>
      evolve(initialState(), {
        position: 0,
        recordedAt: 0,
        event: { type: 'MembersSynced', v: 1, position: 0 },
      }),
    ).toThrow(/before ShadowSetCreated/);
  });
});
