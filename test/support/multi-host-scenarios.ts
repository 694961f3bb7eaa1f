import { expect, it } from 'vitest';
import { CommandRejectedError } from '../../domain/errors.js';
import type { EventStore } from '../../domain/ports/event-store.js';
import { VirtualUnit } from '../../processes/virtual-unit.js';
import { ENGINE_BLOCKS, ENGINE_CHUNK_BLOCKS, ENGINE_PATHS } from '../support/engine-fixture.js';
import { differingBlocks, MemoryMembers, pattern } from '../support/memory-members.js';
import { readAll } from '../support/read-all.js';

/**
 * Two engines (hosts `a` and `b`) serve one set through one shared store, on the same member
 * disks, as hosts of a cluster would on shared storage. Each host writes its own half of the
 * volume (cluster applications coordinate who writes what; two hosts writing one block at once
 * is the application's race on any shared disk).
 */
/** Opens the two hosts' stores on one stream (one shared instance, or one client each). */
export type OpenHostStores = () => Promise<[EventStore, EventStore]>;

async function twoHosts(openStores: OpenHostStores, copyRateMiBps?: number) {
  const [store, storeB] = await openStores();
  const members = new MemoryMembers(ENGINE_PATHS, ENGINE_BLOCKS * 512);
  await VirtualUnit.create(store, members, {
    setId: 'CLU',
    blocks: ENGINE_BLOCKS,
    chunkBlocks: ENGINE_CHUNK_BLOCKS,
    memberPaths: ENGINE_PATHS,
  });
  const tuning = {
    ioBytes: 2 * ENGINE_CHUNK_BLOCKS * 512,
    inFlight: 2,
    checkpointBytes: 8 * 8192,
    checkpointMs: 5,
  };
  const a = await VirtualUnit.open({ store, access: members, host: 'a', copyTuning: tuning, copyRateMiBps });
  const b = await VirtualUnit.open({
    store: storeB,
    access: members,
    host: 'b',
    copyTuning: tuning,
    copyRateMiBps,
  });
  return { store, members, a, b };
}

/** Writes from one host into [lo, hi) until stopped; remembers the last data acknowledged per block. */
function load(unit: VirtualUnit, lo: number, hi: number, expected: Map<number, Uint8Array>, seed: number) {
  let stop = false;
  let writes = 0;
  const done = (async () => {
    // Bounded by `stop` and a hard cap.
    for (let i = 0; !stop && i < 100_000; i++) {
      const lbn = lo + ((i * 37 + seed * 11) % (hi - lo - 4));
      const data = pattern(lbn, 4, (seed + i) % 250);
      await unit.write(lbn, data);
      for (let k = 0; k < 4; k++) expected.set(lbn + k, data.subarray(k * 512, (k + 1) * 512));
      writes++;
      if (i % 8 === 0) await new Promise((r) => setImmediate(r));
    }
  })();
  return {
    stop: async () => {
      stop = true;
      await done;
      return writes;
    },
  };
}

