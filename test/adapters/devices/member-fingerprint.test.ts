import { copyFile, open, rename, truncate, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createSparseImage, openBlockDevice } from '../../../adapters/devices/file-block-device.js';
import { fingerprintMember, sampledChunks } from '../../../adapters/devices/member-fingerprint.js';
import { InvalidArgumentError } from '../../../domain/errors.js';
import { fingerprintSchema } from '../../../domain/events.js';
import { type Geometry, makeGeometry } from '../../../domain/geometry.js';
import { pattern, useTempDirs } from './temp-dir.js';

describe('sampledChunks', () => {
  it('takes every chunk of a small volume', () => {
    expect(sampledChunks(makeGeometry(127 * 5))).toEqual([0, 1, 2, 3, 4]);
  });

  it('takes first, last and evenly spaced chunks of a large one', () => {
    const chunks = sampledChunks(makeGeometry(127 * 1000), 32);
    expect(chunks).toHaveLength(32);
    expect(chunks[0]).toBe(0);
    expect(chunks.at(-1)).toBe(999);
    const gaps = chunks.slice(1).map((c, i) => c - chunks[i]!);
    expect(Math.max(...gaps) - Math.min(...gaps)).toBeLessThanOrEqual(1);
  });

  it('handles 0 and 1 samples and refuses invalid counts', () => {
    const geometry = makeGeometry(127 * 10);
    expect(sampledChunks(geometry, 0)).toEqual([]);
    expect(sampledChunks(geometry, 1)).toEqual([0]);
    expect(() => sampledChunks(geometry, -1)).toThrow(InvalidArgumentError);
    expect(() => sampledChunks(geometry, 4097)).toThrow(InvalidArgumentError);
    expect(() => sampledChunks(geometry, 2.5)).toThrow(InvalidArgumentError);
  });

  it('always gives min(count, chunks) distinct ascending chunks spanning the volume', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 2_000_000 }),
        fc.integer({ min: 0, max: 4096 }),
        (blocks, count) => {
          const geometry = makeGeometry(blocks, 127);
          const chunks = sampledChunks(geometry, count);
          expect(chunks).toHaveLength(Math.min(count, geometry.chunks));
          const ascendingInVolume = chunks.every(
            (c, i) => c >= 0 && c < geometry.chunks && (i === 0 || c > chunks[i - 1]!),
          );
          expect(ascendingInVolume).toBe(true);
          if (chunks.length >= 2) expect(chunks.at(-1)).toBe(geometry.chunks - 1);
        },
      ),
    );
  });
});

