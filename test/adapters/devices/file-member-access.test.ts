import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createSparseImage } from '../../../adapters/devices/file-block-device.js';
import { FileMemberAccess } from '../../../adapters/devices/file-member-access.js';
import { InvalidArgumentError } from '../../../domain/errors.js';
import { makeGeometry } from '../../../domain/geometry.js';
import { useTempDirs } from './temp-dir.js';

describe('FileMemberAccess', () => {
  const tempDir = useTempDirs();

  it('opens members at the set size and fingerprints them', async () => {
    const path = join(await tempDir(), 'm.img');
    await createSparseImage(path, 127 * 512 * 10);
    const access = new FileMemberAccess({ sampleChunks: 3 });
    await expect(access.open(path, 512)).rejects.toBeInstanceOf(InvalidArgumentError);
    const device = await access.open(path, 127 * 512 * 10);
    const fingerprint = await access.fingerprint(path, device, makeGeometry(127 * 10));
    expect(fingerprint.sizeBytes).toBe(127 * 512 * 10);
    expect(fingerprint.samples.map((s) => s.chunk)).toEqual([0, 5, 9]);
    await device.close();
  });
});
