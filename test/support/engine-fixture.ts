import { MemoryEventStore } from '../../adapters/store/memory/memory-event-store.js';
import type { EventStore } from '../../domain/ports/event-store.js';
import { VirtualUnit, type VirtualUnitOptions } from '../../processes/virtual-unit.js';
import { MemoryMembers } from './memory-members.js';

/** Blocks of the engine test volume: 40 chunks of 16 blocks, the last one clipped. */
export const ENGINE_CHUNK_BLOCKS = 16;
export const ENGINE_BLOCKS = 40 * ENGINE_CHUNK_BLOCKS - 3;
export const ENGINE_PATHS = ['/m1.img', '/m2.img', '/m3.img'];

/** A created set on memory members and a memory store, opened. */
export async function engineFixture(
  options: Partial<VirtualUnitOptions> & { members?: number; store?: EventStore } = {},
) {
  const paths = ENGINE_PATHS.slice(0, options.members ?? 3);
  const members = new MemoryMembers(paths, ENGINE_BLOCKS * 512);
  const store = options.store ?? new MemoryEventStore();
  await VirtualUnit.create(store, members, {
    setId: 'DSA1',
    blocks: ENGINE_BLOCKS,
    chunkBlocks: ENGINE_CHUNK_BLOCKS,
    memberPaths: paths,
  });
  const open = (extra: Partial<VirtualUnitOptions> = {}) =>
    VirtualUnit.open({
      store,
      access: members,
      syncIntervalMs: 50,
      copyTuning: {
        ioBytes: 4 * ENGINE_CHUNK_BLOCKS * 512,
        inFlight: 3,
        checkpointBytes: 8 * 8192,
        checkpointMs: 5,
      },
      ...options,
      ...extra,
    });
  const unit = await open();
  return { unit, store, members, paths, open };
}
