import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect } from 'vitest';

/**
 * A fresh directory under the OS temp dir for each test that asks for one, removed after the
 * test whatever its outcome, so failed runs leave no images behind.
 */
export function useTempDirs(): () => Promise<string> {
  const made: string[] = [];
  afterEach(async () => {
    await Promise.all(made.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
  });
  return async () => {
    const dir = await mkdtemp(join(tmpdir(), 'shadowlog-devices-'));
    made.push(dir);
    return dir;
  };
}

/** Bytes `0..length-1` filled from a small seed, so every test write is distinguishable. */
export function pattern(length: number, seed: number): Uint8Array {
  const bytes = new Uint8Array(length);
  for (let i = 0; i < length; i++) bytes[i] = (seed * 31 + i * 7 + (i >> 9)) & 0xff;
  return bytes;
}

/**
 * Compare bytes with Buffer.equals: vitest's deep equality walks big typed arrays element by
 * element and takes seconds on a MiB; on mismatch, the first differing offset is reported.
 */
export function expectSameBytes(actual: Uint8Array, expected: Uint8Array): void {
  if (Buffer.from(actual.buffer, actual.byteOffset, actual.byteLength).equals(expected)) return;
  const firstDiff = actual.findIndex((byte, i) => byte !== expected[i]);
  expect.fail(
    `bytes differ: lengths ${actual.length}/${expected.length}, first difference at offset ${firstDiff}`,
  );
}
