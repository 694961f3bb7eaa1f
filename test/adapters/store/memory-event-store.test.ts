import { describe, expect, it } from 'vitest';
import { MemoryEventStore } from '../../../adapters/store/memory/memory-event-store.js';
import { numberedWrite, SAMPLE_EVENTS } from '../../fixtures/sample-events.js';
import { storeContract } from '../../store-contract.js';

// Small subscription bounds so that the contract's slow-subscriber test overflows the live
// queue and exercises the fall-back to reading.
storeContract('memory', async () => ({
  store: new MemoryEventStore({ subscriptionLimits: { maxQueuedBatches: 8, maxQueuedEvents: 64 } }),
  cleanup: async () => undefined,
}));

describe('MemoryEventStore', () => {
  it('uses the injected clock, never letting recordedAt go backwards', async () => {
    const times = [1000, 2000, 1500, 3000];
    const store = new MemoryEventStore({ clock: () => times.shift()! });
    for (const event of SAMPLE_EVENTS.slice(0, 4)) await store.append([event]);
    const recordedAt: number[] = [];
    for await (const batch of store.read(0)) for (const e of batch) recordedAt.push(e.recordedAt);
    expect(recordedAt).toEqual([1000, 2000, 2000, 3000]);
  });

  it('stores a validated copy: later changes to the caller object do not leak in', async () => {
    const store = new MemoryEventStore();
    const event = { ...numberedWrite(1) } as { lbn: number };
    await store.append([SAMPLE_EVENTS[0]!, event as never]);
    event.lbn = 999;
    const all: unknown[] = [];
    for await (const batch of store.read(0)) for (const e of batch) all.push(e.event);
    expect(all[1]).toEqual(numberedWrite(1));
  });
});
