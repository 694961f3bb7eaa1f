import { describe, expect, it } from 'vitest';
import { NbdCommand } from '../../../adapters/nbd/nbd-constants.js';
import { isLoopbackHost, startNbdServer } from '../../../adapters/nbd/nbd-server.js';
import { InvalidArgumentError } from '../../../domain/errors.js';
import { startHarness } from './nbd-harness.js';
import { RawNbdClient } from './raw-nbd-client.js';

const MiB = 1024 * 1024;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Poll until `predicate` holds (bounded). */
async function eventually(predicate: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await sleep(10);
  }
}

describe('NBD server lifecycle', () => {
  it('classifies loopback addresses', () => {
    for (const host of ['127.0.0.1', '127.1.2.3', '::1', 'localhost', '::ffff:127.0.0.1']) {
      expect(isLoopbackHost(host)).toBe(true);
    }
    for (const host of ['0.0.0.0', '::', '10.0.0.1', '192.168.1.1', 'example.com', '::ffff:10.0.0.1']) {
      expect(isLoopbackHost(host)).toBe(false);
    }
  });

  it('refuses a non-loopback address unless allowNonLoopback is set, naming the flag', async () => {
    const options = { host: '0.0.0.0', port: 0, exports: () => undefined, listExports: () => [] };
    await expect(startNbdServer(options)).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(startNbdServer(options)).rejects.toThrow(/allowNonLoopback/);
  });

  it('rejects bad numeric options', async () => {
    const base = { host: '127.0.0.1', exports: () => undefined, listExports: () => [] };
    await expect(startNbdServer({ ...base, port: 70_000 })).rejects.toThrow(/port/);
    await expect(startNbdServer({ ...base, port: 0, maxInFlightBytesPerConnection: 0 })).rejects.toThrow(
      /maxInFlightBytesPerConnection/,
    );
  });

  it('binds a random port with port 0 and counts connections', async () => {
    const lines: string[] = [];
    const harness = await startHarness([{ name: 'vol', sizeBytes: 1 * MiB }], {
      log: (level, message) => lines.push(`${level} ${message}`),
    });
    try {
      expect(harness.server.address.host).toBe('127.0.0.1');
      expect(harness.server.address.port).toBeGreaterThan(0);
      expect(lines.some((l) => l.includes(`listening on 127.0.0.1:${harness.server.address.port}`))).toBe(
        true,
      );
      const a = await RawNbdClient.connect(harness.server.address.port);
      const b = await RawNbdClient.connect(harness.server.address.port);
      await a.go('vol');
      await b.go('vol');
      expect(harness.server.connections).toBe(2);
      a.disconnect();
      await a.closed();
      b.destroy();
      await eventually(() => harness.server.connections === 0);
    } finally {
      await harness.close();
    }
  });

  it('a throwing logger or export callback does not take the server down', async () => {
    const server = await startNbdServer({
      host: '127.0.0.1',
      port: 0,
      exports: () => {
        throw new Error('lookup exploded');
      },
      listExports: () => {
        throw new Error('list exploded');
      },
      log: () => {
        throw new Error('logger exploded');
      },
    });
    try {
      const c = await RawNbdClient.connect(server.address.port);
      await expect(c.go('x')).rejects.toThrow(/GO failed/);
      c.destroy();
    } finally {
      await server.close();
    }
  });

  it('graceful close finishes in-flight requests, flushes the export, then closes sockets', async () => {
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const harness = await startHarness([
      { name: 'vol', sizeBytes: 1 * MiB, hook: (operation) => (operation === 'write' ? gate : undefined) },
    ]);
    try {
      const c = await RawNbdClient.connect(harness.server.address.port);
      await c.go('vol', { structured: true, blockSize: true });
      const cookie = c.request(NbdCommand.WRITE, 0, 4096, { payload: Buffer.alloc(4096, 9) });
      await sleep(50);
      const exp = harness.exports.get('vol')!;
      const flushesBefore = exp.flushes;
      const closing = harness.server.close({ graceful: true });
      await sleep(50);
      // Still waiting for the write: the reply has not been sent and the socket is open.
      expect(c.socket.destroyed).toBe(false);
      release();
      const reply = await c.readReply();
      expect(reply).toMatchObject({ cookie, error: 0 });
      await closing;
      await c.closed();
      expect(exp.flushes).toBe(flushesBefore + 1);
      // Closed for good: new connections are refused.
      await expect(RawNbdClient.connect(harness.server.address.port)).rejects.toThrow();
    } finally {
      release();
      await harness.close();
    }
  });

  it('graceful close promptly ends idle connections, in the handshake or in transmission', async () => {
    const harness = await startHarness([{ name: 'vol', sizeBytes: 1 * MiB }]);
    try {
      const negotiating = await RawNbdClient.connect(harness.server.address.port);
      await negotiating.greet();
      const idle = await RawNbdClient.connect(harness.server.address.port);
      await idle.go('vol', { structured: true, blockSize: true });
      const started = Date.now();
      await harness.server.close({ graceful: true });
      await Promise.all([negotiating.closed(), idle.closed()]);
      expect(Date.now() - started).toBeLessThan(2_000);
      expect(harness.server.connections).toBe(0);
    } finally {
      await harness.close();
    }
  });

  it('graceful close is bounded by its timeout when the backend hangs', async () => {
    const harness = await startHarness([
      {
        name: 'vol',
        sizeBytes: 1 * MiB,
        hook: (operation) => (operation === 'write' ? new Promise(() => {}) : undefined),
      },
    ]);
    try {
      const c = await RawNbdClient.connect(harness.server.address.port);
      await c.go('vol', { blockSize: true });
      c.request(NbdCommand.WRITE, 0, 512, { payload: Buffer.alloc(512) });
      await sleep(20);
      const started = Date.now();
      await harness.server.close({ graceful: true, timeoutMs: 200 });
      expect(Date.now() - started).toBeLessThan(3_000);
      await c.closed();
    } finally {
      await harness.close();
    }
  });

  it('a connection idle in the handshake is cut off after the handshake timeout', async () => {
    const harness = await startHarness([{ name: 'vol', sizeBytes: 1 * MiB }], { handshakeTimeoutMs: 100 });
    try {
      const c = await RawNbdClient.connect(harness.server.address.port);
      await c.read(18);
      await c.closed();
    } finally {
      await harness.close();
    }
  });
});
