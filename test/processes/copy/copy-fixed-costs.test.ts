import { describe, expect, it } from 'vitest';
import { MemoryEventStore } from '../../../adapters/store/memory/memory-event-store.js';
import { ENGINE_CHUNK_BLOCKS, ENGINE_PATHS, engineFixture } from '../../support/engine-fixture.js';
import { differingBlocks, pattern } from '../../support/memory-members.js';
import { readAll } from '../../support/read-all.js';

const CHUNK_BYTES = ENGINE_CHUNK_BLOCKS * 512;

describe('copy fixed costs: control events and checkpoints', () => {
  it('a minicopy reads none of its control events back from the log, and returns them as recorded', async () => {
    const store = new MemoryEventStore();
    const read = store.read.bind(store);
    let reads = 0;
    store.read = (...args: Parameters<typeof store.read>) => {
      reads++;
      return read(...args);
    };
    const { unit } = await engineFixture({ store });
    await unit.dismount('m2', 'minicopy');
    for (const chunk of [3, 4, 20]) await unit.write(chunk * ENGINE_CHUNK_BLOCKS, pattern(chunk, 1, 9));
    reads = 0;
    const handle = await unit.mount('m2', 'minicopy');
    const started = await handle.started;
    const result = await handle.done;
    expect(result.outcome).toBe('completed');
    expect(reads).toBe(0);
    const logged = (await readAll(store)).find((r) => r.position === started.position);
    expect(started).toEqual(logged);
    expect(started.event.type).toBe('CopyStarted');
    await unit.close();
  }, 30_000);

  it('the pass keeps copying while a checkpoint flushes the target; the checkpoint records the prefix as of its flush', async () => {
    const { unit, members, store } = await engineFixture({
      copyTuning: {
        ioBytes: CHUNK_BYTES,
        inFlight: 1,
        inFlightBytes: CHUNK_BYTES,
        checkpointBytes: CHUNK_BYTES,
        checkpointMs: 3_600_000,
      },
    });
    for (let c = 0; c < 40; c++) await unit.write(c * ENGINE_CHUNK_BLOCKS, pattern(c * 16, 1, c + 1));
    await unit.dismount('m2', 'none');
    members.faults(ENGINE_PATHS[0]!).setLatency(1);
    const handle = await unit.mount('m2', 'full');
    const target = members.faults(ENGINE_PATHS[1]!);
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const flush = target.flush.bind(target);
    let flushCalls = 0;
    target.flush = async () => {
      if (flushCalls++ === 0) await held;
      return flush();
    };
    await handle.started;
    // Bounded: 40 chunks at ~1 ms each end in well under a second; 20 s leaves room for a busy machine.
    const deadline = performance.now() + 20_000;
    while (flushCalls === 0 && performance.now() < deadline) await new Promise((r) => setTimeout(r, 1));
    expect(flushCalls).toBe(1);
    const writesAtFlush = target.counters().write.ops;
    while (target.counters().write.ops < writesAtFlush + 5 && performance.now() < deadline) {
      await new Promise((r) => setTimeout(r, 1));
    }
    // Held flush, yet the copy went on (before, the pass waited for every checkpoint).
    expect(target.counters().write.ops).toBeGreaterThanOrEqual(writesAtFlush + 5);
    release();
    expect((await handle.done).outcome).toBe('completed');
    const progressed = (await readAll(store)).flatMap((r) =>
      r.event.type === 'CopyProgressed' ? [r.event] : [],
    );
    expect(progressed.length).toBeGreaterThan(0);
    // The held checkpoint recorded only what was done when its flush was called.
    expect(progressed[0]!.chunksDone).toBeLessThanOrEqual(writesAtFlush);
    for (let i = 1; i < progressed.length; i++) {
      expect(progressed[i]!.nextChunk).toBeGreaterThan(progressed[i - 1]!.nextChunk);
    }
    expect(differingBlocks(members.bytes(ENGINE_PATHS[0]!), members.bytes(ENGINE_PATHS[1]!))).toEqual([]);
    await unit.close();
  }, 30_000);
});
