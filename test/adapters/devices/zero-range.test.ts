import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createSparseImage, openBlockDevice } from '../../../adapters/devices/file-block-device.js';
import { IoError } from '../../../domain/errors.js';
import { expectSameBytes, pattern } from './temp-dir.js';

const MiB = 1024 * 1024;

// The OS temp dir is ext4 here; /dev/shm is tmpfs. Both punch holes, so stat.blocks must drop.
const roots: Array<{ fs: string; root: string }> = [
  { fs: 'ext4 (os temp dir)', root: tmpdir() },
  { fs: 'tmpfs (/dev/shm)', root: '/dev/shm' },
];

const made: string[] = [];
afterEach(async () => {
  await Promise.all(made.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

async function imageIn(root: string): Promise<string> {
  const dir = await mkdtemp(join(root, 'shadowlog-zero-range-'));
  made.push(dir);
  const path = join(dir, 'm.img');
  await createSparseImage(path, 8 * MiB);
  return path;
}

describe.each(roots)('FileBlockDevice.zeroRange on $fs', ({ root }) => {
  it('punches a hole: the range reads as zeroes and its blocks are freed', { timeout: 30_000 }, async () => {
    const path = await imageIn(root);
    const device = await openBlockDevice(path);
    try {
      const data = pattern(4 * MiB, 3);
      await device.write(data, 0);
      await device.flush();
      const before = (await stat(path)).blocks * 512;
      expect(before).toBeGreaterThanOrEqual(4 * MiB);
      await device.zeroRange(MiB, 2 * MiB);
      await device.flush();
      const after = (await stat(path)).blocks * 512;
      // 2 MiB freed; a few KiB of slack for file-system metadata blocks.
      expect(after).toBeLessThanOrEqual(before - 2 * MiB + 64 * 1024);
      expect((await stat(path)).size).toBe(8 * MiB);
      const back = new Uint8Array(4 * MiB);
      await device.read(back, 0);
      const expected = data.slice();
      expected.fill(0, MiB, 3 * MiB);
      expectSameBytes(back, expected);
    } finally {
      await device.close();
    }
  });

  it('zeroes a partial-page range exactly (the file system zeroes the unaligned edges)', {
    timeout: 30_000,
  }, async () => {
    const path = await imageIn(root);
    const device = await openBlockDevice(path);
    try {
      const data = pattern(64 * 1024, 9);
      await device.write(data, 0);
      await device.zeroRange(512, 1536);
      const back = new Uint8Array(data.length);
      await device.read(back, 0);
      const expected = data.slice();
      expected.fill(0, 512, 2048);
      expectSameBytes(back, expected);
    } finally {
      await device.close();
    }
  });
});

describe('FileBlockDevice.zeroRange refusals', () => {
  it('refuses a read-only device and a range past the end', { timeout: 30_000 }, async () => {
    const path = await imageIn(tmpdir());
    const readOnly = await openBlockDevice(path, { readOnly: true });
    await expect(readOnly.zeroRange(0, 512)).rejects.toBeInstanceOf(IoError);
    await readOnly.close();
    const device = await openBlockDevice(path);
    await expect(device.zeroRange(8 * MiB - 512, 1024)).rejects.toThrow(/8388608|past|beyond|end/);
    await device.close();
  });
});
