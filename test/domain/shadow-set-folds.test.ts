import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { RecordedEvent, ShadowEventType } from '../../domain/events.js';
import type { ShadowCommand } from '../../domain/shadow-set-commands.js';
import {
  cloneState,
  evolve,
  initialState,
  isMarking,
  type MemberState,
  type ShadowSetState,
} from '../../domain/shadow-set-state.js';
import { initialProjectedState, projectBatch } from '../../projections/projected-state.js';
import { decodeProjectedState, encodeProjectedState } from '../../projections/state-snapshot.js';
import {
  commandArbitraries,
  recordedLogArb,
  runCommands,
  TEST_SIZE_BYTES,
} from '../support/command-arbitraries.js';
import { fingerprint, SetHarness } from '../support/set-harness.js';

/**
 * The state fold is split like the decider (membership, copy, multi-host folds under one
 * `evolve`). These properties pin what each fold may touch, so a case moved to the wrong
 * fold, or a fold reaching into another's part of the state, shows up: folded through the
 * whole `evolve`, every event changes only its fold's part of the state.
 */

type Fold = 'write' | 'membership' | 'copy' | 'merge' | 'hosts' | 'multi-host' | 'checkpoint' | 'refusal';

const FOLD_OF: Record<ShadowEventType, Fold> = {
  ShadowSetCreated: 'membership',
  BlocksWritten: 'write',
  BlocksTrimmed: 'write',
  ZeroesWritten: 'write',
  MemberDismounted: 'membership',
  MemberMountRequested: 'membership',
  MemberFailed: 'membership',
  BitmapDeleted: 'membership',
  MembersSynced: 'membership',
  CopyStarted: 'copy',
  CopyProgressed: 'copy',
  CopyCompleted: 'copy',
  CopyAborted: 'copy',
  MergeStarted: 'merge',
  MergeCompleted: 'merge',
  HostJoined: 'hosts',
  HostLeft: 'hosts',
  MemberDismountRequested: 'multi-host',
  CopyFinishing: 'multi-host',
  HostAcknowledged: 'multi-host',
  CheckpointCreated: 'checkpoint',
  CheckpointDeleted: 'checkpoint',
  MountRefused: 'refusal',
  DismountRefused: 'refusal',
};

const host = fc.constantFrom('a', 'b', 'c');
const member = fc.constantFrom('m1', 'm2', 'm3');
const checkpointName = fc.constantFrom('b1', 'b2');

/** The single-host commands plus the multi-host ones, so every fold gets exercised. */
const multiHostCommandArb: fc.Arbitrary<ShadowCommand> = fc.oneof(
  ...commandArbitraries.map((arbitrary) => ({ arbitrary, weight: 3 })),
  { arbitrary: host.map((h) => ({ type: 'JoinHost' as const, host: h })), weight: 4 },
  { arbitrary: host.map((h) => ({ type: 'LeaveHost' as const, host: h })), weight: 1 },
  {
    arbitrary: fc
      .tuple(member, fc.constantFrom('minicopy' as const, 'none' as const), host)
      .map(([m, policy, h]) => ({ type: 'RequestDismount' as const, member: m, policy, host: h })),
    weight: 4,
  },
  {
    arbitrary: fc
      .tuple(
        member,
        host,
        fc.constantFrom('dismount-reads', 'dismount-writes', 'copy-start', 'copy-finish' as const),
      )
      .map(([m, h, step]) => ({
        type: 'Acknowledge' as const,
        member: m,
        host: h,
        step: step as 'copy-start',
      })),
    weight: 12,
  },
  {
    arbitrary: fc.tuple(member, host).map(([m, h]) => ({ type: 'StartCopy' as const, member: m, host: h })),
    weight: 4,
  },
  {
    arbitrary: fc.tuple(member, host).map(([m, h]) => ({ type: 'FinishCopy' as const, member: m, host: h })),
    weight: 4,
  },
  {
    arbitrary: member.map((m) => ({
      type: 'DismountMember' as const,
      member: m,
      policy: 'minicopy' as const,
      fingerprint: fingerprint(TEST_SIZE_BYTES),
    })),
    weight: 6,
  },
  { arbitrary: checkpointName.map((name) => ({ type: 'CreateCheckpoint' as const, name })), weight: 2 },
  { arbitrary: checkpointName.map((name) => ({ type: 'DeleteCheckpoint' as const, name })), weight: 1 },
  {
    arbitrary: fc.tuple(member, fc.boolean()).map(([m, mount]) => ({
      type: 'RecordRefusal' as const,
      refused: mount ? ('mount' as const) : ('dismount' as const),
      member: m,
      policy: 'minicopy' as const,
      reason: 'refused for the test',
    })),
    weight: 1,
  },
);

const multiHostLogArb: fc.Arbitrary<RecordedEvent[]> = fc
  .array(multiHostCommandArb, { minLength: 10, maxLength: 200, size: 'max' })
  .map((commands) => runCommands(commands).log);

const anyLogArb = fc.oneof(recordedLogArb, multiHostLogArb);

/** A member with its bitmap as plain data, for comparing states. */
function plain(m: MemberState) {
  return { ...m, bitmap: m.bitmap && { ...m.bitmap, chunks: [...m.bitmap.chunks.runs()] } };
}

