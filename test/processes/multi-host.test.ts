import { describe } from 'vitest';
import { MemoryEventStore } from '../../adapters/store/memory/memory-event-store.js';
import { multiHostScenarios } from '../support/multi-host-scenarios.js';

// The same scenarios run against KurrentDB where a container runtime exists
// (test/adapters/store/kurrentdb/kurrentdb-contract.test.ts).
describe('several hosts on one set (shared in-memory store)', () => {
  multiHostScenarios(async () => {
    const store = new MemoryEventStore();
    return [store, store];
  });
});
