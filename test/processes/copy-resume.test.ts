import { describe, expect, it } from 'vitest';
import { MemoryEventStore } from '../../adapters/store/memory/memory-event-store.js';
import { VirtualUnit } from '../../processes/virtual-unit.js';
import { Life } from '../support/crashable.js';
import {
  ENGINE_BLOCKS,
  ENGINE_CHUNK_BLOCKS,
  ENGINE_PATHS,
  engineFixture,
} from '../support/engine-fixture.js';
import { differingBlocks, MemoryMembers, pattern } from '../support/memory-members.js';
import { readAll } from '../support/read-all.js';

describe('copy process: checkpoints, resume, bounds', () => {
  it('a copy interrupted by a crash resumes from its last checkpoint, not from the start (invariant 5)', async () => {
    const store = new MemoryEventStore();
    const members = new MemoryMembers(ENGINE_PATHS, ENGINE_BLOCKS * 512);
    await VirtualUnit.create(store, members, {
      setId: 'R',
      blocks: ENGINE_BLOCKS,
      chunkBlocks: ENGINE_CHUNK_BLOCKS,
      memberPaths: ENGINE_PATHS,
    });
    const tuning = {
      ioBytes: ENGINE_CHUNK_BLOCKS * 512,
      inFlight: 1,
      checkpointBytes: 4 * ENGINE_CHUNK_BLOCKS * 512,
      checkpointMs: 3_600_000,
    };
    const first = new Life();
    const unit = await VirtualUnit.open({
      store: first.store(store),
      access: first.access(members),
      copyTuning: tuning,
    });
    for (let c = 0; c < 39; c++) await unit.write(c * ENGINE_CHUNK_BLOCKS, pattern(c * 16, 16, c + 1));
    await unit.dismount('m3', 'none');
    // Slow the copy down so the crash lands in the middle: every I/O waits a tick.
    let ios = 0;
    first.gate = async () => {
      ios++;
      await new Promise((r) => setTimeout(r, 1));
    };
    const handle = await unit.mount('m3', 'full');
    await handle.started;
    while (
      !(await readAll(store)).some((r) => r.event.type === 'CopyProgressed' && r.event.chunksDone >= 12)
    ) {
      await new Promise((r) => setTimeout(r, 2));
    }
    first.crash();
    const progressed = (await readAll(store)).filter((r) => r.event.type === 'CopyProgressed');
    const checkpoint = progressed.at(-1)!.event as { chunksDone: number; nextChunk: number };
    expect(checkpoint.chunksDone).toBeGreaterThanOrEqual(12);
    expect(ios).toBeGreaterThan(0);

    const second = new Life();
    const reopened = await VirtualUnit.open({
      store: second.store(store),
      access: second.access(members),
      copyTuning: tuning,
    });
    await reopened.merged;
    await reopened.idle();
    const copy = reopened.state.journal.copies[0]!;
    expect(copy).toMatchObject({ outcome: 'completed', chunksDone: 40 });
    // The resumed run started at the checkpoint: it did not copy the first chunks again.
    const afterCrash = (await readAll(store)).filter(
      (r) => r.position > progressed.at(-1)!.position && r.event.type === 'CopyProgressed',
    );
    for (const r of afterCrash)
      expect((r.event as { chunksDone: number }).chunksDone).toBeGreaterThan(checkpoint.chunksDone);
    expect(differingBlocks(members.bytes(ENGINE_PATHS[0]!), members.bytes(ENGINE_PATHS[2]!))).toEqual([]);
    await reopened.close();
  });

  it('runs at most maxConcurrentCopies copies at once; the others wait for a slot', async () => {
    const { unit } = await engineFixture({ maxConcurrentCopies: 1 });
    await unit.dismount('m2', 'none');
    await unit.dismount('m3', 'none');
    const a = await unit.mount('m2', 'full');
    const b = await unit.mount('m3', 'full');
    const [startedA, startedB] = await Promise.all([a.started, b.started]);
    await Promise.all([a.done, b.done]);
    const completedA = unit.state.journal.copies.find((c) => c.member === 'm2')!.endPosition!;
    // m3's copy started only after m2's completed.
    expect(startedB.position).toBeGreaterThan(completedA);
    expect(startedA.position).toBeLessThan(completedA);
    await unit.close();
  });

  it('a copy rate limit slows the copy down', async () => {
    const { unit } = await engineFixture({ copyRateMiBps: 0.1 });
    await unit.dismount('m2', 'none');
    const started = performance.now();
    const handle = await unit.mount('m2', 'full');
    await handle.done;
    // 40 chunks of 8 KiB at 0.1 MiB/s with a one-second burst allowance: over 2 s.
    expect(performance.now() - started).toBeGreaterThan(2000);
    await unit.close();
  });
});
