import { describe, expect, it, vi } from 'vitest';
import { InvariantViolationError, IoError } from '../../domain/errors.js';
import { HEAL_CONFIRM_MS, type LogHealthChange } from '../../processes/coordination/append-fault.js';
import type { VirtualUnit } from '../../processes/virtual-unit.js';
import { engineFixture } from '../support/engine-fixture.js';
import { differingBlocks, pattern } from '../support/memory-members.js';
import { readAll } from '../support/read-all.js';
import { ScriptedStore } from './scripted-store.js';

/**
 * Issue 11, item 3 (engine side): a log that rejects appends (a full disk) must not wedge the
 * single writer. Writes, flushes and control commands fail at once with the store's error, the
 * fault is reported once, and as soon as the log accepts appends again the same engine writes,
 * flushes and dismounts, without a restart and without losing an acknowledged write.
 */

/** Bound on an answer: a hang fails the test instead of timing it out. */
function answers<T>(work: Promise<T>, what: string, ms = 5_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} hung for ${ms} ms`)), ms);
  });
  return Promise.race([work, limit]).finally(() => clearTimeout(timer));
}

/** Let the re-alignment (one `lastPosition()` round trip) finish. */
const settled = () => new Promise((r) => setImmediate(r));

async function healthOf(unit: VirtualUnit): Promise<LogHealthChange[]> {
  const changes: LogHealthChange[] = [];
  unit.logHealth$.subscribe((c) => changes.push(c));
  return changes;
}

describe('single writer on a log that rejects appends', () => {
  it('fails writes, flush and dismount fast, reports once, and heals without a restart', {
    timeout: 20_000,
  }, async () => {
    const store = new ScriptedStore();
    const { unit, members, paths } = await engineFixture({ store });
    const health = await healthOf(unit);
    for (let i = 0; i < 4; i++) await unit.write(i * 8, pattern(i * 8, 8, 1));

    // Writes in flight when the disk fills, and a flush waiting for their positions.
    store.mode = 'hold';
    const inFlight = Array.from({ length: 8 }, (_, i) => unit.write(100 + i * 8, pattern(100 + i * 8, 8, 2)));
    await settled();
    expect(store.pending).toBe(8);
    const flush = unit.flush();
    await settled();
    store.mode = 'full';
    await store.settle(Array.from({ length: 8 }, () => 'reject' as const));
    const outcomes = await answers(Promise.allSettled(inFlight), 'writes on a full log');
    for (const o of outcomes) {
      expect(o.status).toBe('rejected');
      expect((o as PromiseRejectedResult).reason).toBeInstanceOf(IoError);
    }
    await expect(answers(flush, 'flush waiting for rejected positions')).rejects.toThrow(
      /no space left on device/,
    );
    await settled();
    await expect(answers(unit.write(300, pattern(300, 1, 3)), 'write')).rejects.toThrow(IoError);
    await expect(answers(unit.flush(), 'flush')).rejects.toThrow(/no space left/);
    await expect(answers(unit.dismount('m3', 'minicopy'), 'dismount')).rejects.toThrow(/no space left/);
    expect(health.map((c) => c.kind)).toEqual(['failing']);
    expect(health[0]!.message).toMatch(/event log rejects appends: .*no space left on device.*free space/);

    // Space comes back: the same engine writes, flushes and dismounts.
    store.mode = 'pass';
    await settled();
    await answers(unit.write(400, pattern(400, 8, 4)), 'write after the heal');
    await answers(unit.flush(), 'flush after the heal');
    const dismounted = await answers(unit.dismount('m3', 'minicopy'), 'dismount after the heal');
    expect(dismounted.event.type).toBe('MemberDismounted');
    // The heal is reported once appends kept succeeding for a while (no flapping at the edge).
    await vi.waitFor(() => expect(health.map((c) => c.kind)).toEqual(['failing', 'healed']), {
      timeout: 3 * HEAL_CONFIRM_MS,
      interval: 50,
    });
    expect(health[1]!.message).toMatch(/event log accepts appends again/);

    for (let i = 0; i < 4; i++) expect(await unit.read(i * 8, 8)).toEqual(pattern(i * 8, 8, 1));
    expect(await unit.read(400, 8)).toEqual(pattern(400, 8, 4));
    expect(differingBlocks(members.bytes(paths[0]!), members.bytes(paths[1]!))).toEqual([]);
    // The log holds no trace of the rejected writes; positions stayed dense.
    const log = await readAll(store);
    expect(log.map((r) => r.position)).toEqual(log.map((_, i) => i));
    expect(log.filter((r) => r.event.type === 'BlocksWritten')).toHaveLength(5);
    await unit.close();
  });

  it('a write the store took after a rejection the engine had not seen fails cleanly, not as an invariant', async () => {
    const store = new ScriptedStore();
    const { unit, members, paths } = await engineFixture({ store });
    await unit.write(0, pattern(0, 8, 1));
    store.mode = 'hold';
    const first = unit.write(16, pattern(16, 8, 2));
    const second = unit.write(32, pattern(32, 8, 3));
    await settled();
    expect(store.pending).toBe(2);
    // The first is rejected; the second lands at the first's predicted position.
    store.mode = 'pass';
    await store.settle(['reject', 'accept']);
    for (const write of [first, second]) {
      const error = await answers(write, 'write').then(
        () => null,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(IoError);
      expect(error).not.toBeInstanceOf(InvariantViolationError);
    }
    await settled();
    await answers(unit.write(48, pattern(48, 8, 4)), 'write after the re-alignment');
    await answers(unit.flush(), 'flush after the re-alignment');
    expect(await unit.read(48, 8)).toEqual(pattern(48, 8, 4));
    // The misplaced write reached no member: the members stay equal.
    for (const path of paths.slice(1))
      expect(differingBlocks(members.bytes(paths[0]!), members.bytes(path))).toEqual([]);
    const log = await readAll(store);
    expect(log.map((r) => r.position)).toEqual(log.map((_, i) => i));
    await unit.close();
  });

  it('close on a full log answers with the store error instead of hanging, and the set reopens', async () => {
    const store = new ScriptedStore();
    const { unit, open } = await engineFixture({ store });
    await unit.write(0, pattern(0, 8, 1));
    store.mode = 'full';
    await expect(answers(unit.close(), 'close on a full log')).rejects.toThrow(/no space left/);
    store.mode = 'pass';
    const reopened = await open();
    await reopened.merged;
    expect(await reopened.read(0, 8)).toEqual(pattern(0, 8, 1));
    await reopened.close();
  });

  it('close with nothing to record since the last MembersSynced succeeds on a full log', async () => {
    const store = new ScriptedStore();
    const { unit } = await engineFixture({ store });
    await unit.write(0, pattern(0, 8, 1));
    await unit.flush();
    store.mode = 'full';
    await answers(unit.close(), 'close');
    expect(store.rejected).toBe(0);
  });
});