/** The multi-host scenarios, for any store that several hosts can share. */
export function multiHostScenarios(openStores: OpenHostStores): void {
  it('two-phase dismount: after it, no write from either host reaches the member; bitmaps are cluster-wide', async () => {
    const { store, members, a, b } = await twoHosts(openStores);
    const expected = new Map<number, Uint8Array>();
    const half = Math.floor(ENGINE_BLOCKS / 2);
    const la = load(a, 0, half, expected, 1);
    const lb = load(b, half, ENGINE_BLOCKS, expected, 2);
    await new Promise((r) => setTimeout(r, 30));
    const dismounted = await a.dismount('m3', 'minicopy');
    const m3After = members.bytes(ENGINE_PATHS[2]!).slice();
    await new Promise((r) => setTimeout(r, 60));
    const writes = (await la.stop()) + (await lb.stop());
    expect(writes).toBeGreaterThan(20);
    // Nothing reached m3 after MemberDismounted, though both hosts kept writing.
    expect(differingBlocks(members.bytes(ENGINE_PATHS[2]!), m3After)).toEqual([]);
    const log = await readAll(store);
    const types = log.map((r) => r.event.type);
    expect(types).toContain('MemberDismountRequested');
    expect(log.filter((r) => r.event.type === 'HostAcknowledged').map((r) => r.event)).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ host: 'a', step: 'dismount-reads' }),
        expect.objectContaining({ host: 'b', step: 'dismount-reads' }),
        expect.objectContaining({ host: 'a', step: 'dismount-writes' }),
        expect.objectContaining({ host: 'b', step: 'dismount-writes' }),
      ]),
    );
    // The same bitmap on both hosts: it is a projection of the one stream.
    await b.flush();
    const last = await store.lastPosition();
    await new Promise((r) => setTimeout(r, 20));
    expect(a.state.set.position).toBe(last);
    expect(b.state.set.position).toBe(last);
    const bitmapA = a.state.set.members[2]!.bitmap!;
    const bitmapB = b.state.set.members[2]!.bitmap!;
    expect(bitmapA.chunks.equals(bitmapB.chunks)).toBe(true);
    expect(bitmapA.chunks.count()).toBeGreaterThan(0);
    // The bitmap starts at the cut and covers every write after it, from both hosts.
    const cut = bitmapA.sincePosition;
    expect(cut).toBeLessThan(dismounted.position);
    for (const r of log) {
      if (r.position > cut && r.event.type === 'BlocksWritten') {
        const first = Math.floor(r.event.lbn / ENGINE_CHUNK_BLOCKS);
        expect(bitmapA.chunks.test(first), `write at ${r.position}`).toBe(true);
      }
    }
    await a.close();
    await b.close();
  });

  it('the return is claimed by one host and copied while both write; afterwards the members are identical', async () => {
    // A slow copy (0.1 MiB/s), so that both hosts write while it runs.
    const { store, members, a, b } = await twoHosts(openStores, 0.1);
    const expected = new Map<number, Uint8Array>();
    const half = Math.floor(ENGINE_BLOCKS / 2);
    await a.dismount('m3', 'minicopy');
    const la = load(a, 0, half, expected, 3);
    const lb = load(b, half, ENGINE_BLOCKS, expected, 4);
    await new Promise((r) => setTimeout(r, 40));
    // Both hosts ask at once: exactly one request is recorded, the other is refused.
    const attempts = await Promise.allSettled([a.mount('m3', 'minicopy'), b.mount('m3', 'minicopy')]);
    const won = attempts.filter((x) => x.status === 'fulfilled');
    expect(won).toHaveLength(1);
    const lost = attempts.find((x) => x.status === 'rejected') as PromiseRejectedResult;
    expect(lost.reason).toBeInstanceOf(CommandRejectedError);
    const handle = (won[0] as PromiseFulfilledResult<Awaited<ReturnType<VirtualUnit['mount']>>>).value;
    const started = await handle.started;
    expect(started.event).toMatchObject({ type: 'CopyStarted', kind: 'mini' });
    const result = await handle.done;
    expect(result.outcome).toBe('completed');
    await new Promise((r) => setTimeout(r, 30));
    await la.stop();
    await lb.stop();
    await a.flush();
    await b.flush();
    const [m1, m2, m3] = ENGINE_PATHS.map((p) => members.bytes(p!));
    expect(differingBlocks(m1!, m2!)).toEqual([]);
    expect(differingBlocks(m1!, m3!)).toEqual([]);
    for (const [lbn, data] of expected) {
      expect(Buffer.compare(m3!.subarray(lbn * 512, (lbn + 1) * 512), data), `block ${lbn}`).toBe(0);
    }
    const log = await readAll(store);
    const types = log.map((r) => r.event.type);
    expect(types.filter((t) => t === 'CopyStarted')).toHaveLength(1);
    // The race this test is about did happen: writes landed while the copy ran.
    const finishing = log.find((r) => r.event.type === 'CopyFinishing')!.position;
    const during = log.filter(
      (r) => r.position > started.position && r.position < finishing && r.event.type === 'BlocksWritten',
    );
    expect(during.length).toBeGreaterThan(0);
    expect(types).toContain('CopyFinishing');
    for (const unit of [a, b])
      expect(unit.state.set.members.map((m) => m.status)).toEqual(['valid', 'valid', 'valid']);
    await a.close();
    await b.close();
  });

  it('a copy that fails in its final pass ends (member failed) and no host stays stalled', async () => {
    const { store, members, a, b } = await twoHosts(openStores, 0.1);
    const expected = new Map<number, Uint8Array>();
    const half = Math.floor(ENGINE_BLOCKS / 2);
    await a.dismount('m3', 'minicopy');
    const la = load(a, 0, half, expected, 5);
    const lb = load(b, half, ENGINE_BLOCKS, expected, 6);
    await new Promise((r) => setTimeout(r, 40));
    const handle = await a.mount('m3', 'minicopy');
    await handle.started;
    // Break the target once the copy is finishing: the last pass then fails on it.
    for (let i = 0; i < 2000 && !(await readAll(store)).some((r) => r.event.type === 'CopyFinishing'); i++) {
      await new Promise((r) => setTimeout(r, 2));
    }
    members.faults(ENGINE_PATHS[2]!).failWrites();
    const result = await handle.done;
    expect(result.outcome).toBe('failed');
    // Writes go on on both hosts: nobody is left stalled.
    await a.write(0, pattern(0, 1, 9));
    await b.write(half, pattern(half, 1, 9));
    await la.stop();
    await lb.stop();
    const [m1, m2] = ENGINE_PATHS.map((p) => members.bytes(p!));
    expect(differingBlocks(m1!, m2!)).toEqual([]);
    expect(a.state.set.members[2]!.status).toBe('failed');
    await a.close();
    await b.close();
  });
}
