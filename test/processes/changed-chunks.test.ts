import { afterEach, describe, expect, it } from 'vitest';
import { ShadowlogError } from '../../domain/errors.js';
import type { VirtualUnit } from '../../processes/virtual-unit.js';
import { ENGINE_CHUNK_BLOCKS, engineFixture } from '../support/engine-fixture.js';
import { pattern } from '../support/memory-members.js';

const C = ENGINE_CHUNK_BLOCKS;

describe('bitmaps since any position (checkpoints)', () => {
  let unit: VirtualUnit | undefined;
  afterEach(async () => {
    await unit?.close();
    unit = undefined;
  });

  it('a checkpoint holds exactly the chunks written after it, kept current as writes come', async () => {
    const f = await engineFixture();
    unit = f.unit;
    await unit.write(0, pattern(0, C, 1));
    const recorded = await unit.createCheckpoint('b1');
    expect(recorded.event).toMatchObject({ type: 'CheckpointCreated', name: 'b1' });
    const position = unit.state.set.checkpoints[0]!.position;
    expect(position).toBe(recorded.position - 1);
    expect([...(await unit.changedChunksSince(position)).runs()]).toEqual([]);
    await unit.write(3 * C + 2, pattern(3 * C + 2, C, 2)); // chunks 3 and 4
    await unit.trim(10 * C, 1);
    await unit.writeZeroes(20 * C, 2 * C);
    const chunks = await unit.changedChunksSince(position);
    expect(chunks.count()).toBe(5);
    for (const c of [3, 4, 10, 20, 21]) expect(chunks.test(c)).toBe(true);
    // Folded on: the next request reads only what came after.
    await unit.write(30 * C, pattern(30 * C, 1, 3));
    expect((await unit.changedChunksSince(position)).test(30)).toBe(true);
    // Since position 0 (after ShadowSetCreated) every write counts, the first one too.
    const all = await unit.changedChunksSince(0);
    expect(all.test(0)).toBe(true);
    expect(all.count()).toBe(7);
  });

  it('is computed from the log: the same after the engine is reopened', async () => {
    const f = await engineFixture();
    unit = f.unit;
    await unit.createCheckpoint('b1');
    await unit.write(5 * C, pattern(5 * C, 1, 1));
    const before = [...(await unit.changedChunksSince(unit.state.set.checkpoints[0]!.position)).runs()];
    await unit.close();
    unit = await f.open();
    const cp = unit.state.set.checkpoints[0]!;
    expect(cp.name).toBe('b1');
    expect([...(await unit.changedChunksSince(cp.position)).runs()]).toEqual(before);
    await unit.deleteCheckpoint('b1');
    expect(unit.state.set.checkpoints).toEqual([]);
  });

  it('refuses a position past the end of the log or before 0', async () => {
    const f = await engineFixture();
    unit = f.unit;
    const end = await f.store.lastPosition();
    for (const p of [end + 1, -1, 1.5]) {
      const error = await unit.changedChunksSince(p).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ShadowlogError);
      expect((error as ShadowlogError).code).toBe('OUT_OF_RANGE');
    }
  });
});
