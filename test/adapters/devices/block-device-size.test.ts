import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { open, readFile, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  decodeDevT,
  probeSizeByReading,
  sysfsBlockDeviceSize,
} from '../../../adapters/devices/block-device-size.js';
import {
  createSparseImage,
  openBlockDevice,
  statMember,
} from '../../../adapters/devices/file-block-device.js';
import { fingerprintMember } from '../../../adapters/devices/member-fingerprint.js';
import { InvalidArgumentError } from '../../../domain/errors.js';
import { makeGeometry } from '../../../domain/geometry.js';
import { expectSameBytes, pattern, useTempDirs } from './temp-dir.js';

/** glibc's makedev, to build dev_t values for the decoder. */
function makedev(major: number, minor: number): bigint {
  const ma = BigInt(major);
  const mi = BigInt(minor);
  return ((ma & 0xfffn) << 8n) | ((ma & ~0xfffn) << 32n) | (mi & 0xffn) | ((mi & ~0xffn) << 12n);
}

describe('decodeDevT', () => {
  it.each([
    [7, 0],
    [8, 17],
    [259, 1],
    [8, 300],
    [5000, 1_048_575],
    [4095, 255],
  ])('decodes major %i minor %i', (major, minor) => {
    expect(decodeDevT(makedev(major, minor))).toEqual({ major, minor });
  });
});

describe('block device sizing without a block device', () => {
  const tempDir = useTempDirs();

  it('gives null when sysfs has no entry', async () => {
    expect(await sysfsBlockDeviceSize(makedev(7, 0), '/nonexistent-sysfs')).toBeNull();
  });

  it('probes the size of a whole-block file by reading', async () => {
    const path = join(await tempDir(), 'p.img');
    for (const size of [0, 512, 3 * 512, 1_000_448, 8 * 1024 * 1024]) {
      const handle = await open(path, 'w+');
      await handle.truncate(size);
      expect(await probeSizeByReading(handle, path)).toBe(size);
      await handle.close();
    }
  });
});

/** Attach a loop device to `file`, or return why that is impossible here. */
function attachLoop(file: string): { device: string } | { reason: string } {
  if (process.platform !== 'linux') return { reason: 'not Linux' };
  if (process.getuid?.() !== 0) return { reason: 'not running as root' };
  try {
    const device = execFileSync('losetup', ['--find', '--show', file], { encoding: 'utf8' }).trim();
    return device.startsWith('/dev/') ? { device } : { reason: `losetup printed ${device}` };
  } catch (error) {
    return { reason: `losetup failed: ${(error as Error).message.split('\n')[0]}` };
  }
}

describe('openBlockDevice on a Linux block device (loop device)', () => {
  const LOOP_BYTES = 4 * 1024 * 1024 + 512 * 5; // odd block count, to catch rounding
  let dir = '';
  let backing = '';
  let loop: { device: string } | { reason: string } = { reason: 'not set up' };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'shadowlog-loop-'));
    backing = join(dir, 'backing.img');
    await createSparseImage(backing, LOOP_BYTES);
    loop = attachLoop(backing);
    if ('reason' in loop) console.warn(`skipping loop-device tests: ${loop.reason}`);
  });

  afterAll(() => {
    if ('device' in loop) execFileSync('losetup', ['--detach', loop.device]);
    rmSync(dir, { recursive: true, force: true });
  });

  /** The loop device path, or skip the test saying why. */
  function loopDevice(skip: (note?: string) => never): string {
    if ('reason' in loop) return skip(loop.reason);
    return loop.device;
  }

  it('finds the size from sysfs and agrees with the read probe', async ({ skip }) => {
    const device = loopDevice(skip);
    const st = await stat(device, { bigint: true });
    expect(st.isBlockDevice()).toBe(true);
    expect(await sysfsBlockDeviceSize(st.rdev)).toBe(LOOP_BYTES);
    const handle = await open(device, 'r');
    expect(await probeSizeByReading(handle, device)).toBe(LOOP_BYTES);
    await handle.close();
  });

  it('stats the member as a block device without inode or mtime', async ({ skip }) => {
    const device = loopDevice(skip);
    expect(await statMember(device)).toEqual({
      sizeBytes: LOOP_BYTES,
      inode: null,
      mtimeMs: null,
      isBlockDevice: true,
    });
  });

  it('opens, round-trips, flushes to the backing file, and refuses a wrong expected size', async ({
    skip,
  }) => {
    const path = loopDevice(skip);
    const error = await openBlockDevice(path, { expectedSizeBytes: LOOP_BYTES + 512 }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect((error as Error).message).toContain('use a block device of exactly');

    const device = await openBlockDevice(path, { expectedSizeBytes: LOOP_BYTES });
    expect(device.isBlockDevice).toBe(true);
    expect(device.size()).toBe(LOOP_BYTES);
    const data = pattern(8192, 5);
    await device.write(data, LOOP_BYTES - 8192);
    await device.flush();
    const back = new Uint8Array(8192);
    await device.read(back, LOOP_BYTES - 8192);
    expectSameBytes(back, data);

    const fingerprint = await fingerprintMember(device, path, makeGeometry(LOOP_BYTES / 512));
    expect(fingerprint.inode).toBeNull();
    expect(fingerprint.mtimeMs).toBeNull();
    expect(fingerprint.sizeBytes).toBe(LOOP_BYTES);
    await device.close();

    const file = await readFile(backing);
    expectSameBytes(file.subarray(LOOP_BYTES - 8192), data);
  });
});
