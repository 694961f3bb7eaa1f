import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MemoryEventStore } from '../../adapters/store/memory/memory-event-store.js';
import { ShadowlogError } from '../../domain/errors.js';
import { VirtualUnit } from '../../processes/virtual-unit.js';
import { Life } from '../support/crashable.js';
import { differingBlocks, MemoryMembers, pattern } from '../support/memory-members.js';

/**
 * Model-based test of the engine: batches of concurrent operations whose member I/O is
 * ordered by fast-check's scheduler, with dismounts and returns under every policy, member
 * faults, and simulated crashes (the engine is dropped mid-flight and the set reopened on the
 * same log and disks). After each batch quiesces: every valid member is byte-identical, every
 * read returns the last acknowledged data, and each minicopy copied exactly its marked chunks.
 */
const CHUNK = 8;
const BLOCKS = 24 * CHUNK - 3;
const PATHS = ['/a.img', '/b.img', '/c.img'];

type Op =
  | { kind: 'write'; lbn: number; count: number; seed: number }
  | { kind: 'read'; lbn: number; count: number }
  | { kind: 'flush' }
  | { kind: 'dismount'; member: number; policy: 'minicopy' | 'none' }
  | { kind: 'mount'; member: number; policy: 'minicopy' | 'minicopy-optional' | 'full' }
  | { kind: 'fault'; member: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc
      .record({
        lbn: fc.nat(BLOCKS - 1),
        count: fc.integer({ min: 1, max: 20 }),
        seed: fc.integer({ min: 1, max: 250 }),
      })
      .map((w) => ({ kind: 'write' as const, ...w, count: Math.min(w.count, BLOCKS - w.lbn) })),
  },
  {
    weight: 2,
    arbitrary: fc
      .record({ lbn: fc.nat(BLOCKS - 1), count: fc.integer({ min: 1, max: 20 }) })
      .map((r) => ({ kind: 'read' as const, ...r, count: Math.min(r.count, BLOCKS - r.lbn) })),
  },
  { weight: 1, arbitrary: fc.constant({ kind: 'flush' as const }) },
  {
    weight: 2,
    arbitrary: fc
      .record({ member: fc.nat(2), policy: fc.constantFrom('minicopy' as const, 'none' as const) })
      .map((d) => ({ kind: 'dismount' as const, ...d })),
  },
  {
    weight: 2,
    arbitrary: fc
      .record({
        member: fc.nat(2),
        policy: fc.constantFrom('minicopy' as const, 'minicopy-optional' as const, 'full' as const),
      })
      .map((m) => ({ kind: 'mount' as const, ...m })),
  },
  { weight: 1, arbitrary: fc.record({ member: fc.nat(2) }).map((f) => ({ kind: 'fault' as const, ...f })) },
);

const stepArb = fc.record({
  ops: fc.array(opArb, { minLength: 1, maxLength: 14 }),
  crash: fc.oneof({ weight: 4, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: fc.nat(40) }),
});

/** The last acknowledged content of each block, or the set of values it may hold after a crash. */
class Model {
  readonly blocks: (Uint8Array | null)[] = Array.from({ length: BLOCKS }, () => null);
  /** Blocks whose write was in flight at a crash: either value is allowed, members must agree. */
  readonly uncertain = new Set<number>();

  acked(lbn: number, data: Uint8Array): void {
    for (let b = 0; b < data.length / 512; b++) {
      this.blocks[lbn + b] = data.subarray(b * 512, (b + 1) * 512);
      this.uncertain.delete(lbn + b);
    }
  }

  expected(lbn: number): Uint8Array {
    return this.blocks[lbn] ?? new Uint8Array(512);
  }
}

async function openUnit(store: MemoryEventStore, members: MemoryMembers, life: Life): Promise<VirtualUnit> {
  return VirtualUnit.open({
    store: life.store(store),
    access: life.access(members),
    syncIntervalMs: 3_600_000,
    copyTuning: {
      ioBytes: 2 * CHUNK * 512,
      inFlight: 2,
      checkpointBytes: 4 * CHUNK * 512,
      checkpointMs: 3_600_000,
    },
  });
}