describe('fingerprintMember', () => {
  const tempDir = useTempDirs();
  const SIZE = 8 * 1024 * 1024; // 16384 blocks: 130 chunks of 127, the last clipped
  const geometry: Geometry = makeGeometry(SIZE / 512);
  const FIXED_TIME = 1_700_000_000;

  /** An image with some data on it and a known mtime. */
  async function member(): Promise<string> {
    const path = join(await tempDir(), 'm.img');
    await createSparseImage(path, SIZE);
    const device = await openBlockDevice(path);
    for (let chunk = 0; chunk < geometry.chunks; chunk += 7) {
      await device.write(pattern(4096, chunk), chunk * 127 * 512);
    }
    await device.close();
    await utimes(path, FIXED_TIME, FIXED_TIME);
    return path;
  }

  /** Fingerprint `path` through a freshly opened device. */
  async function fingerprint(path: string, sampleChunks?: number) {
    const device = await openBlockDevice(path, { readOnly: true });
    try {
      return await fingerprintMember(
        device,
        path,
        geometry,
        sampleChunks === undefined ? {} : { sampleChunks },
      );
    } finally {
      await device.close();
    }
  }

  /** Overwrite bytes of the file directly (as an outside program would), then restore the mtime. */
  async function tamper(path: string, offset: number, keepMtime: boolean): Promise<void> {
    const handle = await open(path, 'r+');
    await handle.write(new Uint8Array([0xde, 0xad]), 0, 2, offset);
    await handle.close();
    if (keepMtime) await utimes(path, FIXED_TIME, FIXED_TIME);
  }

  it('describes size, inode, mtime and 32 sampled chunks, valid against the event schema', async () => {
    const path = await member();
    const fp = await fingerprint(path);
    expect(fingerprintSchema.parse(fp)).toEqual(fp);
    expect(fp.sizeBytes).toBe(SIZE);
    expect(fp.inode).toBeGreaterThan(0);
    expect(fp.mtimeMs).toBe(FIXED_TIME * 1000);
    expect(fp.samples.map((s) => s.chunk)).toEqual(sampledChunks(geometry, 32));
    expect(fp.samples.every((s) => /^[0-9a-f]{32}$/.test(s.hash))).toBe(true);
  });

  it('is stable across close and reopen', async () => {
    const path = await member();
    expect(await fingerprint(path)).toEqual(await fingerprint(path));
  });

  it('changes the sample when a sampled chunk changes, even with the mtime put back', async () => {
    const path = await member();
    const before = await fingerprint(path);
    const target = sampledChunks(geometry)[5]!;
    await tamper(path, target * 127 * 512 + 1000, true);
    const after = await fingerprint(path);
    expect(after.mtimeMs).toBe(before.mtimeMs);
    const changed = after.samples.filter((s, i) => s.hash !== before.samples[i]!.hash).map((s) => s.chunk);
    expect(changed).toEqual([target]);
  });

  it('hashes the clipped last chunk', async () => {
    const path = await member();
    const before = await fingerprint(path);
    await tamper(path, SIZE - 512, true);
    const after = await fingerprint(path);
    expect(after.samples.at(-1)!.chunk).toBe(geometry.chunks - 1);
    expect(after.samples.at(-1)!.hash).not.toBe(before.samples.at(-1)!.hash);
  });

  it('changes the mtime when the file is written, even where no chunk is sampled', async () => {
    const path = await member();
    const before = await fingerprint(path);
    const sampled = new Set(sampledChunks(geometry));
    const unsampled = [...Array(geometry.chunks).keys()].find((c) => !sampled.has(c))!;
    await tamper(path, unsampled * 127 * 512, false);
    const after = await fingerprint(path);
    expect(after.mtimeMs).not.toBe(before.mtimeMs);
    expect(after.samples).toEqual(before.samples);
  });

  it('changes the mtime on touch alone', async () => {
    const path = await member();
    const before = await fingerprint(path);
    await utimes(path, FIXED_TIME, FIXED_TIME + 1.5);
    const after = await fingerprint(path);
    expect(after.mtimeMs).toBe((FIXED_TIME + 1.5) * 1000);
    expect({ ...after, mtimeMs: 0 }).toEqual({ ...before, mtimeMs: 0 });
  });

  it('changes the inode when the image is replaced by a copy', async () => {
    const path = await member();
    const before = await fingerprint(path);
    await copyFile(path, `${path}.copy`);
    await rename(`${path}.copy`, path);
    await utimes(path, FIXED_TIME, FIXED_TIME);
    const after = await fingerprint(path);
    expect(after.inode).not.toBe(before.inode);
    expect(after.samples).toEqual(before.samples);
  });

  it('fingerprints a member smaller than the volume instead of failing', async () => {
    const path = await member();
    const before = await fingerprint(path);
    await truncate(path, SIZE / 2);
    const device = await openBlockDevice(path, { readOnly: true });
    const after = await fingerprintMember(device, path, geometry);
    await device.close();
    expect(after.sizeBytes).toBe(SIZE / 2);
    expect(after.samples.at(-1)!.hash).not.toBe(before.samples.at(-1)!.hash);
    expect(after.samples[0]).toEqual(before.samples[0]);
  });

  it('honours sampleChunks and maxSampleBytes', async () => {
    const path = await member();
    expect((await fingerprint(path, 4)).samples.map((s) => s.chunk)).toEqual(sampledChunks(geometry, 4));
    expect((await fingerprint(path, 0)).samples).toEqual([]);

    // With only the first block of each chunk hashed, a change further in goes unseen.
    const device = await openBlockDevice(path, { readOnly: true });
    const headOnly = () => fingerprintMember(device, path, geometry, { maxSampleBytes: 512 });
    const before = await headOnly();
    await tamper(path, 2048, true);
    expect(await headOnly()).toEqual(before);
    await tamper(path, 0, true);
    expect((await headOnly()).samples[0]!.hash).not.toBe(before.samples[0]!.hash);
    await expect(fingerprintMember(device, path, geometry, { maxSampleBytes: 100 })).rejects.toBeInstanceOf(
      InvalidArgumentError,
    );
    await device.close();
  });
});
