import { describe, expect, it } from 'vitest';
import { MAX_CHECKPOINTS } from '../../domain/checkpoint-decider.js';
import { CommandRejectedError, InvalidArgumentError, NotFoundError } from '../../domain/errors.js';
import { cloneState } from '../../domain/shadow-set-state.js';
import { initialCopyJournal } from '../../projections/copy-journal.js';
import { decodeProjectedState, encodeProjectedState } from '../../projections/state-snapshot.js';
import { SetHarness } from '../support/set-harness.js';

describe('checkpoint decisions', () => {
  it('records the last position before the checkpoint and folds it into the state', () => {
    const h = SetHarness.create();
    h.run({ type: 'WriteBlocks', kind: 'write', lbn: 0, count: 8 });
    const [recorded] = h.run({ type: 'CreateCheckpoint', name: 'b1' });
    expect(recorded!.event).toEqual({ type: 'CheckpointCreated', v: 1, name: 'b1', position: 1 });
    expect(recorded!.position).toBe(2);
    expect(h.state.checkpoints).toEqual([
      { name: 'b1', position: 1, eventPosition: 2, recordedAt: recorded!.recordedAt },
    ]);
  });

  it('refuses a duplicate name (CommandRejected: exit 4) and frees it on delete', () => {
    const h = SetHarness.create();
    h.run({ type: 'CreateCheckpoint', name: 'b1' });
    expect(() => h.run({ type: 'CreateCheckpoint', name: 'b1' })).toThrow(CommandRejectedError);
    expect(() => h.run({ type: 'CreateCheckpoint', name: 'b1' })).toThrow(
      /checkpoint b1 exists \(at position 0\)/,
    );
    const [deleted] = h.run({ type: 'DeleteCheckpoint', name: 'b1' });
    expect(deleted!.event).toEqual({ type: 'CheckpointDeleted', v: 1, name: 'b1' });
    expect(h.state.checkpoints).toEqual([]);
    h.run({ type: 'CreateCheckpoint', name: 'b1' });
    expect(h.state.checkpoints.map((c) => [c.name, c.position])).toEqual([['b1', 2]]);
  });

  it('refuses names NBD could not tell apart: invalid, a member id, since-…', () => {
    const h = SetHarness.create();
    for (const name of ['', 'a b', 'x'.repeat(65), 'café', 'a/b', 'a:b']) {
      expect(() => h.run({ type: 'CreateCheckpoint', name })).toThrow(InvalidArgumentError);
    }
    expect(() => h.run({ type: 'CreateCheckpoint', name: 'm2' })).toThrow(/is a member id/);
    expect(() => h.run({ type: 'CreateCheckpoint', name: 'since-4' })).toThrow(/'since-' are the position/);
    h.run({ type: 'CreateCheckpoint', name: 'A.b_c-9' });
    expect(h.state.checkpoints).toHaveLength(1);
  });

  it('deleting an unknown checkpoint is NotFound (exit 3)', () => {
    const h = SetHarness.create();
    expect(() => h.run({ type: 'DeleteCheckpoint', name: 'nope' })).toThrow(NotFoundError);
  });

  it(`keeps at most ${MAX_CHECKPOINTS} checkpoints`, () => {
    const h = SetHarness.create();
    for (let i = 0; i < MAX_CHECKPOINTS; i++) h.run({ type: 'CreateCheckpoint', name: `c${i}` });
    expect(() => h.run({ type: 'CreateCheckpoint', name: 'one-more' })).toThrow(/the most it keeps/);
  });

  it('survives clone and the projection snapshot round trip', () => {
    const h = SetHarness.create();
    h.run({ type: 'CreateCheckpoint', name: 'b1' });
    const clone = cloneState(h.state);
    h.run({ type: 'DeleteCheckpoint', name: 'b1' });
    expect(clone.checkpoints.map((c) => c.name)).toEqual(['b1']);
    const decoded = decodeProjectedState(encodeProjectedState({ set: clone, journal: initialCopyJournal() }));
    expect(decoded.set.checkpoints).toEqual(clone.checkpoints);
  });
});

describe('refusal records', () => {
  it('record the refusal with the member id and change no state', () => {
    const h = SetHarness.create();
    const before = cloneState(h.state);
    const [recorded] = h.run({
      type: 'RecordRefusal',
      refused: 'mount',
      member: '/dev/m2.img',
      policy: 'minicopy',
      reason: 'mount of m2 refused: it is valid',
    });
    expect(recorded!.event).toEqual({
      type: 'MountRefused',
      v: 1,
      member: 'm2',
      policy: 'minicopy',
      reason: 'mount of m2 refused: it is valid',
    });
    const [dismount] = h.run({
      type: 'RecordRefusal',
      refused: 'dismount',
      member: 'm1',
      policy: 'none',
      reason: 'x'.repeat(2000),
    });
    expect(dismount!.event).toMatchObject({ type: 'DismountRefused', member: 'm1', policy: 'none' });
    expect((dismount!.event as { reason: string }).reason).toHaveLength(1000);
    expect({ ...h.state, position: 0, recordedAt: 0 }).toEqual({ ...before, position: 0, recordedAt: 0 });
  });
});
