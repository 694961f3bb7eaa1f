import { describe, expect, it } from 'vitest';
import { CommandRejectedError, IoError, OutOfRangeError } from '../../domain/errors.js';
import type { ShadowEvent } from '../../domain/events.js';
import { ENGINE_BLOCKS, ENGINE_CHUNK_BLOCKS, engineFixture } from '../support/engine-fixture.js';
import { differingBlocks, pattern } from '../support/memory-members.js';
import { readAll } from '../support/read-all.js';

const CHUNK_BYTES = ENGINE_CHUNK_BLOCKS * 512;

describe('virtual unit: I/O path', () => {
  it('writes every member and reads back what was written', async () => {
    const { unit, members, paths } = await engineFixture();
    await unit.write(10, pattern(10, 5, 1));
    await unit.write(ENGINE_BLOCKS - 2, pattern(ENGINE_BLOCKS - 2, 2, 2), { fua: true });
    await unit.writeZeroes(11, 2);
    await unit.trim(100, 20);
    const expected = pattern(10, 5, 1);
    expected.fill(0, 512, 3 * 512);
    expect(await unit.read(10, 5)).toEqual(expected);
    for (const path of paths.slice(1))
      expect(differingBlocks(members.bytes(paths[0]!), members.bytes(path))).toEqual([]);
    await unit.close();
  });

  it('logs the write before any member sees it (invariant 1)', async () => {
    const { unit, store, members, paths } = await engineFixture();
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const append = store.append.bind(store);
    let sawMemberWriteEarly = false;
    store.append = async (events: readonly ShadowEvent[], options?: { expectedPosition?: number }) => {
      if (events[0]?.type === 'BlocksWritten') {
        await gate;
        // Before the event is durable, no member may have the data.
        for (const path of paths) if (members.bytes(path)[40 * 512] === 9) sawMemberWriteEarly = true;
      }
      return append(events, options);
    };
    const write = unit.write(40, pattern(40, 1, 9).fill(9));
    await new Promise((r) => setTimeout(r, 20));
    for (const path of paths) expect(members.bytes(path)[40 * 512]).toBe(0);
    release();
    await write;
    expect(sawMemberWriteEarly).toBe(false);
    for (const path of paths) expect(members.bytes(path)[40 * 512]).toBe(9);
    store.append = append;
    await unit.close();
  });

  it('refuses out-of-range and partial-block I/O with typed errors', async () => {
    const { unit } = await engineFixture();
    await expect(unit.write(ENGINE_BLOCKS, new Uint8Array(512))).rejects.toThrow(OutOfRangeError);
    await expect(unit.read(ENGINE_BLOCKS - 1, 2)).rejects.toThrow(/past the end/);
    await expect(unit.write(0, new Uint8Array(100))).rejects.toThrow(/whole 512-byte blocks/);
    await unit.close();
  });

  it('records MembersSynced on flush and on close', async () => {
    const { unit, store } = await engineFixture();
    await unit.write(0, pattern(0, 1, 1));
    await unit.flush();
    const events = (await readAll(store)).map((r) => r.event);
    expect(events.at(-1)).toEqual({ type: 'MembersSynced', v: 1, position: 1 });
    await unit.write(0, pattern(0, 1, 2));
    await unit.close();
    const after = (await readAll(store)).map((r) => r.event);
    expect(after.at(-1)).toMatchObject({ type: 'MembersSynced', position: after.length - 2 });
  });
});

