import { describe, expect, it } from 'vitest';
import { NbdCommand } from '../../../adapters/nbd/nbd-constants.js';
import { startHarness } from './nbd-harness.js';
import { RawNbdClient } from './raw-nbd-client.js';

/**
 * Issue 11, item 8: the NBD server's limits with real sockets. Idle connections cannot lock new
 * clients out, idle connections go away after a timeout (never one with a request in flight),
 * and the bytes in flight are bounded over all connections, not only per connection.
 */
const MiB = 1024 * 1024;
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** A hook that holds every backend operation until `release()`. */
function gate() {
  let open!: () => void;
  let opened = new Promise<void>((r) => {
    open = r;
  });
  let held = 0;
  return {
    hook: async () => {
      held++;
      await opened;
    },
    get held() {
      return held;
    },
    release() {
      open();
      opened = Promise.resolve();
    },
  };
}

/** Resolves true when the client's socket closes within `ms`, false otherwise. */
function closesWithin(client: RawNbdClient, ms: number): Promise<boolean> {
  return Promise.race([client.closed().then(() => true), sleep(ms).then(() => false)]);
}

describe('NBD server limits (real sockets)', () => {
  it('300 idle connections do not lock out a new client; a busy connection is never cut', async () => {
    const busy = gate();
    const harness = await startHarness([
      { name: 'vol', sizeBytes: 4 * MiB },
      { name: 'held', sizeBytes: 4 * MiB, hook: () => busy.hook() },
    ]);
    const port = harness.server.address.port;
    const idle: RawNbdClient[] = [];
    try {
      const worker = await RawNbdClient.connect(port);
      await worker.go('held', { structured: true });
      const cookie = worker.request(NbdCommand.READ, 0, 4096);
      // Bounded: the read reaches the held backend quickly.
      for (let i = 0; i < 500 && busy.held === 0; i++) await sleep(10);
      expect(busy.held).toBe(1);
      for (let i = 0; i < 300; i++) {
        const c = await RawNbdClient.connect(port);
        idle.push(c);
        // Some stay in the handshake, the rest finish it and sit idle.
        if (i % 3 !== 0) await c.go('vol', { structured: true }).catch(() => undefined);
      }
      const fresh = await RawNbdClient.connect(port);
      await fresh.go('vol', { structured: true });
      expect(await fresh.errorOf(NbdCommand.WRITE, 0, 4096, { payload: Buffer.alloc(4096, 7) })).toBe(0);
      expect((await fresh.readData(0, 4096)).equals(Buffer.alloc(4096, 7))).toBe(true);
      fresh.destroy();
      // At most the cap is served at once; the oldest idle ones were cut to make room.
      expect(harness.server.connections).toBeLessThanOrEqual(256);
      expect(harness.server.capped.evictions).toBeGreaterThanOrEqual(300 + 1 - 256);
      expect(harness.server.capped.refusals).toBe(0);
      // The busy connection survived all of it and gets its reply.
      expect(worker.socket.destroyed).toBe(false);
      busy.release();
      const reply = await worker.readReply();
      expect(reply.cookie).toBe(cookie);
      expect(reply.error).toBe(0);
      worker.destroy();
    } finally {
      for (const c of idle) c.destroy();
      busy.release();
      await harness.close();
    }
  }, 120_000);

  it('closes connections idle in the handshake and after it, never one with a request in flight', async () => {
    const slow = gate();
    const harness = await startHarness(
      [
        { name: 'vol', sizeBytes: 1 * MiB },
        { name: 'held', sizeBytes: 1 * MiB, hook: () => slow.hook() },
      ],
      { handshakeTimeoutMs: 300, idleTimeoutMs: 300 },
    );
    const port = harness.server.address.port;
    try {
      const handshaking = await RawNbdClient.connect(port);
      const idle = await RawNbdClient.connect(port);
      await idle.go('vol', { structured: true });
      const working = await RawNbdClient.connect(port);
      await working.go('held', { structured: true });
      working.request(NbdCommand.READ, 0, 4096);
      // Bounded waits, far above the timeouts: a connection that is never closed fails them.
      expect(await closesWithin(handshaking, 10_000)).toBe(true);
      expect(await closesWithin(idle, 10_000)).toBe(true);
      // Several idle timeouts with the read held: still open, and it gets its reply.
      expect(await closesWithin(working, 1_500)).toBe(false);
      slow.release();
      expect((await working.readReply()).error).toBe(0);
      // Idle now: closed after the timeout.
      expect(await closesWithin(working, 10_000)).toBe(true);
    } finally {
      slow.release();
      await harness.close();
    }
  }, 60_000);

  it('many connections pipelining large reads stay under the total in-flight bound', async () => {
    const total = 48 * MiB;
    const readBytes = 4 * MiB;
    const harness = await startHarness(
      [{ name: 'vol', sizeBytes: 64 * MiB, hook: () => sleep(5).then(() => undefined) }],
      { maxInFlightBytes: total },
    );
    const port = harness.server.address.port;
    const clients: RawNbdClient[] = [];
    try {
      for (let i = 0; i < 8; i++) {
        const c = await RawNbdClient.connect(port);
        await c.go('vol', { structured: true });
        clients.push(c);
      }
      // Each connection asks for 64 MiB at once (its own bound); together 512 MiB.
      const perClient = 16;
      await Promise.all(
        clients.map(async (c, k) => {
          for (let i = 0; i < perClient; i++)
            c.request(NbdCommand.READ, ((k + i) % 16) * readBytes, readBytes);
          for (let i = 0; i < perClient; i++) {
            // Bounded: each reply is one data chunk with DONE.
            const reply = await c.readReply();
            expect(reply.error).toBe(0);
          }
        }),
      );
      expect(harness.server.peakInFlightBytes).toBeLessThanOrEqual(total);
      expect(harness.server.peakInFlightBytes).toBeGreaterThan(total / 2);
      expect(harness.server.inFlightBytes).toBe(0);
    } finally {
      for (const c of clients) c.destroy();
      await harness.close();
    }
  }, 120_000);

  it('a request the total bound keeps waiting too long is answered ENOMEM, and the connection goes on', async () => {
    const held = gate();
    const harness = await startHarness([{ name: 'vol', sizeBytes: 8 * MiB, hook: () => held.hook() }], {
      maxInFlightBytes: 2 * MiB,
      budgetWaitMs: 200,
    });
    const port = harness.server.address.port;
    try {
      const hog = await RawNbdClient.connect(port);
      await hog.go('vol', { structured: true });
      hog.request(NbdCommand.READ, 0, 2 * MiB - 4096);
      for (let i = 0; i < 500 && held.held === 0; i++) await sleep(10);
      const other = await RawNbdClient.connect(port);
      await other.go('vol', { structured: true });
      const refused = await other.call(NbdCommand.WRITE, 0, 1 * MiB, { payload: Buffer.alloc(MiB, 1) });
      expect(refused.find((m) => m.error !== 0)?.error).toBe(12);
      held.release();
      expect((await hog.readReply()).error).toBe(0);
      // The refused write's payload was consumed: the connection is in step.
      expect(await other.errorOf(NbdCommand.WRITE, 0, 4096, { payload: Buffer.alloc(4096, 2) })).toBe(0);
      hog.destroy();
      other.destroy();
    } finally {
      held.release();
      await harness.close();
    }
  }, 60_000);
});
