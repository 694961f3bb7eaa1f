import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { openKurrentDbStore } from '../../../../adapters/store/kurrentdb/open-kurrentdb-store.js';
import { InvalidArgumentError, IoError } from '../../../../domain/errors.js';

/**
 * openKurrentDbStore with the real official client and no server: what a user sees when the
 * server is down or the string is wrong. (With a server, the contract suite opens stores the
 * same way.)
 */

/** A local TCP port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

const quickRetry = { maxAttempts: 2, initialDelayMs: 1, maxDelayMs: 1 };

describe('openKurrentDbStore', () => {
  it('against the real client with no server: fails with an IoError naming the connection string and `docker compose up -d`', async () => {
    const port = await closedPort();
    const error = await openKurrentDbStore(`kurrentdb://127.0.0.1:${port}?tls=false`, {
      setId: 'DSA1',
      retry: quickRetry,
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(IoError);
    expect((error as Error).message).toMatch(
      new RegExp(
        `^KurrentDB at kurrentdb://127\\.0\\.0\\.1:${port}\\?tls=false is unreachable: reading the end of shadowlog-DSA1 failed 2 times`,
      ),
    );
    expect((error as Error).message).toMatch(/run `docker compose up -d`/);
    expect((error as Error).message).not.toMatch(/add \?tls=false/);
  });

  it('against the real client with no server: a TLS connection string gets the tls=false hint, and no password is shown', async () => {
    const port = await closedPort();
    const error = await openKurrentDbStore(`esdb://admin:changeit@127.0.0.1:${port}`, {
      setId: 'DSA1',
      retry: quickRetry,
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(IoError);
    expect((error as Error).message).toMatch(
      new RegExp(`KurrentDB at kurrentdb://admin:\\*\\*\\*@127\\.0\\.0\\.1:${port} `),
    );
    expect((error as Error).message).toMatch(/add \?tls=false/);
    expect((error as Error).message).not.toMatch(/changeit/);
  });

  it('refuses a bad connection string before connecting', async () => {
    await expect(
      openKurrentDbStore('kurrentdb://localhost:2113?tsl=false', { setId: 'DSA1' }),
    ).rejects.toThrow(/unknown option 'tsl'/);
    await expect(openKurrentDbStore('mysql://localhost', { setId: 'DSA1' })).rejects.toThrow(
      InvalidArgumentError,
    );
  });

  it('reports certificate files the client cannot load as an InvalidArgumentError', async () => {
    await expect(
      openKurrentDbStore('kurrentdb://localhost:2113?tlsCAFile=/nonexistent/ca.crt', { setId: 'DSA1' }),
    ).rejects.toThrow(/was refused by the KurrentDB client: Failed to load certificate file/);
  });

  it('refuses a bad set name', async () => {
    await expect(
      openKurrentDbStore('kurrentdb://localhost:2113?tls=false', { setId: 'no spaces' }),
    ).rejects.toThrow(/set name 'no spaces' is invalid/);
  });
});
