import { describe, expect, it } from 'vitest';
import { engineFixture } from '../support/engine-fixture.js';
import { pattern } from '../support/memory-members.js';
import { readAll } from '../support/read-all.js';

/**
 * Issue 11, item 4: an idle set leaves the log and the disks alone. The background sync
 * records MembersSynced only when application writes completed since the last one: neither the
 * sync record's own position nor a control event makes the next tick sync again.
 */
const SYNC_MS = 10;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('background sync on an idle set', () => {
  it('records one MembersSynced after writes, then neither appends nor flushes while idle', async () => {
    const { unit, store, members, paths } = await engineFixture({ syncIntervalMs: SYNC_MS });
    for (let i = 0; i < 10; i++) await unit.write(i * 8, pattern(i * 8, 8, 1));
    const lastWrite = await store.lastPosition();
    // Bounded: the first sync is due at the next tick.
    for (let i = 0; i < 500 && (await store.lastPosition()) === lastWrite; i++) await sleep(SYNC_MS);
    const flushes = () => paths.map((p) => members.faults(p).counters().flush.ops);
    const positionAfterSync = await store.lastPosition();
    const flushesAfterSync = flushes();

    await sleep(30 * SYNC_MS);
    const after = (await readAll(store)).slice(lastWrite + 1).map((r) => r.event);
    expect(after).toEqual([{ type: 'MembersSynced', v: 1, position: lastWrite }]);
    expect(await store.lastPosition()).toBe(positionAfterSync);
    expect(flushes()).toEqual(flushesAfterSync);

    // A control event does not make the next tick sync either.
    const dismounted = await unit.dismount('m3', 'minicopy');
    const flushesAfterDismount = flushes();
    await sleep(30 * SYNC_MS);
    expect(await store.lastPosition()).toBe(dismounted.position);
    expect(flushes()).toEqual(flushesAfterDismount);

    // A flush with nothing written since the last MembersSynced records nothing.
    await unit.flush();
    expect(await store.lastPosition()).toBe(dismounted.position);

    // Writes make the next tick sync again, exactly once.
    await unit.write(0, pattern(0, 8, 2));
    const written = await store.lastPosition();
    for (let i = 0; i < 500 && (await store.lastPosition()) === written; i++) await sleep(SYNC_MS);
    await sleep(30 * SYNC_MS);
    const tail = (await readAll(store)).slice(written + 1).map((r) => r.event);
    expect(tail).toEqual([{ type: 'MembersSynced', v: 1, position: written }]);
    await unit.close();
  }, 30_000);
});
