import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FileMemberAccess } from '../../../adapters/devices/file-member-access.js';
import { createSparseImage } from '../../../adapters/devices/sparse-image.js';
import { startSetNbdServer } from '../../../adapters/nbd/shadow-set-export.js';
import { type EmbeddedEventStore, openEmbeddedStore } from '../../../adapters/store/embedded/index.js';
import { VirtualUnit } from '../../../processes/virtual-unit.js';
import { differingBlocks } from '../../support/memory-members.js';
import { haveTools, run } from './nbd-harness.js';

/**
 * The real engine behind the NBD server, driven by the real clients: every write goes through
 * the log to both member files, and the dirty-bitmap context is the projected write bitmap.
 */
const SIZE = 32 * 1024 * 1024;
const tools = haveTools('shadow set over NBD', ['qemu-io', 'qemu-img', 'nbdinfo', 'nbdcopy', 'fio']);

describe.runIf(tools)('shadow set over NBD (real clients)', () => {
  let dir: string;
  let store: EmbeddedEventStore;
  let unit: VirtualUnit;
  let server: Awaited<ReturnType<typeof startSetNbdServer>>;
  let uri: string;
  let paths: string[];

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'shadowlog-nbd-set-'));
    paths = [join(dir, 'm1.img'), join(dir, 'm2.img')];
    for (const p of paths) await createSparseImage(p, SIZE);
    store = await openEmbeddedStore(join(dir, 'log'), { streamId: 'DSA1' });
    const access = new FileMemberAccess();
    await VirtualUnit.create(store, access, { setId: 'DSA1', blocks: SIZE / 512, memberPaths: paths });
    unit = await VirtualUnit.open({ store, access });
    server = await startSetNbdServer(unit, 'DSA1', { host: '127.0.0.1', port: 0 });
    uri = `nbd://127.0.0.1:${server.address.port}/DSA1`;
  });

  afterEach(async () => {
    await server.close();
    await unit.close();
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  async function membersIdentical(): Promise<void> {
    await unit.flush();
    const [a, b] = await Promise.all(paths.map((p) => readFile(p)));
    expect(differingBlocks(a!, b!)).toEqual([]);
  }

  it('qemu-io patterns, write -z and discard land on both members, each write logged', async () => {
    await run('qemu-io', [
      '-f',
      'raw',
      '-c',
      'write -P 0xab 0 64k',
      '-c',
      'write -P 0xcd 1M 4k',
      '-c',
      'write -z 16k 8k',
      '-c',
      'discard 1M 4k',
      uri,
    ]);
    await run('qemu-io', [
      '-f',
      'raw',
      '-c',
      'read -P 0xab 0 16k',
      '-c',
      'read -P 0 16k 8k',
      '-c',
      'read -P 0xab 24k 40k',
      uri,
    ]);
    for (const p of paths) {
      const bytes = await readFile(p);
      expect(bytes.subarray(0, 16384).every((x) => x === 0xab)).toBe(true);
      expect(bytes.subarray(16384, 24576).every((x) => x === 0)).toBe(true);
      expect(bytes.subarray(24576, 65536).every((x) => x === 0xab)).toBe(true);
    }
    await membersIdentical();
    const types = new Set<string>();
    for await (const batch of store.read(0)) for (const r of batch) types.add(r.event.type);
    expect(types).toEqual(
      new Set(['ShadowSetCreated', 'BlocksWritten', 'ZeroesWritten', 'BlocksTrimmed', 'MembersSynced']),
    );
  });

  it('discard and write -z punch holes in both member images (allocated size drops)', async () => {
    await run('qemu-io', ['-f', 'raw', '-c', 'write -P 0x5a 0 8M', uri]);
    await unit.flush();
    const before = await Promise.all(paths.map(async (p) => (await stat(p)).blocks * 512));
    for (const bytes of before) expect(bytes).toBeGreaterThanOrEqual(8 * 1024 * 1024);
    await run('qemu-io', ['-f', 'raw', '-c', 'discard 0 4M', '-c', 'write -z 4M 2M', uri]);
    await unit.flush();
    for (const [i, p] of paths.entries()) {
      const after = (await stat(p)).blocks * 512;
      // 6 MiB freed on each member, with slack for file-system metadata.
      expect(after).toBeLessThanOrEqual(before[i]! - 6 * 1024 * 1024 + 256 * 1024);
    }
    await run('qemu-io', ['-f', 'raw', '-c', 'read -P 0 0 6M', '-c', 'read -P 0x5a 6M 2M', uri]);
    await membersIdentical();
  }, 60_000);

  it('qemu-img convert into the export and back out is byte-identical', async () => {
    const image = join(dir, 'in.raw');
    const data = Buffer.alloc(SIZE);
    for (let i = 0; i < SIZE; i += 4096) data.writeUInt32LE((i * 2654435761) >>> 0, i);
    await writeFile(image, data);
    await run('qemu-img', ['convert', '-n', '-f', 'raw', '-O', 'raw', image, uri]);
    const out = join(dir, 'out.raw');
    await run('qemu-img', ['convert', '-f', 'raw', '-O', 'raw', uri, out]);
    expect(Buffer.compare(await readFile(out), data)).toBe(0);
    await membersIdentical();
  });

  it('nbdcopy round trip with 4 connections', async () => {
    const image = join(dir, 'in.raw');
    const data = Buffer.alloc(SIZE, 0x17);
    data.fill(0x99, 5 * 1024 * 1024, 6 * 1024 * 1024);
    await writeFile(image, data);
    await run('nbdcopy', ['--connections=4', image, uri]);
    const out = join(dir, 'out.raw');
    await run('nbdcopy', ['--connections=4', uri, out]);
    expect(Buffer.compare(await readFile(out), data)).toBe(0);
    await membersIdentical();
  });

  it('nbdinfo shows the size, flags and exactly the chunks marked after a minicopy dismount', async () => {
    const info = JSON.parse((await run('nbdinfo', ['--json', uri])).stdout) as {
      exports: {
        'export-size': number;
        can_multi_conn: boolean;
        can_fua: boolean;
        can_flush: boolean;
        can_trim: boolean;
        can_zero: boolean;
      }[];
    };
    expect(info.exports[0]).toMatchObject({
      'export-size': SIZE,
      can_multi_conn: true,
      can_fua: true,
      can_flush: true,
      can_trim: true,
      can_zero: true,
    });
    expect((await run('nbdinfo', ['--list', `nbd://127.0.0.1:${server.address.port}`])).stdout).toContain(
      'DSA1',
    );
    await unit.dismount('m2', 'minicopy');
    const chunk = 127 * 512;
    // Chunk 3, chunks 10-11 (a write across the boundary) and chunk 200.
    await run('qemu-io', [
      '-f',
      'raw',
      '-c',
      `write -P 1 ${3 * chunk + 512} 4k`,
      '-c',
      `write -P 2 ${11 * chunk - 1024} 2k`,
      '-c',
      `write -P 3 ${200 * chunk} 512`,
      uri,
    ]);
    const contexts = JSON.parse((await run('nbdinfo', ['--json', uri])).stdout) as {
      exports: { contexts: string[] }[];
    };
    expect(contexts.exports[0]!.contexts).toEqual(
      expect.arrayContaining(['base:allocation', 'qemu:dirty-bitmap:m2']),
    );
    const map = (await run('nbdinfo', ['--map=qemu:dirty-bitmap:m2', '--json', uri])).stdout;
    const extents = JSON.parse(map) as { offset: number; length: number; type: number }[];
    const dirty = extents.filter((e) => (e.type & 1) === 1).map((e) => [e.offset / chunk, e.length / chunk]);
    expect(dirty).toEqual([
      [3, 1],
      [10, 2],
      [200, 1],
    ]);
    const base = JSON.parse((await run('nbdinfo', ['--map', '--json', uri])).stdout) as {
      length: number;
      type: number;
    }[];
    expect(base.reduce((n, e) => n + e.length, 0)).toBe(SIZE);
    expect(base.every((e) => e.type === 0)).toBe(true);
    const handle = await unit.mount('m2', 'minicopy');
    expect((await handle.done).chunksCopied).toBe(4);
    await membersIdentical();
  });

  it('fio with the nbd engine and verify=crc32c: no verify errors', async () => {
    const result = await run('fio', [
      '--name=verify',
      '--ioengine=nbd',
      `--uri=${uri}`,
      '--rw=randwrite',
      '--bs=4k',
      '--iodepth=16',
      '--size=16M',
      '--verify=crc32c',
      '--do_verify=1',
      '--verify_state_save=0',
      '--output-format=json',
    ]);
    const report = JSON.parse(result.stdout.slice(result.stdout.indexOf('{'))) as {
      jobs: { error: number }[];
    };
    expect(report.jobs[0]!.error).toBe(0);
    await membersIdentical();
  });
});
