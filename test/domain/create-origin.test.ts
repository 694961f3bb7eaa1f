import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../domain/errors.js';
import { parseEvent, type ShadowSetCreated } from '../../domain/events.js';
import { MAX_VOLUME_BLOCKS } from '../../domain/geometry.js';
import type { CreateSet } from '../../domain/shadow-set-commands.js';
import { decide } from '../../domain/shadow-set-decider.js';
import { initialState } from '../../domain/shadow-set-state.js';
import { evolveCopyJournal, initialCopyJournal } from '../../projections/copy-journal.js';
import { decodeProjectedState, encodeProjectedState } from '../../projections/state-snapshot.js';
import { SetHarness } from '../support/set-harness.js';

const BLOCKS = 127 * 10;
const SIZE = BLOCKS * 512;

function command(fresh: boolean[], extra: Partial<CreateSet> = {}): CreateSet {
  const memberPaths = fresh.map((_, i) => `/img/m${i + 1}.img`);
  return {
    type: 'CreateSet',
    setId: 'DSA1',
    blocks: BLOCKS,
    memberPaths,
    memberSizesBytes: memberPaths.map(() => SIZE),
    memberIdentities: memberPaths.map((_, i) => `file on device 8:1, inode ${100 + i}`),
    createdFresh: fresh,
    ...extra,
  };
}

function created(cmd: CreateSet): ShadowSetCreated {
  return decide(cmd, initialState())[0] as ShadowSetCreated;
}

describe('create: which members get the initial copy', () => {
  it('all new sparse images are identical: origin fresh, no copy, every member valid', () => {
    const event = created(command([true, true, true]));
    expect(event.origin).toEqual({ kind: 'fresh', created: ['m1', 'm2', 'm3'], copied: [] });
    const h = new SetHarness();
    h.record([event]);
    expect(h.state.members.map((m) => m.status)).toEqual(['valid', 'valid', 'valid']);
    expect(h.state.origin).toEqual(event.origin);
  });

  it('a member that existed may differ: it is copied from the first; new ones too when the first existed', () => {
    expect(created(command([true, true, false])).origin).toEqual({
      kind: 'copied',
      created: ['m1', 'm2'],
      copied: ['m3'],
    });
    expect(created(command([false, true, true])).origin).toEqual({
      kind: 'copied',
      created: ['m2', 'm3'],
      copied: ['m2', 'm3'],
    });
    expect(created(command([false, false])).origin).toEqual({ kind: 'copied', created: [], copied: ['m2'] });
  });

  it('--assume-clean is recorded and copies nothing; it changes nothing when all are fresh', () => {
    expect(created(command([false, true], { assumeClean: true })).origin).toEqual({
      kind: 'assume-clean',
      created: ['m2'],
      copied: [],
    });
    expect(created(command([true, true], { assumeClean: true })).origin?.kind).toBe('fresh');
  });

  it('without creation facts (a library create, an old log) no origin is recorded and all start valid', () => {
    const event = created(command([true, false], { createdFresh: undefined }));
    expect(event.origin).toBeUndefined();
    const h = new SetHarness();
    h.record([event]);
    expect(h.state.origin).toBeNull();
    expect(h.state.members.map((m) => m.status)).toEqual(['valid', 'valid']);
  });

  it('refuses two members that are one file, naming both paths', () => {
    const same = command([false, false, false], {
      memberIdentities: [
        'file on device 8:1, inode 7',
        'file on device 8:1, inode 9',
        'file on device 8:1, inode 7',
      ],
    });
    expect(() => decide(same, initialState())).toThrow(InvalidArgumentError);
    expect(() => decide(same, initialState())).toThrow(
      /members \/img\/m1.img and \/img\/m3.img are the same storage \(file on device 8:1, inode 7\)/,
    );
    expect(() => decide(command([true, true], { memberIdentities: ['x'] }), initialState())).toThrow(
      /identity must be given for every member/,
    );
  });
});

