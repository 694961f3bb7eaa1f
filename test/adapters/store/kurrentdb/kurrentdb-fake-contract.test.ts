import { randomUUID } from 'node:crypto';
import { KurrentDbEventStore } from '../../../../adapters/store/kurrentdb/kurrentdb-event-store.js';
import { storeContract } from '../../../store-contract.js';
import { FakeKurrentDbServer } from './fake-kurrentdb-client.js';

// The whole EventStore contract, run against the fake server: it exercises the store's own
// logic (group commit, expected revisions, paging, subscriptions, mapping) everywhere. The
// real server runs the same suite in kurrentdb-contract.test.ts where Docker exists.
// Small subscription buffers so that the slow-subscriber test exercises flow control.
storeContract('kurrentdb against a fake client', async () => {
  const server = new FakeKurrentDbServer();
  const setId = `contract-${randomUUID()}`;
  const open = () =>
    KurrentDbEventStore.connect(server.client(), {
      setId,
      subscriptionLimits: { maxBufferedEvents: 64, maxBatchEvents: 64 },
    });
  return { store: await open(), reopen: open, cleanup: async () => undefined };
});
