import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHUNK_BYTES } from './file-export.js';
import { type Harness, haveTools, run, startHarness } from './nbd-harness.js';

const MiB = 1024 * 1024;
const TOOLS = ['qemu-io', 'qemu-img', 'nbdinfo', 'nbdcopy', 'fio'];
const available = haveTools('NBD real-client tests', TOOLS);

/** A test image: random data with a zero gap, so sparse-aware copiers take their zero paths too. */
function makeImage(sizeBytes: number): Buffer {
  const image = randomBytes(sizeBytes);
  image.fill(0, sizeBytes / 4, sizeBytes / 2);
  return image;
}

describe.skipIf(!available)('NBD server with real clients', () => {
  let harness: Harness;

  beforeAll(async () => {
    harness = await startHarness([
      { name: 'qio', sizeBytes: 4 * MiB },
      { name: 'convert', sizeBytes: 8 * MiB },
      { name: 'copy', sizeBytes: 16 * MiB },
      { name: 'info', sizeBytes: 16 * MiB, bitmapMember: 'm2', description: 'shadow set DSA1' },
      { name: 'ro', sizeBytes: 1 * MiB, readOnly: true },
      { name: 'fio', sizeBytes: 32 * MiB },
    ]);
  });

  afterAll(async () => {
    await harness?.close();
  });

  const backing = (name: string) => readFile(join(harness.dir, `${name}.img`));

  it('qemu-io writes, reads, zeroes and discards, and the backing file shows it', async () => {
    await run('qemu-io', [
      '-f',
      'raw',
      '-c',
      'write -P 0xab 0 64k',
      '-c',
      'read -P 0xab 0 64k',
      '-c',
      'write -P 0xcd 64k 64k',
      '-c',
      'write -z 64k 32k',
      '-c',
      'read -P 0 64k 32k',
      '-c',
      'read -P 0xcd 96k 32k',
      '-c',
      'write -P 0xee 1m 128k',
      '-c',
      'discard 1m 128k',
      '-c',
      'flush',
      harness.uri('qio'),
    ]);
    const file = await backing('qio');
    expect(file.subarray(0, 64 * 1024).every((b) => b === 0xab)).toBe(true);
    expect(file.subarray(64 * 1024, 96 * 1024).every((b) => b === 0)).toBe(true);
    expect(file.subarray(96 * 1024, 128 * 1024).every((b) => b === 0xcd)).toBe(true);
    // The test backend implements discard by zeroing; the protocol only promises "unspecified".
    expect(file.subarray(1 * MiB, 1 * MiB + 128 * 1024).every((b) => b === 0)).toBe(true);
    // qemu-io's read -P fails the command (non-zero exit) when the pattern does not match.
    await expect(
      run('qemu-io', ['-f', 'raw', '-c', 'read -P 0x77 0 4k', harness.uri('qio')]),
    ).rejects.toThrow();
  });

  it('qemu-img convert copies an image in and back out byte-identical', async () => {
    const image = makeImage(8 * MiB);
    const source = join(harness.dir, 'source.raw');
    const back = join(harness.dir, 'back.raw');
    await writeFile(source, image);
    await run('qemu-img', ['convert', '-n', '-f', 'raw', '-O', 'raw', source, harness.uri('convert')]);
    expect((await backing('convert')).equals(image)).toBe(true);
    await run('qemu-img', ['convert', '-f', 'raw', '-O', 'raw', harness.uri('convert'), back]);
    expect((await readFile(back)).equals(image)).toBe(true);
  });

  it('nbdcopy round-trips over 4 connections', async () => {
    const image = makeImage(16 * MiB);
    const source = join(harness.dir, 'copy-source.raw');
    const back = join(harness.dir, 'copy-back.raw');
    await writeFile(source, image);
    await run('nbdcopy', ['--connections=4', source, harness.uri('copy')]);
    expect((await backing('copy')).equals(image)).toBe(true);
    await run('nbdcopy', ['--connections=4', harness.uri('copy'), back]);
    expect((await readFile(back)).equals(image)).toBe(true);
  });

  it('nbdinfo reports size, flags, block sizes and contexts', async () => {
    const { stdout } = await run('nbdinfo', ['--json', harness.uri('info')]);
    const info = JSON.parse(stdout) as {
      protocol: string;
      structured: boolean;
      exports: Record<string, unknown>[];
    };
    expect(info.protocol).toBe('newstyle-fixed');
    expect(info.structured).toBe(true);
    const exp = info.exports[0]!;
    expect(exp).toMatchObject({
      'export-name': 'info',
      description: 'shadow set DSA1',
      'export-size': 16 * MiB,
      is_read_only: false,
      can_flush: true,
      can_fua: true,
      can_multi_conn: true,
      can_trim: true,
      can_zero: true,
      can_df: true,
      block_size_minimum: 512,
      block_size_preferred: 4096,
      block_size_maximum: 32 * MiB,
    });
    expect(exp.contexts).toEqual(['base:allocation', 'qemu:dirty-bitmap:m2']);
    const ro = JSON.parse((await run('nbdinfo', ['--json', harness.uri('ro')])).stdout) as typeof info;
    expect(ro.exports[0]).toMatchObject({ is_read_only: true });
  });

  it('nbdinfo --list lists every export with its description', async () => {
    const { stdout } = await run('nbdinfo', [
      '--list',
      '--json',
      `nbd://127.0.0.1:${harness.server.address.port}`,
    ]);
    const list = JSON.parse(stdout) as { exports: Array<{ 'export-name': string; description?: string }> };
    const names = list.exports.map((e) => e['export-name']).sort();
    expect(names).toEqual(['convert', 'copy', 'fio', 'info', 'qio', 'ro']);
    expect(list.exports.find((e) => e['export-name'] === 'info')?.description).toBe('shadow set DSA1');
  });

  it('nbdinfo --map shows base:allocation as data and the dirty bitmap chunk by chunk', async () => {
    const exp = harness.exports.get('info')!;
    exp.dirtyChunks.clear();
    for (const chunk of [0, 3, 4, 100, 257]) exp.dirtyChunks.add(chunk);
    const base = JSON.parse((await run('nbdinfo', ['--map', '--json', harness.uri('info')])).stdout);
    expect(base).toEqual([{ offset: 0, length: 16 * MiB, type: 0, description: 'data' }]);
    const { stdout } = await run('nbdinfo', ['--map=qemu:dirty-bitmap:m2', '--json', harness.uri('info')]);
    const extents = JSON.parse(stdout) as Array<{ offset: number; length: number; type: number }>;
    const dirty = new Set<number>();
    let covered = 0;
    for (const extent of extents) {
      expect(extent.offset).toBe(covered);
      covered += extent.length;
      if (extent.type === 1) {
        expect(extent.offset % CHUNK_BYTES).toBe(0);
        for (
          let c = extent.offset / CHUNK_BYTES;
          c < Math.ceil((extent.offset + extent.length) / CHUNK_BYTES);
          c++
        ) {
          dirty.add(c);
        }
      }
    }
    expect(covered).toBe(16 * MiB);
    expect([...dirty].sort((a, b) => a - b)).toEqual([0, 3, 4, 100, 257]);
  });

  it('a read-only export refuses qemu-io writes', async () => {
    await expect(run('qemu-io', ['-f', 'raw', '-c', 'write -P 1 0 4k', harness.uri('ro')])).rejects.toThrow();
    await run('qemu-io', ['-f', 'raw', '-r', '-c', 'read -P 0 0 4k', harness.uri('ro')]);
  });

  it('fio randwrite QD16 with crc32c verify finds no errors', async () => {
    const { stdout } = await run('fio', [
      '--name=verify',
      '--ioengine=nbd',
      `--uri=${harness.uri('fio')}`,
      '--rw=randwrite',
      '--bs=4k',
      '--iodepth=16',
      '--size=32M',
      '--verify=crc32c',
      '--verify_fatal=1',
      '--verify_state_save=0',
      '--output-format=json',
    ]);
    const report = JSON.parse(stdout.slice(stdout.indexOf('{'))) as {
      jobs: Array<{ error: number; write: { io_bytes: number }; read: { io_bytes: number } }>;
    };
    const job = report.jobs[0]!;
    expect(job.error).toBe(0);
    expect(job.write.io_bytes).toBe(32 * MiB);
    // The verify phase reads everything back.
    expect(job.read.io_bytes).toBe(32 * MiB);
  });
});