describe('virtual unit: dismount, minicopy, full copy', () => {
  it('minicopy copies exactly the marked chunks while writes go on, and members converge', async () => {
    const { unit, members, paths } = await engineFixture();
    for (let i = 0; i < 39; i += 3) await unit.write(i * ENGINE_CHUNK_BLOCKS, pattern(i * 16, 16, 1));
    await unit.dismount('m2', 'minicopy');
    const m2Before = members.bytes(paths[1]!).slice();
    const writesBefore = members.faults(paths[1]!).counters().write.ops;
    // Chunks 0, 1 (a write across the boundary), 5 and the clipped last chunk.
    await unit.write(3, pattern(3, 2, 2));
    await unit.write(ENGINE_CHUNK_BLOCKS - 1, pattern(15, 2, 3));
    await unit.write(5 * ENGINE_CHUNK_BLOCKS + 4, pattern(84, 1, 4));
    await unit.write(ENGINE_BLOCKS - 1, pattern(ENGINE_BLOCKS - 1, 1, 5));
    expect(members.faults(paths[1]!).counters().write.ops).toBe(writesBefore);
    expect(members.bytes(paths[1]!)).toEqual(m2Before);
    const bitmap = unit.state.set.members[1]!.bitmap!;
    expect([...bitmap.chunks.runs()]).toEqual([
      { first: 0, count: 2 },
      { first: 5, count: 1 },
      { first: 39, count: 1 },
    ]);
    const copy = await unit.mount('m2', 'minicopy');
    // Writes keep flowing during the copy.
    const during = Promise.all([
      unit.write(1, pattern(1, 30, 6)),
      unit.write(200, pattern(200, 8, 7)),
      unit.write(5 * ENGINE_CHUNK_BLOCKS, pattern(80, 16, 8)),
    ]);
    const started = await copy.started;
    expect(started.event).toMatchObject({ type: 'CopyStarted', kind: 'mini', chunks: 4 });
    const [result] = await Promise.all([copy.done, during]);
    const lastChunkBytes = (ENGINE_BLOCKS - 39 * ENGINE_CHUNK_BLOCKS) * 512;
    expect(result).toMatchObject({
      outcome: 'completed',
      chunksCopied: 4,
      bytesCopied: 3 * CHUNK_BYTES + lastChunkBytes,
    });
    for (const path of paths.slice(1))
      expect(differingBlocks(members.bytes(paths[0]!), members.bytes(path))).toEqual([]);
    expect(unit.state.set.members[1]).toMatchObject({ status: 'valid', bitmap: null });
    expect(unit.state.journal.copies[0]).toMatchObject({ kind: 'mini', outcome: 'completed', chunksDone: 4 });
    await unit.close();
  });

  it('full copy under a concurrent write load converges (invariant 3)', async () => {
    const { unit, members, paths } = await engineFixture();
    await unit.dismount('m3', 'none');
    for (let i = 0; i < 20; i++) await unit.write(i * 31, pattern(i * 31, 3, i));
    const copy = await unit.mount('m3', 'minicopy-optional');
    const load = (async () => {
      for (let i = 0; i < 60; i++) {
        const lbn = (i * 97) % (ENGINE_BLOCKS - 4);
        await Promise.all([unit.write(lbn, pattern(lbn, 4, 100 + i)), unit.read(lbn, 4)]);
      }
    })();
    const [result] = await Promise.all([copy.done, load]);
    expect(result.outcome).toBe('completed');
    expect((await copy.started).event).toMatchObject({
      kind: 'full',
      reason: expect.stringMatching(/policy none/),
    });
    for (const path of paths.slice(1))
      expect(differingBlocks(members.bytes(paths[0]!), members.bytes(path))).toEqual([]);
    await unit.close();
  });

  it('catches a member changed while away: minicopy refused, minicopy-optional falls back to full', async () => {
    const { unit, members, paths } = await engineFixture();
    await unit.dismount('m2', 'minicopy');
    await unit.write(0, pattern(0, 1, 1));
    members.bytes(paths[1]!)[0] = 77; // someone wrote the member while it was away
    members.disks.get(paths[1]!)!.generation++;
    await expect(unit.mount('m2', 'minicopy')).rejects.toThrow(/member changed while away: mtime differs/);
    const copy = await unit.mount('m2', 'minicopy-optional');
    expect((await copy.started).event).toMatchObject({
      kind: 'full',
      reason: expect.stringMatching(/member changed while away/),
    });
    await copy.done;
    expect(differingBlocks(members.bytes(paths[0]!), members.bytes(paths[1]!))).toEqual([]);
    await unit.close();
  });

  it('refuses to dismount the last valid member, and mounts of members that are not away', async () => {
    const { unit } = await engineFixture({ members: 2 });
    await unit.dismount('m2', 'minicopy');
    await expect(unit.dismount('m1', 'none')).rejects.toThrow(/last valid member/);
    await expect(unit.mount('m1', 'full')).rejects.toThrow(CommandRejectedError);
    await unit.close();
  });

  it('an aborted copy keeps the bitmap; the next minicopy finishes the job', async () => {
    const { unit, members, paths, open } = await engineFixture({ copyRateMiBps: 0.05 });
    await unit.dismount('m2', 'minicopy');
    for (let c = 0; c < 40; c += 2) await unit.write(c * ENGINE_CHUNK_BLOCKS, pattern(c * 16, 1, c));
    const copy = await unit.mount('m2', 'minicopy');
    await copy.started;
    const aborted = await unit.abortCopy('m2', 'operator stop');
    expect(aborted.outcome).toBe('aborted');
    expect(unit.state.set.members[1]).toMatchObject({ status: 'dismounted' });
    expect(unit.state.set.members[1]!.bitmap!.chunks.count()).toBe(20);
    expect(unit.state.journal.copies[0]).toMatchObject({ outcome: 'aborted', endReason: 'operator stop' });
    await unit.close();
    const reopened = await open({ copyRateMiBps: undefined });
    const again = await reopened.mount('m2', 'minicopy');
    expect((await again.started).event).toMatchObject({ kind: 'mini', chunks: 20 });
    expect((await again.done).outcome).toBe('completed');
    expect(differingBlocks(members.bytes(paths[0]!), members.bytes(paths[1]!))).toEqual([]);
    await reopened.close();
  });
});

