import { describe } from 'vitest';
import { MemoryEventStore } from '../../adapters/store/memory/memory-event-store.js';
import type { EventStore } from '../../domain/ports/event-store.js';
import { multiHostScenarios } from '../support/multi-host-scenarios.js';

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
