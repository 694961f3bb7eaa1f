import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ShadowlogError } from '../../domain/errors.js';
import type { ShadowCommand } from '../../domain/shadow-set-commands.js';
import { validMembers } from '../../domain/shadow-set-state.js';
import {
  TEST_BLOCKS as BLOCKS,
  TEST_CHUNK_BLOCKS as CHUNK,
  TEST_CHUNKS as CHUNKS,
  commandArb,
  recordedLogArb,
  TEST_SIZE_BYTES as SIZE,
} from '../support/command-arbitraries.js';
import { SetHarness } from '../support/set-harness.js';

/**
 * Model-based test of the decider: random command sequences against a naive model of the
 * write bitmaps. Refused commands must leave the state untouched; accepted ones must keep
 * every invariant, and each bitmap must equal exactly the chunks written since its member
 * left (never under-reporting, docs/design.md invariant 2).
 */

interface Model {
  bitmaps: Map<string, Set<number>>;
}

type Real = SetHarness;

class Step implements fc.Command<Model, Real> {
  constructor(readonly command: ShadowCommand) {}
  check(): boolean {
    return true;
  }
  run(model: Model, h: Real): void {
    const before = h.state.position;
    let recorded: ReturnType<SetHarness['run']>;
    try {
      recorded = h.run(this.command);
    } catch (error) {
      // Refusals are typed and change nothing; anything else is a bug.
      expect(error).toBeInstanceOf(ShadowlogError);
      expect(['COMMAND_REJECTED', 'INVALID_ARGUMENT', 'OUT_OF_RANGE']).toContain(
        (error as ShadowlogError).code,
      );
      expect(h.state.position).toBe(before);
      return;
    }
    for (const { event } of recorded) {
      switch (event.type) {
        case 'BlocksWritten':
        case 'BlocksTrimmed':
        case 'ZeroesWritten':
          for (const m of h.state.members) {
            const set = model.bitmaps.get(m.id);
            if (set && (m.status === 'dismounted' || m.status === 'returning')) {
              for (let lbn = event.lbn; lbn < event.lbn + event.count; lbn++)
                set.add(Math.floor(lbn / CHUNK));
            }
          }
          break;
        case 'MemberDismounted':
          if (event.policy === 'minicopy') model.bitmaps.set(event.member, new Set());
          else model.bitmaps.delete(event.member);
          break;
        case 'CopyStarted': {
          expect(h.state.merge).toBeNull();
          if (event.kind === 'mini') {
            const marked = model.bitmaps.get(event.member)!;
            expect(event.chunks).toBe(marked.size);
            let blocks = 0;
            for (const c of marked) blocks += Math.min(CHUNK, BLOCKS - c * CHUNK);
            expect(event.bytes).toBe(blocks * 512);
          } else {
            expect(event.chunks).toBe(CHUNKS);
            expect(event.bytes).toBe(SIZE);
          }
          break;
        }
        case 'CopyCompleted':
        case 'BitmapDeleted':
        case 'MemberFailed':
          model.bitmaps.delete(event.member);
          break;
        case 'CopyAborted':
          if (event.fingerprint === null) model.bitmaps.delete(event.member);
          break;
        default:
          break;
      }
    }
    checkInvariants(model, h);
  }
  toString(): string {
    return JSON.stringify(this.command);
  }
}

function checkInvariants(model: Model, h: Real): void {
  const state = h.state;
  expect(validMembers(state).length).toBeGreaterThanOrEqual(1);
  for (const m of state.members) {
    if (m.status === 'valid') {
      expect(m.bitmap).toBeNull();
      expect(m.copy).toBeNull();
      expect(m.away).toBeNull();
    }
    if (m.status === 'copying') expect(m.copy).not.toBeNull();
    else expect(m.copy).toBeNull();
    if (m.status === 'returning') expect(m.mount).not.toBeNull();
    const expected = model.bitmaps.get(m.id);
    if (expected === undefined) {
      expect(m.bitmap).toBeNull();
    } else {
      expect(m.bitmap).not.toBeNull();
      const actual = new Set<number>();
      for (const run of m.bitmap!.chunks.runs())
        for (let c = run.first; c < run.first + run.count; c++) actual.add(c);
      expect(actual).toEqual(expected);
      expect(m.bitmap!.chunks.count()).toBe(expected.size);
    }
  }
  const marking = state.members.filter(
    (m) => m.bitmap && (m.status === 'dismounted' || m.status === 'returning'),
  );
  expect(state.marking.length).toBe(marking.length);
}

const commands = [commandArb.map((command) => new Step(command))];

describe('decider model', () => {
  it('random command sequences keep every invariant and exact bitmaps', () => {
    fc.assert(
      fc.property(fc.commands(commands, { size: 'max', maxCommands: 200 }), (cmds) => {
        fc.modelRun(
          () => ({ model: { bitmaps: new Map() }, real: SetHarness.create(BLOCKS, 3, CHUNK) }),
          cmds,
        );
      }),
      { numRuns: 200 },
    );
  });
});

describe('decider model generator', () => {
  it('reaches minicopies, full copies, aborts and merges (the model explores the interesting states)', () => {
    const types = new Map<string, number>();
    for (const log of fc.sample(recordedLogArb, { numRuns: 300, seed: 42 })) {
      for (const { event } of log) {
        const key = event.type === 'CopyStarted' ? `CopyStarted:${event.kind}` : event.type;
        types.set(key, (types.get(key) ?? 0) + 1);
      }
    }
    for (const key of [
      'CopyStarted:mini',
      'CopyStarted:full',
      'CopyCompleted',
      'CopyAborted',
      'MergeCompleted',
      'BitmapDeleted',
      'MemberFailed',
    ]) {
      expect(types.get(key) ?? 0, key).toBeGreaterThan(5);
    }
  });
});
