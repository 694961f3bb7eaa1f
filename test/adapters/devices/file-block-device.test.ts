import { execFileSync } from 'node:child_process';
import { stat, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  createSparseImage,
  type FileBlockDevice,
  openBlockDevice,
  statMember,
} from '../../../adapters/devices/file-block-device.js';
import { InvalidArgumentError, IoError, NotFoundError, OutOfRangeError } from '../../../domain/errors.js';
import { expectSameBytes, pattern, useTempDirs } from './temp-dir.js';

const MiB = 1024 * 1024;

describe('createSparseImage', () => {
  const tempDir = useTempDirs();

  it('creates a sparse file of the asked size that uses almost no disk', async () => {
    const path = join(await tempDir(), 'a.img');
    expect(await createSparseImage(path, 64 * MiB)).toBe(true);
    const st = await stat(path);
    expect(st.size).toBe(64 * MiB);
    // st_blocks counts 512-byte units actually allocated: a sparse image has (nearly) none.
    expect(st.blocks * 512).toBeLessThan(64 * 1024);
    expect(st.mode & 0o777).toBe(0o600);
  });

  it('keeps an existing image of the same size untouched', async () => {
    const path = join(await tempDir(), 'a.img');
    await createSparseImage(path, MiB);
    const device = await openBlockDevice(path);
    await device.write(pattern(512, 1), 0);
    await device.close();
    expect(await createSparseImage(path, MiB)).toBe(false);
    const again = await openBlockDevice(path);
    const back = new Uint8Array(512);
    await again.read(back, 0);
    await again.close();
    expect(back).toEqual(pattern(512, 1));
  });

  it('refuses an existing file of another size, naming both sizes', async () => {
    const path = join(await tempDir(), 'a.img');
    await createSparseImage(path, MiB);
    const error = await createSparseImage(path, 2 * MiB).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect((error as Error).message).toContain(path);
    expect((error as Error).message).toContain(String(MiB));
    expect((error as Error).message).toContain(String(2 * MiB));
    expect((await stat(path)).size).toBe(MiB);
  });

  it('does not create a missing parent directory and says so', async () => {
    const dir = join(await tempDir(), 'missing');
    const error = await createSparseImage(join(dir, 'a.img'), MiB).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NotFoundError);
    expect((error as Error).message).toContain(`mkdir -p ${dir}`);
  });

  it('refuses to create over a directory', async () => {
    const dir = await tempDir();
    await expect(createSparseImage(dir, MiB)).rejects.toThrow(/a directory/);
  });

  it.each([0, -512, 1000, 1.5, Number.NaN])('refuses size %s', async (size) => {
    const path = join(await tempDir(), 'a.img');
    await expect(createSparseImage(path, size)).rejects.toBeInstanceOf(InvalidArgumentError);
  });
});

describe('statMember', () => {
  const tempDir = useTempDirs();

  it('reports size, inode and mtime of an image file', async () => {
    const path = join(await tempDir(), 'a.img');
    await createSparseImage(path, MiB);
    const st = await stat(path, { bigint: true });
    const member = await statMember(path);
    expect(member).toEqual({
      sizeBytes: MiB,
      inode: Number(st.ino),
      mtimeMs: Number(st.mtimeNs / 1000n) / 1000,
      isBlockDevice: false,
    });
  });

  it('refuses a character device, a named pipe (without blocking) and a path through a file', async () => {
    const dir = await tempDir();
    const devNull = await statMember('/dev/null').catch((e: unknown) => e);
    expect(devNull).toBeInstanceOf(InvalidArgumentError);
    expect((devNull as Error).message).toContain('a character device');
    const fifo = join(dir, 'fifo');
    execFileSync('mkfifo', [fifo]);
    await expect(statMember(fifo)).rejects.toThrow(/a named pipe/);
    await expect(openBlockDevice(fifo)).rejects.toThrow(/a named pipe/);
    await writeFile(join(dir, 'file'), '');
    await expect(statMember(join(dir, 'file', 'x'))).rejects.toBeInstanceOf(NotFoundError);
  });

  it('refuses a missing path and a directory', async () => {
    const dir = await tempDir();
    await expect(statMember(join(dir, 'nope'))).rejects.toBeInstanceOf(NotFoundError);
    const error = await statMember(dir).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect((error as Error).message).toContain('a directory');
  });
});