describe('virtual unit: member failure', () => {
  it('expels a member whose write fails and goes on', async () => {
    const { unit, members, paths, store } = await engineFixture();
    members.faults(paths[2]!).failWrites();
    await unit.write(7, pattern(7, 1, 1));
    expect(unit.state.set.members[2]).toMatchObject({ status: 'failed' });
    const failed = (await readAll(store)).find((r) => r.event.type === 'MemberFailed');
    expect(failed?.event).toMatchObject({ member: 'm3', error: expect.stringMatching(/EIO/) });
    await unit.write(8, pattern(8, 1, 2));
    expect(await unit.read(7, 2)).toEqual(new Uint8Array([...pattern(7, 1, 1), ...pattern(8, 1, 2)]));
    await unit.close();
  });

  it('fails the I/O when the last valid member fails, and keeps it', async () => {
    const { unit, members, paths } = await engineFixture({ members: 2 });
    await unit.write(1, pattern(1, 1, 1));
    members.faults(paths[1]!).failWrites();
    await unit.write(2, pattern(2, 1, 2));
    members.faults(paths[0]!).failWrites();
    await expect(unit.write(3, pattern(3, 1, 3))).rejects.toThrow(IoError);
    expect(unit.state.set.members[0]).toMatchObject({ status: 'valid' });
    members.faults(paths[0]!).heal();
    // What was acknowledged is still there.
    expect(await unit.read(1, 2)).toEqual(new Uint8Array([...pattern(1, 1, 1), ...pattern(2, 1, 2)]));
    await unit.close();
  });

  it('fails a read over to another member and expels the failing one', async () => {
    const { unit, members, paths } = await engineFixture();
    await unit.write(0, pattern(0, 8, 1));
    for (const path of paths.slice(0, 2)) members.faults(path).failReads();
    for (let i = 0; i < 3; i++) expect(await unit.read(0, 8)).toEqual(pattern(0, 8, 1));
    expect(unit.state.set.members.map((m) => m.status)).toEqual(['failed', 'failed', 'valid']);
    await unit.close();
  });

  it('a copy target failing mid-copy fails the copy and the member; the set goes on', async () => {
    const { unit, members, paths } = await engineFixture();
    await unit.dismount('m2', 'none');
    const copy = await unit.mount('m2', 'full');
    await copy.started;
    members.faults(paths[1]!).failWrites({ afterOps: 2 });
    const result = await copy.done;
    expect(result.outcome).toBe('failed');
    expect(unit.state.set.members[1]).toMatchObject({ status: 'failed' });
    expect(unit.state.journal.copies[0]).toMatchObject({ outcome: 'failed' });
    await unit.write(0, pattern(0, 1, 1));
    await unit.close();
  });

  it('a copy source failing mid-copy switches to another valid member', async () => {
    const { unit, members, paths } = await engineFixture();
    for (let c = 0; c < 39; c++) await unit.write(c * 16, pattern(c * 16, 16, c));
    await unit.dismount('m3', 'none');
    members.faults(paths[0]!).failReads({ afterOps: 2 });
    const copy = await unit.mount('m3', 'full');
    const result = await copy.done;
    expect(result.outcome).toBe('completed');
    expect(unit.state.set.members.map((m) => m.status)).toEqual(['failed', 'valid', 'valid']);
    expect(differingBlocks(members.bytes(paths[1]!), members.bytes(paths[2]!))).toEqual([]);
    await unit.close();
  });
});
