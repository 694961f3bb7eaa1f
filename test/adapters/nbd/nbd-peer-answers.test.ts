import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FileMemberAccess } from '../../../adapters/devices/file-member-access.js';
import { createSparseImage } from '../../../adapters/devices/sparse-image.js';
import { NbdCommand, NbdErrno } from '../../../adapters/nbd/nbd-constants.js';
import { startSetNbdServer } from '../../../adapters/nbd/shadow-set-export.js';
import { type EmbeddedEventStore, openEmbeddedStore } from '../../../adapters/store/embedded/index.js';
import { VirtualUnit } from '../../../processes/virtual-unit.js';
import { haveTools } from './nbd-harness.js';
import { RawNbdClient } from './raw-nbd-client.js';

/** Issue 14, "NBD answers that match the peers": NBD_CMD_CACHE unadvertised, vanished contexts. */
const SIZE = 8 * 1024 * 1024;
const BLOCK_STATUS_CHUNK = 5;
const haveNbdkit = haveTools('NBD peer answers (nbdkit reference)', ['nbdkit']);

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Connect, retrying while nbdkit starts (bounded). */
async function connectWhenUp(port: number): Promise<RawNbdClient> {
  for (let attempt = 0; attempt < 100; attempt++) {
    try {
      return await RawNbdClient.connect(port);
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new Error(`nothing listens on ${port}`);
}

/** Descriptors of one BLOCK_STATUS chunk: [length, flags] pairs by context id. */
function extentsByContext(messages: { type: number; data: Buffer }[]): Map<number, [number, number][]> {
  const out = new Map<number, [number, number][]>();
  for (const m of messages.filter((x) => x.type === BLOCK_STATUS_CHUNK)) {
    const pairs: [number, number][] = [];
    for (let at = 4; at < m.data.length; at += 8)
      pairs.push([m.data.readUInt32BE(at), m.data.readUInt32BE(at + 4)]);
    out.set(m.data.readUInt32BE(0), pairs);
  }
  return out;
}

describe('NBD answers that match the peers', () => {
  let dir: string;
  let store: EmbeddedEventStore;
  let unit: VirtualUnit;
  let server: Awaited<ReturnType<typeof startSetNbdServer>>;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'shadowlog-nbd-peer-'));
    const paths = [join(dir, 'm1.img'), join(dir, 'm2.img')];
    for (const p of paths) await createSparseImage(p, SIZE);
    store = await openEmbeddedStore(join(dir, 'log'), { streamId: 'DSA1' });
    const access = new FileMemberAccess();
    await VirtualUnit.create(store, access, { setId: 'DSA1', blocks: SIZE / 512, memberPaths: paths });
    unit = await VirtualUnit.open({ store, access });
    server = await startSetNbdServer(unit, 'DSA1', { host: '127.0.0.1', port: 0 });
  });

  afterEach(async () => {
    await server.close();
    await unit.close();
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('qemu:dirty-bitmap:m2 answers one clean extent once m2 has returned; base:allocation as usual', async () => {
    await unit.dismount('m2', 'minicopy');
    await unit.write(0, Buffer.alloc(4096, 7), { fua: false });
    const c = await RawNbdClient.connect(server.address.port);
    const session = await c.go('DSA1', {
      structured: true,
      contexts: ['base:allocation', 'qemu:dirty-bitmap:m2'],
    });
    const baseId = session.contextIds.get('base:allocation')!;
    const m2Id = session.contextIds.get('qemu:dirty-bitmap:m2')!;
    const before = await c.call(NbdCommand.BLOCK_STATUS, 0, 1024 * 1024);
    expect(before.every((m) => m.error === 0)).toBe(true);
    expect(extentsByContext(before).get(m2Id)![0]![1] & 1).toBe(1);

    const handle = await unit.mount('m2', 'minicopy');
    await handle.done;
    const after = await c.call(NbdCommand.BLOCK_STATUS, 0, 1024 * 1024);
    expect(after.filter((m) => m.error !== 0)).toEqual([]);
    const extents = extentsByContext(after);
    expect(extents.get(m2Id)).toEqual([[1024 * 1024, 0]]);
    expect(extents.get(baseId)!.reduce((n, [length]) => n + length, 0)).toBe(1024 * 1024);
    c.destroy();
  }, 60_000);

  it('NBD_CMD_CACHE (can_cache not advertised) is EINVAL and the connection goes on', async () => {
    const c = await RawNbdClient.connect(server.address.port);
    const session = await c.go('DSA1', { structured: true });
    expect(session.flags & (1 << 10)).toBe(0);
    expect(await c.errorOf(NbdCommand.CACHE, 0, 4096)).toBe(NbdErrno.EINVAL);
    expect(await c.errorOf(NbdCommand.READ, 0, 4096)).toBe(0);
    c.destroy();
  }, 30_000);

  it.runIf(haveNbdkit)(
    'nbdkit memory with cachemode=none, the reference, answers an unadvertised CACHE the same way',
    async () => {
      const port = await freePort();
      const nbdkit = spawn(
        'nbdkit',
        ['-f', '-i', '127.0.0.1', '-p', String(port), '--filter=nocache', 'memory', '8M', 'cachemode=none'],
        {
          stdio: 'ignore',
        },
      );
      try {
        const c = await connectWhenUp(port);
        const session = await c.go('', { structured: true });
        if ((session.flags & (1 << 10)) !== 0) throw new Error('this nbdkit advertises can_cache for memory');
        expect(await c.errorOf(NbdCommand.CACHE, 0, 4096)).toBe(NbdErrno.EINVAL);
        c.destroy();
      } finally {
        nbdkit.kill('SIGTERM');
      }
    },
    30_000,
  );
});
