import { afterEach } from 'vitest';
import type { KurrentDbClientSurface } from '../../../../adapters/store/kurrentdb/client-surface.js';
import {
  KurrentDbEventStore,
  type KurrentDbEventStoreOptions,
} from '../../../../adapters/store/kurrentdb/kurrentdb-event-store.js';
import type { FakeKurrentDbServer } from './fake-kurrentdb-client.js';

/** The connection target the fake-server suites report in messages. */
export const FAKE_TARGET = { display: 'kurrentdb://db.example:2113?tls=false', tls: false };

/**
 * Opens stores on set DSA1 against a fake server with fast retries (`maxAttempts` tries, 1–2 ms
 * apart) and closes every one after each test. Call once at the top of a test file.
 */
export function fakeStoreOpener(
  maxAttempts: number,
): (
  server: FakeKurrentDbServer,
  options?: Partial<KurrentDbEventStoreOptions>,
  client?: KurrentDbClientSurface,
) => Promise<KurrentDbEventStore> {
  const opened: KurrentDbEventStore[] = [];
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((store) => store.close()));
  });
  return async (server, options = {}, client = server.client()) => {
    const store = await KurrentDbEventStore.connect(client, {
      setId: 'DSA1',
      retry: { maxAttempts, initialDelayMs: 1, maxDelayMs: 2 },
      target: FAKE_TARGET,
      ...options,
    });
    opened.push(store);
    return store;
  };
}
