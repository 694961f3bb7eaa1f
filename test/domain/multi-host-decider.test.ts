import { describe, expect, it } from 'vitest';
import { CommandRejectedError } from '../../domain/errors.js';
import { resolveMember } from '../../domain/shadow-set-decider.js';
import { fingerprint, SetHarness } from '../support/set-harness.js';

const BLOCKS = 127 * 20;
const SIZE = BLOCKS * 512;

function cluster() {
  const h = SetHarness.create(BLOCKS);
  h.run({ type: 'JoinHost', host: 'a' });
  h.run({ type: 'JoinHost', host: 'b' });
  return h;
}

describe('multi-host decisions', () => {
  it('joins and leaves hosts idempotently', () => {
    const h = cluster();
    expect(h.run({ type: 'JoinHost', host: 'a' })).toEqual([]);
    expect(h.state.hosts).toEqual(['a', 'b']);
    h.run({ type: 'LeaveHost', host: 'a' });
    expect(h.run({ type: 'LeaveHost', host: 'a' })).toEqual([]);
    expect(h.state.hosts).toEqual(['b']);
  });

  it('dismounts in two phases: reads, cut (bitmap starts), writes, then MemberDismounted', () => {
    const h = cluster();
    expect(() =>
      h.run({ type: 'DismountMember', member: 'm3', policy: 'minicopy', fingerprint: null }),
    ).toThrow(/served by 2 hosts; request the dismount first/);
    expect(() => h.run({ type: 'RequestDismount', member: 'm3', policy: 'minicopy', host: 'zz' })).toThrow(
      /host 'zz' does not serve DSA1/,
    );
    h.run({ type: 'RequestDismount', member: 'm3', policy: 'minicopy', host: 'a' });
    const m3 = resolveMember(h.state, 'm3');
    expect(m3.status).toBe('leaving');
    h.run({ type: 'WriteBlocks', kind: 'write', lbn: 0, count: 1 }); // before the cut: reaches m3, not marked
    expect(() => h.run({ type: 'Acknowledge', member: 'm3', host: 'a', step: 'dismount-writes' })).toThrow(
      /no cut yet/,
    );
    h.run({ type: 'Acknowledge', member: 'm3', host: 'a', step: 'dismount-reads' });
    expect(h.run({ type: 'Acknowledge', member: 'm3', host: 'a', step: 'dismount-reads' })).toEqual([]);
    expect(m3.leaving!.cutPosition).toBeNull();
    const [cut] = h.run({ type: 'Acknowledge', member: 'm3', host: 'b', step: 'dismount-reads' });
    expect(m3.leaving!.cutPosition).toBe(cut!.position);
    expect(m3.bitmap!.sincePosition).toBe(cut!.position);
    h.run({ type: 'WriteBlocks', kind: 'write', lbn: 127 * 5, count: 1 }); // after the cut: marked
    expect([...m3.bitmap!.chunks.runs()]).toEqual([{ first: 5, count: 1 }]);
    h.run({ type: 'Acknowledge', member: 'm3', host: 'b', step: 'dismount-writes' });
    expect(() =>
      h.run({ type: 'DismountMember', member: 'm3', policy: 'minicopy', fingerprint: null }),
    ).toThrow(/waits for hosts a to acknowledge/);
    h.run({ type: 'Acknowledge', member: 'm3', host: 'a', step: 'dismount-writes' });
    const [dismounted] = h.run({
      type: 'DismountMember',
      member: 'm3',
      policy: 'none',
      fingerprint: fingerprint(SIZE),
    });
    // The policy is the one requested in phase one.
    expect(dismounted!.event).toMatchObject({ type: 'MemberDismounted', policy: 'minicopy' });
    expect(m3.status).toBe('dismounted');
    expect(m3.bitmap!.chunks.count()).toBe(1);
    h.run({ type: 'WriteBlocks', kind: 'write', lbn: 127 * 7, count: 1 });
    expect(m3.bitmap!.chunks.count()).toBe(2);
  });

  it('a host that leaves no longer holds up the cut; policy none keeps no bitmap', () => {
    const h = cluster();
    h.run({ type: 'RequestDismount', member: 'm2', policy: 'none', host: 'b' });
    h.run({ type: 'Acknowledge', member: 'm2', host: 'b', step: 'dismount-reads' });
    h.run({ type: 'LeaveHost', host: 'a' });
    const m2 = resolveMember(h.state, 'm2');
    expect(m2.leaving!.cutPosition).not.toBeNull();
    expect(m2.bitmap).toBeNull();
    expect(m2.noBitmapReason).toMatch(/policy none/);
  });

  it('a member that fails while leaving is failed: no leaving left, no bitmap, the set not held up', () => {
    const h = cluster();
    h.run({ type: 'RequestDismount', member: 'm3', policy: 'minicopy', host: 'a' });
    h.run({ type: 'Acknowledge', member: 'm3', host: 'a', step: 'dismount-reads' });
    const m3 = resolveMember(h.state, 'm3');
    expect(m3.status).toBe('leaving');
    h.run({ type: 'FailMember', member: 'm3', error: 'EIO at LBN 9' });
    expect(m3.status).toBe('failed');
    expect(m3.leaving).toBeNull();
    expect(m3.bitmap).toBeNull();
    // The last reads acknowledgement is refused (nothing leaves any more) and starts no bitmap.
    expect(() => h.run({ type: 'Acknowledge', member: 'm3', host: 'b', step: 'dismount-reads' })).toThrow(
      /m3 is not leaving/,
    );
    expect(m3.bitmap).toBeNull();
    // A host may join again and another member may leave: m3 no longer holds the protocol.
    h.run({ type: 'JoinHost', host: 'c' });
    h.run({ type: 'RequestDismount', member: 'm2', policy: 'minicopy', host: 'a' });
    expect(resolveMember(h.state, 'm2').status).toBe('leaving');
    // Its return is a full copy, as for any failed member.
    expect(m3.noBitmapReason).toMatch(/member failed at position \d+ \(EIO at LBN 9\)/);
  });

  it('a member that fails after the cut loses the bitmap started at the cut', () => {
    const h = cluster();
    h.run({ type: 'RequestDismount', member: 'm3', policy: 'minicopy', host: 'a' });
    h.run({ type: 'Acknowledge', member: 'm3', host: 'a', step: 'dismount-reads' });
    h.run({ type: 'Acknowledge', member: 'm3', host: 'b', step: 'dismount-reads' });
    const m3 = resolveMember(h.state, 'm3');
    expect(m3.bitmap).not.toBeNull();
    h.run({ type: 'FailMember', member: 'm3', error: 'EIO' });
    expect(m3).toMatchObject({ status: 'failed', leaving: null, bitmap: null });
    expect(() => h.run({ type: 'Acknowledge', member: 'm3', host: 'a', step: 'dismount-writes' })).toThrow(
      /m3 is not leaving/,
    );
  });

  it('a copy is owned by one host and completes only after every host stalled', () => {
    const h = cluster();
    h.run({ type: 'RequestDismount', member: 'm2', policy: 'minicopy', host: 'a' });
    for (const step of ['dismount-reads', 'dismount-writes'] as const) {
      for (const host of ['a', 'b']) h.run({ type: 'Acknowledge', member: 'm2', host, step });
    }
    h.run({ type: 'DismountMember', member: 'm2', policy: 'minicopy', fingerprint: fingerprint(SIZE) });
    h.run({ type: 'RequestMount', member: 'm2', policy: 'minicopy', fingerprint: fingerprint(SIZE) });
    const [started] = h.run({ type: 'StartCopy', member: 'm2', host: 'b' });
    expect(started!.event).toMatchObject({ host: 'b' });
    const m2 = resolveMember(h.state, 'm2');
    expect(m2.copy!.owner).toBe('b');
    expect(() => h.run({ type: 'FinishCopy', member: 'm2', host: 'a' })).toThrow(/a runs no copy to m2/);
    expect(() => h.run({ type: 'CompleteCopy', member: 'm2', bytesCopied: 0, durationMs: 1 })).toThrow(
      /before every host stalled its writes/,
    );
    expect(() => h.run({ type: 'Acknowledge', member: 'm2', host: 'a', step: 'copy-finish' })).toThrow(
      /no copy to m2 is finishing/,
    );
    h.run({ type: 'FinishCopy', member: 'm2', host: 'b' });
    expect(h.run({ type: 'FinishCopy', member: 'm2', host: 'b' })).toEqual([]);
    h.run({ type: 'Acknowledge', member: 'm2', host: 'a', step: 'copy-finish' });
    expect(() => h.run({ type: 'CompleteCopy', member: 'm2', bytesCopied: 0, durationMs: 1 })).toThrow(
      CommandRejectedError,
    );
    h.run({ type: 'Acknowledge', member: 'm2', host: 'b', step: 'copy-finish' });
    expect(h.run({ type: 'Acknowledge', member: 'm2', host: 'b', step: 'copy-finish' })).toEqual([]);
    h.run({ type: 'CompleteCopy', member: 'm2', bytesCopied: 0, durationMs: 1 });
    expect(m2.status).toBe('valid');
    expect(() => h.run({ type: 'Acknowledge', member: 'm2', host: 'a', step: 'dismount-reads' })).toThrow(
      /is not leaving/,
    );
  });
});
