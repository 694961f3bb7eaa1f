import { describe, expect, it } from 'vitest';
import { MemoryEventStore } from '../../adapters/store/memory/memory-event-store.js';
import type { EventStore } from '../../domain/ports/event-store.js';
import { VirtualUnit } from '../../processes/virtual-unit.js';
import { Life } from '../support/crashable.js';
import { ENGINE_BLOCKS, ENGINE_CHUNK_BLOCKS, ENGINE_PATHS } from '../support/engine-fixture.js';
import { differingBlocks, MemoryMembers, pattern } from '../support/memory-members.js';
import { multiHostScenarios } from '../support/multi-host-scenarios.js';
import { readAll } from '../support/read-all.js';

/** Host b sees every batch a few ms late, as a host further from the store would. */
function lagging(store: EventStore, lagMs: number): EventStore {
  return {
    append: (events, options) => store.append(events, options),
    read: (from, to, options) => store.read(from, to, options),
    lastPosition: () => store.lastPosition(),
    close: async () => undefined,
    subscribe: (from, onBatch) =>
      store.subscribe(from, async (batch) => {
        await new Promise((resolve) => setTimeout(resolve, lagMs));
        await onBatch(batch);
      }),
  };
}

// The same scenarios run against KurrentDB where a container runtime exists
// (test/adapters/store/kurrentdb/kurrentdb-contract.test.ts).
describe('several hosts on one set (shared in-memory store)', () => {
  multiHostScenarios(async () => {
    const store = new MemoryEventStore();
    return [store, store];
  });
});

// A lagging host is where the races are: writes it logs before it sees CopyStarted or
// CopyFinishing must still end up on the returning member.
describe('several hosts on one set (host b sees the stream 2 ms late)', () => {
  multiHostScenarios(async () => {
    const store = new MemoryEventStore();
    return [store, lagging(store, 2)];
  });
});

describe('a host that dies mid-copy', () => {
  it('is recorded as gone by another host: its copy is aborted, nobody waits for it, and the member returns with a full copy', async () => {
    const store = new MemoryEventStore();
    const members = new MemoryMembers(ENGINE_PATHS, ENGINE_BLOCKS * 512);
    await VirtualUnit.create(store, members, {
      setId: 'CLU',
      blocks: ENGINE_BLOCKS,
      chunkBlocks: ENGINE_CHUNK_BLOCKS,
      memberPaths: ENGINE_PATHS,
    });
    const lifeA = new Life();
    const a = await VirtualUnit.open({
      store: lifeA.store(store),
      access: lifeA.access(members),
      host: 'a',
      copyRateMiBps: 0.05,
    });
    const b = await VirtualUnit.open({ store, access: members, host: 'b' });
    await a.dismount('m3', 'minicopy');
    for (let i = 0; i < 20; i++) await b.write(i * 16, pattern(i * 16, 4, i + 1));
    const handle = await a.mount('m3', 'minicopy');
    await handle.started;
    lifeA.crash(); // host a dies in the middle of its copy
    const events = await b.hostLeft('a');
    expect(events.map((r) => r.event.type)).toEqual(['HostLeft', 'CopyAborted']);
    const m3 = b.state.set.members[2]!;
    expect(m3).toMatchObject({ status: 'dismounted', bitmap: null });
    expect(m3.noBitmapReason).toMatch(/host a left the set during the copy/);
    // b is not held up by anything a owed.
    await b.write(5, pattern(5, 1, 77));
    const again = await b.mount('m3', 'minicopy-optional');
    expect((await again.started).event).toMatchObject({ kind: 'full', host: 'b' });
    expect((await again.done).outcome).toBe('completed');
    const [m1, m2, m3bytes] = ENGINE_PATHS.map((p) => members.bytes(p));
    expect(differingBlocks(m1!, m2!)).toEqual([]);
    expect(differingBlocks(m1!, m3bytes!)).toEqual([]);
    await expect(b.hostLeft('b')).rejects.toThrow(/is this host/);
    await b.close();
  });
});

describe('a member that fails while leaving', () => {
  it('ends the dismount at once (refused, naming the failure) instead of waiting for a host that is down', async () => {
    const store = new MemoryEventStore();
    const members = new MemoryMembers(ENGINE_PATHS, ENGINE_BLOCKS * 512);
    await VirtualUnit.create(store, members, {
      setId: 'CLU',
      blocks: ENGINE_BLOCKS,
      chunkBlocks: ENGINE_CHUNK_BLOCKS,
      memberPaths: ENGINE_PATHS,
    });
    const lifeB = new Life();
    // Long enough that a dismount waiting for the timeout would fail this test's bound too.
    const b = await VirtualUnit.open({ store: lifeB.store(store), access: lifeB.access(members), host: 'b' });
    // Opened last: members.faults() reaches a's devices.
    const a = await VirtualUnit.open({ store, access: members, host: 'a', acknowledgementTimeoutMs: 20_000 });
    lifeB.crash(); // b is down: it never acknowledges, so m3 stays leaving
    const dismount = a.dismount('m3', 'minicopy');
    dismount.catch(() => undefined);
    // Bounded: m3 is leaving as soon as a records MemberDismountRequested.
    for (let i = 0; i < 2000 && a.state.set.members[2]!.status !== 'leaving'; i++) {
      await new Promise((r) => setTimeout(r, 5));
    }
    expect(a.state.set.members[2]!.status).toBe('leaving');
    members.faults(ENGINE_PATHS[2]!).failWrites();
    // Before the cut writes still reach m3: this one fails there, and m3 is expelled.
    await a.write(8, pattern(8, 2, 9));
    // Not the acknowledgement timeout's IoError: the failure itself ends the wait.
    await expect(dismount).rejects.toThrow(/m3 failed at position \d+ while leaving .*mount --policy full/);
    const m3 = a.state.set.members[2]!;
    expect(m3).toMatchObject({ status: 'failed', leaving: null, bitmap: null });
    // The refusal is an event, as every decision is.
    const refused = (await readAll(store)).filter((r) => r.event.type === 'DismountRefused');
    expect(refused.map((r) => r.event)).toEqual([
      expect.objectContaining({ member: 'm3', reason: expect.stringMatching(/failed at position/) }),
    ]);
    await a.close();
    void b;
  }, 60_000);
});