describe('create: the initial copy runs as the normal copy machinery', () => {
  it('a member owed the copy returns with a full copy whose reason says why, then is valid', () => {
    const h = new SetHarness();
    const [createdEvent] = h.run(command([false, true]));
    const m2 = h.state.members[1]!;
    expect(m2.status).toBe('returning');
    expect(m2.mount).toMatchObject({ position: 0, policy: 'full', initialCopyFrom: 'm1' });
    expect(() => h.run({ type: 'DismountMember', member: 'm1', policy: 'none', fingerprint: null })).toThrow(
      /last valid member/,
    );
    const [started] = h.run({ type: 'StartCopy', member: 'm2' });
    expect(started!.event).toMatchObject({
      type: 'CopyStarted',
      member: 'm2',
      source: 'm1',
      kind: 'full',
      reason:
        'initial copy: m2 may differ from m1; every chunk copied: the set was created from members that held data, so the log cannot tell which chunks were never written',
      chunks: 10,
      bytes: SIZE,
    });
    const [completed] = h.run({ type: 'CompleteCopy', member: 'm2', bytesCopied: SIZE, durationMs: 1 });
    expect(h.state.members.map((m) => m.status)).toEqual(['valid', 'valid']);
    const journal = initialCopyJournal();
    for (const r of [createdEvent!, started!, completed!]) evolveCopyJournal(journal, r);
    expect(journal.copies).toEqual([
      expect.objectContaining({ member: 'm2', policy: 'full', mountPosition: 0, outcome: 'completed' }),
    ]);
  });

  it('an aborted initial copy leaves the member away with no bitmap: its return is a full copy', () => {
    const h = new SetHarness();
    h.run(command([false, true]));
    h.run({ type: 'StartCopy', member: 'm2' });
    h.run({ type: 'AbortCopy', member: 'm2', reason: 'operator', fingerprint: null });
    expect(h.state.members[1]).toMatchObject({ status: 'dismounted', bitmap: null });
    expect(() =>
      h.run({ type: 'RequestMount', member: 'm2', policy: 'minicopy', fingerprint: null }),
    ).toThrow(/initial copy from m1 has not completed/);
    h.run({ type: 'RequestMount', member: 'm2', policy: 'minicopy-optional', fingerprint: null });
    const [started] = h.run({ type: 'StartCopy', member: 'm2' });
    expect(started!.event).toMatchObject({ kind: 'full', reason: expect.stringMatching(/initial copy/) });
  });

  it('a snapshot keeps the origin and the owed copy; a snapshot from before origins decodes with none', () => {
    const h = new SetHarness();
    h.run(command([false, true, true]));
    const state = { set: h.state, journal: initialCopyJournal() };
    const decoded = decodeProjectedState(encodeProjectedState(state));
    expect(decoded.set.origin).toEqual(h.state.origin);
    expect(decoded.set.members[1]!.mount).toEqual(h.state.members[1]!.mount);
    const old = encodeProjectedState({
      set: { ...h.state, origin: undefined as never },
      journal: state.journal,
    });
    expect(decodeProjectedState(old).set.origin).toBeNull();
  });
});

describe('ShadowSetCreated: volume size limits', () => {
  const event = (blocks: number, extra: object = {}) => ({
    type: 'ShadowSetCreated',
    v: 1,
    setId: 'BIG',
    blockSize: 512,
    blocks,
    chunkBlocks: 127,
    members: [
      { id: 'm1', path: '/a' },
      { id: 'm2', path: '/b' },
    ],
    ...extra,
  });

  it('parses volumes past 1 TiB up to the engine limit (64 TiB), and refuses beyond', () => {
    // 2^31 blocks (1 TiB) was the ceiling: a 2 TiB set's own first event failed to parse.
    for (const blocks of [2 ** 31 + 1, 2 ** 32, 2 ** 35, MAX_VOLUME_BLOCKS])
      expect(parseEvent(event(blocks))).toMatchObject({ blocks });
    expect(() => parseEvent(event(MAX_VOLUME_BLOCKS + 1))).toThrow(/blocks/);
  });

  it('parses with and without an origin; a bad origin is refused', () => {
    expect(parseEvent(event(100)).type).toBe('ShadowSetCreated');
    const origin = { kind: 'copied', created: ['m2'], copied: ['m2'] };
    expect(parseEvent(event(100, { origin }))).toMatchObject({ origin });
    expect(() => parseEvent(event(100, { origin: { kind: 'maybe', created: [], copied: [] } }))).toThrow(
      /origin/,
    );
  });

  it('a 16 TiB set folds into a geometry of ~270M chunks', () => {
    const h = new SetHarness();
    h.run({ ...command([true, true]), blocks: 2 ** 35, memberSizesBytes: [2 ** 44, 2 ** 44] });
    expect(h.state.geometry).toMatchObject({ blocks: 2 ** 35, chunks: Math.ceil(2 ** 35 / 127) });
  });
});