describe('engine model', () => {
  it('random concurrent workloads with faults, copies and crashes keep members identical and data acknowledged', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.scheduler(),
        fc.array(stepArb, { minLength: 1, maxLength: 10 }),
        async (s, steps) => {
          const store = new MemoryEventStore();
          const members = new MemoryMembers(PATHS, BLOCKS * 512);
          await VirtualUnit.create(store, members, {
            setId: 'M',
            blocks: BLOCKS,
            chunkBlocks: CHUNK,
            memberPaths: PATHS,
          });
          let life = new Life();
          let unit = await openUnit(store, members, life);
          const model = new Model();
          // Copies started by each life: a dead engine's copy never ends and must not be waited for.
          const copies: { life: Life; done: Promise<unknown> }[] = [];
          for (const step of steps) {
            life.gate = (label) => s.schedule(Promise.resolve(), label);
            const inFlight: { op: Op; done: Promise<unknown>; settled: boolean }[] = [];
            const stepLife = life; // `life` is replaced at a crash; ops belong to this one
            for (const op of step.ops) {
              const entry = { op, done: Promise.resolve() as Promise<unknown>, settled: false };
              entry.done = run(unit, op, model, members, (done) =>
                copies.push({ life: stepLife, done }),
              ).finally(() => {
                entry.settled = true;
              });
              inFlight.push(entry);
            }
            if (step.crash === null) {
              await s.waitFor(Promise.allSettled(inFlight.map((e) => e.done)));
              await s.waitFor(
                Promise.allSettled(
                  copies
                    .splice(0)
                    .filter((c) => c.life === life)
                    .map((c) => c.done),
                ),
              );
              // Background work (a copy resumed after a crash) may still have I/O parked in the
              // scheduler: stop scheduling and release it.
              life.gate = async () => undefined;
              await s.waitAll();
            } else {
              // Let part of the work through, then pull the plug.
              for (let i = 0; i < step.crash && s.count() > 0; i++) await s.waitOne();
              for (const e of inFlight) {
                if (!e.settled && e.op.kind === 'write') {
                  for (let b = e.op.lbn; b < e.op.lbn + e.op.count; b++) model.uncertain.add(b);
                }
              }
              life.crash();
              await s.waitAll();
              copies.splice(0);
              life = new Life();
              unit = await openUnit(store, members, life);
              await unit.merged;
            }
            await unit.idle();
            await checkQuiesced(unit, members, model);
          }
          await unit.close();
        },
      ),
      { numRuns: 60, timeout: 10_000, endOnFailure: true },
    );
  });
});

async function run(
  unit: VirtualUnit,
  op: Op,
  model: Model,
  members: MemoryMembers,
  copyStarted: (done: Promise<unknown>) => void,
) {
  try {
    switch (op.kind) {
      case 'write': {
        const data = pattern(op.lbn, op.count, op.seed);
        await unit.write(op.lbn, data);
        model.acked(op.lbn, data);
        return;
      }
      case 'read':
        await unit.read(op.lbn, op.count);
        return;
      case 'flush':
        await unit.flush();
        return;
      case 'dismount':
        await unit.dismount(`m${op.member + 1}`, op.policy);
        return;
      case 'mount': {
        const handle = await unit.mount(`m${op.member + 1}`, op.policy);
        copyStarted(handle.done.catch(() => undefined));
        return;
      }
      case 'fault':
        members.faults(PATHS[op.member]!).failWrites({ times: 1 });
        return;
    }
  } catch (error) {
    if (op.kind === 'write') for (let b = op.lbn; b < op.lbn + op.count; b++) model.uncertain.add(b);
    // Refusals (policy, state) and I/O errors on the last member are part of the game; bugs are not.
    if (!(error instanceof ShadowlogError) || error.code === 'INVARIANT_VIOLATED') throw error;
  }
}

async function checkQuiesced(unit: VirtualUnit, members: MemoryMembers, model: Model): Promise<void> {
  const state = unit.state.set;
  const valid = state.members.filter((m) => m.status === 'valid').map((m) => members.bytes(m.path));
  expect(valid.length).toBeGreaterThan(0);
  for (const other of valid.slice(1)) expect(differingBlocks(valid[0]!, other)).toEqual([]);
  for (let b = 0; b < BLOCKS; b++) {
    const got = valid[0]!.subarray(b * 512, (b + 1) * 512);
    if (model.uncertain.has(b)) continue;
    expect(Buffer.compare(got, model.expected(b)), `block ${b}`).toBe(0);
  }
  // Invariant 4 for every completed minicopy in the journal.
  for (const copy of unit.state.journal.copies) {
    if (copy.kind === 'mini' && copy.outcome === 'completed') {
      expect(copy.bytesCopied).toBe(copy.bytesPlanned);
    }
  }
  // Reads agree with the model wherever it is certain.
  for (let b = 0; b < BLOCKS; b += 7) {
    if (model.uncertain.has(b)) continue;
    const read = await unit.read(b, 1);
    expect(Buffer.compare(read, model.expected(b))).toBe(0);
  }
}
