import { randomUUID } from 'node:crypto';
import {
  jsonEvent,
  KurrentDBClient,
  NO_STREAM,
  type ResolvedEvent,
  WrongExpectedVersionError,
} from '@kurrent/kurrentdb-client';
import { GenericContainer, type StartedTestContainer, Wait } from 'testcontainers';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { openKurrentDbStore } from '../../../../adapters/store/kurrentdb/open-kurrentdb-store.js';
import { storeContract } from '../../../store-contract.js';
import { multiHostScenarios } from '../../../support/multi-host-scenarios.js';

/**
 * The EventStore contract against a real KurrentDB node started with testcontainers, plus the
 * few server behaviours the store's design leans on (idempotent repeats, subscriptions
 * starting after the given revision). Needs a container runtime: the globalSetup
 * test/container-runtime.global-setup.ts probes for one once, and where there is none this
 * file skips, saying why.
 *
 * The container is set up like the @testcontainers/kurrentdb module does it (single node,
 * insecure, projections on); it waits for the HTTP health endpoint rather than the image's
 * HEALTHCHECK so that it also works with images built without one.
 */

/** The image: the same as docker-compose.yml; override with SHADOWLOG_KURRENTDB_IMAGE. */
const KURRENTDB_IMAGE =
  process.env.SHADOWLOG_KURRENTDB_IMAGE ?? 'docker.kurrent.io/kurrent-latest/kurrentdb:26.1.1';

const runtime = inject('containerRuntime') ?? {
  available: false,
  reason: 'test/container-runtime.global-setup.ts is not registered as a vitest globalSetup',
};
if (!runtime.available) {
  console.warn(
    `KurrentDB server tests skipped (they pass against the fake client instead): ${runtime.reason}`,
  );
}

describe.skipIf(!runtime.available)(`KurrentDB server in a container (${KURRENTDB_IMAGE})`, () => {
  let container: StartedTestContainer | undefined;
  let connectionString = '';

  beforeAll(async () => {
    container = await new GenericContainer(KURRENTDB_IMAGE)
      .withExposedPorts(2113)
      .withEnvironment({
        KURRENTDB_CLUSTER_SIZE: '1',
        KURRENTDB_RUN_PROJECTIONS: 'All',
        KURRENTDB_START_STANDARD_PROJECTIONS: 'true',
        KURRENTDB_INSECURE: 'true',
      })
      .withWaitStrategy(
        Wait.forHttp('/health/live', 2113).forStatusCodeMatching((code) => code >= 200 && code < 300),
      )
      .withStartupTimeout(180_000)
      .start();
    connectionString = `kurrentdb://${container.getHost()}:${container.getMappedPort(2113)}?tls=false`;
  }, 300_000);

  afterAll(async () => {
    await container?.stop();
  }, 60_000);

  // Each test gets its own set, so its own empty stream, on the one container.
  storeContract('kurrentdb', async () => {
    const setId = `contract-${randomUUID()}`;
    const open = () => openKurrentDbStore(connectionString, { setId });
    return { store: await open(), reopen: open, cleanup: async () => undefined };
  });

  describe('several hosts on one set, each with its own client', () => {
    multiHostScenarios(async () => {
      const setId = `hosts-${randomUUID()}`;
      return [
        await openKurrentDbStore(connectionString, { setId }),
        await openKurrentDbStore(connectionString, { setId }),
      ];
    });
  });

  describe('server behaviour the store relies on', () => {
    async function withClient(body: (client: KurrentDBClient) => Promise<void>): Promise<void> {
      const client = KurrentDBClient.connectionString(connectionString);
      try {
        await body(client);
      } finally {
        await client.dispose();
      }
    }

    it('an append repeated with the same ids and expectation is acknowledged, not written twice', () =>
      withClient(async (client) => {
        const stream = `idempotency-${randomUUID()}`;
        const events = [1, 2, 3].map((n) => jsonEvent({ id: randomUUID(), type: 'Probe', data: { n } }));
        const first = await client.appendToStream(stream, events, { streamState: NO_STREAM });
        const again = await client.appendToStream(stream, events, { streamState: NO_STREAM });
        expect(again.nextExpectedRevision).toBe(first.nextExpectedRevision);
        // Other ids at the same expectation are a conflict: ids must never be shared by two appends.
        const other = [jsonEvent({ id: randomUUID(), type: 'Probe', data: { n: 9 } })];
        await expect(client.appendToStream(stream, other, { streamState: NO_STREAM })).rejects.toBeInstanceOf(
          WrongExpectedVersionError,
        );
        const revisions: bigint[] = [];
        for await (const e of client.readStream(stream)) revisions.push(e.event!.revision);
        expect(revisions).toEqual([0n, 1n, 2n]);
      }));

    it('a subscription from revision r delivers r + 1 first', () =>
      withClient(async (client) => {
        const stream = `subscription-${randomUUID()}`;
        const events = [0, 1, 2, 3, 4].map((n) => jsonEvent({ type: 'Probe', data: { n } }));
        await client.appendToStream(stream, events, { streamState: NO_STREAM });
        const subscription = client.subscribeToStream(stream, { fromRevision: 1n });
        const first = await new Promise<ResolvedEvent>((resolve) => subscription.once('data', resolve));
        await subscription.unsubscribe();
        expect(first.event!.revision).toBe(2n);
      }));
  });
});