/** The members other than the one the event names are unchanged. */
function othersUnchanged(before: ShadowSetState, after: ShadowSetState, named: string | null): void {
  after.members.forEach((m, i) => {
    if (m.id !== named) expect(plain(m)).toEqual(plain(before.members[i]!));
  });
}

function namedMember(recorded: RecordedEvent): string | null {
  const event = recorded.event;
  return 'member' in event ? event.member : null;
}

/** What a fold owns; the rest of the state must come out of `evolve` as it went in. */
function expectOnlyItsPart(before: ShadowSetState, after: ShadowSetState, recorded: RecordedEvent): void {
  const fold = FOLD_OF[recorded.event.type];
  expect(after.position).toBe(recorded.position);
  if (fold !== 'write') expect(after.writeEvents).toBe(before.writeEvents);
  if (fold !== 'hosts') expect(after.hosts).toEqual(before.hosts);
  if (fold !== 'merge') expect(after.merge).toEqual(before.merge);
  if (fold !== 'checkpoint') expect(after.checkpoints).toEqual(before.checkpoints);
  if (recorded.event.type !== 'MembersSynced') expect(after.synced).toEqual(before.synced);
  switch (fold) {
    case 'write':
      // Writes only mark bitmaps: statuses and everything else stay.
      after.members.forEach((m, i) => {
        expect(m.status).toBe(before.members[i]!.status);
        expect(m.copy).toEqual(before.members[i]!.copy);
      });
      break;
    case 'merge':
    case 'checkpoint':
    case 'refusal':
      othersUnchanged(before, after, null);
      break;
    case 'hosts':
      // HostLeft may make the cut of a leaving member; nothing else about members changes.
      after.members.forEach((m, i) => {
        if (m.leaving === null) expect(plain(m)).toEqual(plain(before.members[i]!));
      });
      break;
    default:
      if (recorded.event.type !== 'ShadowSetCreated') othersUnchanged(before, after, namedMember(recorded));
  }
}

/** Invariants tying the parts of a member together, whichever fold last touched it. */
function expectConsistent(state: ShadowSetState): void {
  for (const m of state.members) {
    expect(m.copy !== null).toBe(m.status === 'copying');
    // Only one way: a member that fails while leaving keeps its `leaving` today (MemberFailed
    // does not clear it), a known gap reported with the fold split, not changed by it.
    if (m.status === 'leaving') expect(m.leaving).not.toBeNull();
    expect(m.mount !== null).toBe(m.status === 'returning' || m.status === 'copying');
    expect(m.away !== null).toBe(m.status !== 'valid' && m.status !== 'leaving');
    if (m.bitmap !== null) expect(m.noBitmapReason).toBeNull();
  }
  expect(state.marking).toEqual(state.members.filter(isMarking).map((m) => m.bitmap.chunks));
}

describe('state folds', () => {
  it('every event changes only its own fold’s part of the state', () => {
    fc.assert(
      fc.property(anyLogArb, (log) => {
        const state = initialState();
        for (const recorded of log) {
          const before = cloneState(state);
          evolve(state, recorded);
          expectOnlyItsPart(before, state, recorded);
          expectConsistent(state);
        }
      }),
      { numRuns: 150 },
    );
  });

  it('the multi-host logs reach every fold', () => {
    const seen = new Set<ShadowEventType>();
    for (const log of fc.sample(multiHostLogArb, { numRuns: 300, seed: 10 })) {
      for (const { event } of log) seen.add(event.type);
    }
    expect([...seen].sort()).toEqual(Object.keys(FOLD_OF).sort());
  });

  it('cloneState is deep: folding on from a clone leaves the original as it was', () => {
    fc.assert(
      fc.property(anyLogArb, fc.nat(), (log, cut) => {
        const at = cut % log.length;
        const state = initialState();
        for (const recorded of log.slice(0, at + 1)) evolve(state, recorded);
        const clone = cloneState(state);
        const kept = cloneState(state);
        for (const recorded of log.slice(at + 1)) evolve(clone, recorded);
        expect(state).toEqual(kept);
      }),
      { numRuns: 100 },
    );
  });

  it('a snapshot taken past a two-phase cut keeps marking the leaving member', () => {
    const h = SetHarness.create(127 * 20);
    h.run({ type: 'JoinHost', host: 'a' });
    h.run({ type: 'JoinHost', host: 'b' });
    h.run({ type: 'RequestDismount', member: 'm3', policy: 'minicopy', host: 'a' });
    for (const host of ['a', 'b']) h.run({ type: 'Acknowledge', member: 'm3', host, step: 'dismount-reads' });
    const atCut = h.log.length;
    h.run({ type: 'WriteBlocks', kind: 'write', lbn: 127 * 5, count: 1 });
    const decoded = decodeProjectedState(
      encodeProjectedState(projectBatch(initialProjectedState(), h.log.slice(0, atCut))),
    );
    projectBatch(decoded, h.log.slice(atCut));
    const m3 = decoded.set.members.find((m) => m.id === 'm3')!;
    expect(m3.status).toBe('leaving');
    expect([...m3.bitmap!.chunks.runs()]).toEqual([{ first: 5, count: 1 }]);
    expect(decoded).toEqual(projectBatch(initialProjectedState(), h.log));
  });
});