describe('openBlockDevice on an image file', () => {
  const tempDir = useTempDirs();

  async function image(size = MiB): Promise<FileBlockDevice> {
    const path = join(await tempDir(), 'm.img');
    await createSparseImage(path, size);
    return openBlockDevice(path, { expectedSizeBytes: size });
  }

  it('exposes path, name, size and kind', async () => {
    const device = await image();
    expect(device.path).toMatch(/m\.img$/);
    expect(device.name).toBe(device.path);
    expect(device.size()).toBe(MiB);
    expect(device.isBlockDevice).toBe(false);
    expect(device.readOnly).toBe(false);
    await device.close();
  });

  it.each([
    [0, 512],
    [512, 512],
    [4096, 8192],
    [MiB - 512, 512],
    [MiB - 128 * 1024, 128 * 1024],
    [0, MiB],
  ])('round-trips at offset %i, length %i', async (offset, length) => {
    const device = await image();
    const data = pattern(length, offset / 512 + 1);
    await device.write(data, offset);
    const back = new Uint8Array(length);
    await device.read(back, offset);
    expectSameBytes(back, data);
    await device.close();
  });

  it('persists across reopen, and unwritten blocks read as zeroes', async () => {
    const device = await image();
    await device.write(pattern(1024, 9), 2048);
    await device.flush();
    await device.close();
    const again = await openBlockDevice(device.path, { readOnly: true });
    const back = new Uint8Array(4096);
    await again.read(back, 0);
    expect(back.subarray(2048, 3072)).toEqual(pattern(1024, 9));
    expect(back.subarray(0, 2048).every((b) => b === 0)).toBe(true);
    await again.close();
  });

  it('runs concurrent writes to distinct ranges correctly', async () => {
    const device = await image();
    await Promise.all(Array.from({ length: 32 }, (_, i) => device.write(pattern(4096, i), i * 4096)));
    for (let i = 0; i < 32; i++) {
      const back = new Uint8Array(4096);
      await device.read(back, i * 4096);
      expect(back).toEqual(pattern(4096, i));
    }
    await device.close();
  });

  it('flushes (fdatasync) without error', async () => {
    const device = await image();
    await device.write(pattern(512, 3), 0);
    await expect(device.flush()).resolves.toBeUndefined();
    await device.close();
  });

  it('refuses unaligned offsets and lengths with InvalidArgumentError', async () => {
    const device = await image();
    await expect(device.read(new Uint8Array(512), 100)).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(device.write(new Uint8Array(100), 0)).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(device.write(new Uint8Array(512), 0.5)).rejects.toBeInstanceOf(InvalidArgumentError);
    await device.close();
  });

  it('refuses ranges outside the device with OutOfRangeError naming the path', async () => {
    const device = await image();
    const error = await device.read(new Uint8Array(1024), MiB - 512).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OutOfRangeError);
    expect((error as Error).message).toContain(device.path);
    await expect(device.write(new Uint8Array(512), MiB)).rejects.toBeInstanceOf(OutOfRangeError);
    await expect(device.write(new Uint8Array(512), -512)).rejects.toBeInstanceOf(OutOfRangeError);
    // A zero-length access at the very end is a harmless no-op.
    await expect(device.read(new Uint8Array(0), MiB)).resolves.toBeUndefined();
    await device.close();
  });

  it('reports a read that hits end of file (member shrank) as IoError', async () => {
    const device = await image();
    await truncate(device.path, MiB / 2);
    const error = await device.read(new Uint8Array(4096), MiB - 4096).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(IoError);
    expect((error as Error).message).toContain('shrank');
    await device.close();
  });

  it('refuses a member of the wrong size, naming the path, both sizes and the fix', async () => {
    const path = join(await tempDir(), 'm.img');
    await createSparseImage(path, MiB);
    const error = await openBlockDevice(path, { expectedSizeBytes: 2 * MiB }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidArgumentError);
    const message = (error as Error).message;
    expect(message).toContain(path);
    expect(message).toContain(`${MiB} bytes`);
    expect(message).toContain(`${2 * MiB} bytes`);
    expect(message).toContain(`truncate -s ${2 * MiB}`);
  });

  it('refuses a file that is not whole blocks', async () => {
    const path = join(await tempDir(), 'odd.img');
    await writeFile(path, new Uint8Array(1000));
    const error = await openBlockDevice(path).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect((error as Error).message).toContain('truncate -s 1024');
  });

  it('refuses a missing path, a directory and a bad expected size', async () => {
    const dir = await tempDir();
    await expect(openBlockDevice(join(dir, 'none.img'))).rejects.toBeInstanceOf(NotFoundError);
    await expect(openBlockDevice(dir)).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(openBlockDevice(dir, { expectedSizeBytes: -1 })).rejects.toBeInstanceOf(
      InvalidArgumentError,
    );
  });

  it('refuses writes when read-only', async () => {
    const path = join(await tempDir(), 'm.img');
    await createSparseImage(path, MiB);
    const device = await openBlockDevice(path, { readOnly: true });
    const error = await device.write(new Uint8Array(512), 0).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(IoError);
    expect((error as Error).message).toContain('read-only');
    await device.close();
  });

  it('closes idempotently, after operations in flight, and refuses later operations', async () => {
    const device = await image();
    const writes = Array.from({ length: 8 }, (_, i) => device.write(pattern(65536, i), i * 65536));
    const first = device.close();
    const second = device.close();
    await Promise.all([...writes, first, second]);
    await expect(device.close()).resolves.toBeUndefined();
    await expect(device.read(new Uint8Array(512), 0)).rejects.toBeInstanceOf(IoError);
    await expect(device.flush()).rejects.toBeInstanceOf(IoError);
    const again = await openBlockDevice(device.path);
    const back = new Uint8Array(65536);
    await again.read(back, 7 * 65536);
    expect(back).toEqual(pattern(65536, 7));
    await again.close();
  });
});
