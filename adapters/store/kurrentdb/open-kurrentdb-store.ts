import type { KurrentDBClient } from '@kurrent/kurrentdb-client';
import { InvalidArgumentError } from '../../../domain/errors.js';
import type { KurrentDbClientSurface } from './client-surface.js';
import { parseKurrentDbConnectionString } from './connection-string.js';
import { KurrentDbEventStore, type KurrentDbEventStoreOptions } from './kurrentdb-event-store.js';
import { describeError } from './retry-policy.js';

/**
 * Open the KurrentDB store of one shadow set from a connection string, as given to `--store`
 * or `SHADOWLOG_STORE`. The string is checked first (InvalidArgumentError naming the bad
 * part), then the server is asked for the stream's tail: an unreachable server fails here,
 * with an IoError naming the connection string and how to start the local node
 * (`docker compose up -d`), rather than on the first append.
 */

/** Options of {@link openKurrentDbStore}: the set, and tuning of the store. */
export type OpenKurrentDbStoreOptions = Omit<KurrentDbEventStoreOptions, 'target' | 'ownsClient'>;

/** Open the store of `options.setId` on the server of `connectionString`. */
export async function openKurrentDbStore(
  connectionString: string,
  options: OpenKurrentDbStoreOptions,
): Promise<KurrentDbEventStore> {
  const connection = parseKurrentDbConnectionString(connectionString);
  // Loaded here, not at the top: the client pulls gRPC and a native bridge, which a CLI on the
  // embedded log must not pay for at every start.
  const { KurrentDBClient: Client } = await import('@kurrent/kurrentdb-client');
  let client: KurrentDBClient;
  try {
    client = Client.connectionString(connection.clientConnectionString);
  } catch (error) {
    // Certificates named by tlsCAFile / userCertFile are loaded here.
    throw new InvalidArgumentError(
      `store connection string '${connection.display}' was refused by the KurrentDB client: ${describeError(error)}`,
    );
  }
  // The official client is the surface the store is written against.
  const surface: KurrentDbClientSurface = client;
  try {
    return await KurrentDbEventStore.connect(surface, {
      ...options,
      target: { display: connection.display, tls: connection.tls },
      ownsClient: true,
    });
  } catch (error) {
    await client.dispose().catch(() => undefined);
    throw error;
  }
}
