import { execFile } from 'node:child_process';
import { copyFile, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningServer, serve, shadowlog } from '../../support/run-cli.js';
import { haveTools } from '../nbd/nbd-harness.js';

const run = promisify(execFile);
const CHUNK_BYTES = 127 * 512;
const TOOLS = ['qemu-io', 'qemu-img', 'nbdcopy', 'nbdinfo', 'dd'];

/** One extent of `nbdinfo --json --map`. */
interface MapExtent {
  offset: number;
  length: number;
  type: number;
}

/** The chunks a list of writes `[offset, length]` touches, sorted. */
function chunksOf(writes: readonly (readonly [number, number])[]): number[] {
  const out = new Set<number>();
  for (const [offset, length] of writes) {
    for (let c = Math.floor(offset / CHUNK_BYTES); c <= Math.floor((offset + length - 1) / CHUNK_BYTES); c++)
      out.add(c);
  }
  return [...out].sort((a, b) => a - b);
}

async function dirtyExtents(uri: string, bitmap: string): Promise<MapExtent[]> {
  const { stdout } = await run('nbdinfo', ['--json', `--map=qemu:dirty-bitmap:${bitmap}`, uri]);
  return (JSON.parse(stdout) as MapExtent[]).filter((e) => e.type === 1);
}

/** The chunks the dirty extents cover; every extent must start and end on chunk bounds (or the volume's end). */
function chunksIn(extents: readonly MapExtent[]): number[] {
  const out: number[] = [];
  for (const e of extents) {
    expect(e.offset % CHUNK_BYTES).toBe(0);
    for (let at = e.offset; at < e.offset + e.length; at += CHUNK_BYTES) out.push(at / CHUNK_BYTES);
  }
  return out;
}

/** The loop of README "Incremental backup": copy only the dirty extents onto the previous backup. */
async function applyExtents(
  uri: string,
  extents: readonly MapExtent[],
  backup: string,
  dir: string,
): Promise<void> {
  const piece = join(dir, 'extent.raw');
  for (const e of extents) {
    await rm(piece, { force: true });
    // A raw view of just this extent of the export (qemu-img dd cannot skip past its count).
    const url = new URL(uri);
    const file = {
      driver: 'nbd',
      server: { type: 'inet', host: url.hostname, port: url.port },
      export: url.pathname.slice(1),
    };
    const view = JSON.stringify({ driver: 'raw', offset: e.offset, size: e.length, file });
    await run('qemu-img', ['convert', '-O', 'raw', `json:${view}`, piece]);
    await run('dd', [
      `if=${piece}`,
      `of=${backup}`,
      'bs=512',
      `seek=${e.offset / 512}`,
      'conv=notrunc',
      'status=none',
    ]);
  }
}

async function qemuWrite(uri: string, writes: readonly (readonly [number, number, number])[]): Promise<void> {
  const commands = writes.flatMap(([pattern, offset, length]) => [
    '-c',
    `write -P ${pattern} ${offset} ${length}`,
  ]);
  await run('qemu-io', ['-f', 'raw', ...commands, uri]);
}

async function expectSameBytes(a: string, b: string): Promise<void> {
  const [x, y] = await Promise.all([readFile(a), readFile(b)]);
  expect(x.length).toBe(y.length);
  expect(x.equals(y)).toBe(true);
}

describe.runIf(haveTools('incremental backup loop', TOOLS))(
  'incremental backup from checkpoints (real tools)',
  () => {
    let home: string;
    let server: RunningServer | undefined;
    const h = () => ['--home', home];

    beforeAll(async () => {
      home = await mkdtemp(join(tmpdir(), 'shadowlog-backup-'));
      const members = ['a.img', 'b.img'].flatMap((m) => ['--member', join(home, m)]);
      const created = await shadowlog([...h(), 'create', 'DSA1', '--size', '16M', ...members]);
      expect(created.code).toBe(0);
    });

    afterAll(async () => {
      await server?.stop();
      await rm(home, { recursive: true, force: true });
    });

    it('full backup, checkpoint, writes: the bitmap lists exactly the chunks written since, and applying them gives the volume', async () => {
      server = await serve(home, 'DSA1');
      await qemuWrite(server.uri, [[0x11, 0, 4 * 1024 * 1024]]);
      const full = join(home, 'full.raw');
      await run('nbdcopy', [server.uri, full]);
      const created = await shadowlog([...h(), 'checkpoint', 'DSA1', 'b1', '--json']);
      expect(created.code).toBe(0);
      expect(JSON.parse(created.stdout).checkpoint.name).toBe('b1');
      const writes = [
        [0x22, 1024 * 1024, 100 * 1024],
        [0x33, 9 * 1024 * 1024, 512],
        [0x44, 16 * 1024 * 1024 - 64 * 1024, 64 * 1024],
      ] as const;
      await qemuWrite(server.uri, writes);
      const extents = await dirtyExtents(server.uri, 'b1');
      expect(chunksIn(extents)).toEqual(chunksOf(writes.map(([, o, l]) => [o, l] as const)));
      // The position context names the same point as the checkpoint.
      const listed = JSON.parse((await shadowlog([...h(), 'checkpoint', 'list', 'DSA1', '--json'])).stdout);
      const since = await dirtyExtents(server.uri, `since-${listed.checkpoints[0].position}`);
      expect(since).toEqual(extents);

      const incremental = join(home, 'incremental.raw');
      await copyFile(full, incremental);
      await applyExtents(server.uri, extents, incremental, home);
      const now = join(home, 'now.raw');
      await run('nbdcopy', [server.uri, now]);
      await expectSameBytes(incremental, now);
      await rm(now);
    }, 180_000);

    it('the same after kill -9 of the server between checkpoint and backup', async () => {
      const previous = join(home, 'incremental.raw');
      expect((await shadowlog([...h(), 'checkpoint', 'DSA1', 'b2'])).code).toBe(0);
      const writes = [
        [0x55, 3 * 1024 * 1024 + 512, 1024],
        [0x66, 12 * 1024 * 1024, 200 * 1024],
      ] as const;
      await qemuWrite(server!.uri, writes);
      const before = await dirtyExtents(server!.uri, 'b2');
      server!.process.kill('SIGKILL');
      await new Promise((resolve) => server!.process.once('exit', resolve));
      server = await serve(home, 'DSA1');
      const extents = await dirtyExtents(server.uri, 'b2');
      expect(extents).toEqual(before);
      expect(chunksIn(extents)).toEqual(chunksOf(writes.map(([, o, l]) => [o, l] as const)));
      await applyExtents(server.uri, extents, previous, home);
      const now = join(home, 'now.raw');
      await run('nbdcopy', [server.uri, now]);
      await expectSameBytes(previous, now);
    }, 180_000);
  },
);
