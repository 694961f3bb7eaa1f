import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FileMemberAccess } from '../../../adapters/devices/file-member-access.js';
import { createSparseImage } from '../../../adapters/devices/sparse-image.js';
import { startSetNbdServer } from '../../../adapters/nbd/shadow-set-export.js';
import { type EmbeddedEventStore, openEmbeddedStore } from '../../../adapters/store/embedded/index.js';
import { VirtualUnit } from '../../../processes/virtual-unit.js';
import { haveTools, run } from './nbd-harness.js';

const MiB = 1024 * 1024;
const SIZE = 16 * MiB;
const CHUNK_BLOCKS = 128; // 64 KiB chunks
const tools = haveTools('base:allocation with nbdinfo', ['qemu-io', 'nbdinfo']);

interface MapEntry {
  offset: number;
  length: number;
  type: number;
}

describe.runIf(tools)('base:allocation of a shadow set (nbdinfo --map)', () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  async function serve(options: { createdFresh?: boolean[]; assumeClean?: boolean }): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), 'shadowlog-nbd-alloc-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const paths = [join(dir, 'm1.img'), join(dir, 'm2.img')];
    for (const p of paths) await createSparseImage(p, SIZE);
    const store: EmbeddedEventStore = await openEmbeddedStore(join(dir, 'log'), { streamId: 'DSA1' });
    cleanups.push(() => store.close());
    const access = new FileMemberAccess();
    await VirtualUnit.create(store, access, {
      setId: 'DSA1',
      blocks: SIZE / 512,
      chunkBlocks: CHUNK_BLOCKS,
      memberPaths: paths,
      ...options,
    });
    const unit = await VirtualUnit.open({ store, access });
    cleanups.push(() => unit.close());
    const server = await startSetNbdServer(unit, 'DSA1', { host: '127.0.0.1', port: 0 });
    cleanups.push(() => server.close());
    return `nbd://127.0.0.1:${server.address.port}/DSA1`;
  }

  async function map(uri: string): Promise<MapEntry[]> {
    const { stdout } = await run('nbdinfo', ['--map', '--json', uri]);
    return JSON.parse(stdout) as MapEntry[];
  }

  it('reports never-written and whole-trimmed chunks as hole+zero, the rest as data', async () => {
    const uri = await serve({ createdFresh: [true, true] });
    await run('qemu-io', [
      '-f',
      'raw',
      '-c',
      'write -P 0x11 1M 1M',
      '-c',
      'write -P 0x22 8M 512k',
      '-c',
      'discard 8M 256k',
      '-c',
      'write -z 1M 100k', // partial chunk at its end: that chunk stays data
      uri,
    ]);
    const entries = await map(uri);
    const data = entries.filter((e) => e.type === 0).map((e) => [e.offset, e.length]);
    expect(data).toEqual([
      [1 * MiB + 64 * 1024, MiB - 64 * 1024],
      [8 * MiB + 256 * 1024, 256 * 1024],
    ]);
    for (const e of entries.filter((x) => x.type !== 0)) expect(e.type).toBe(3);
    const covered = entries.reduce((sum, e) => sum + e.length, 0);
    expect(covered).toBe(SIZE);
  }, 60_000);

  it('reports all data when the set was created with --assume-clean', async () => {
    const uri = await serve({ assumeClean: true });
    await run('qemu-io', ['-f', 'raw', '-c', 'write -P 0x11 1M 64k', uri]);
    expect(await map(uri)).toEqual([{ offset: 0, length: SIZE, type: 0, description: 'data' }]);
  }, 60_000);
});
