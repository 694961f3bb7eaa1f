import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { SnapshotStore, type SnapshotWarning } from '../../../adapters/store/embedded/index.js';
import { tempDir } from './embedded-test-support.js';

const body = (n: number) => Uint8Array.from({ length: 100 + n }, (_, i) => (i * 31 + n) & 0xff);

describe('SnapshotStore', () => {
  it('saves and loads the newest snapshot at or below a position, keeping the last few', async () => {
    const { dir, remove } = await tempDir();
    try {
      const store = new SnapshotStore(dir, { keep: 3 });
      expect(await store.loadLatest(1000)).toBeNull();
      for (const position of [10, 20, 30, 40, 50]) await store.save(position, body(position));
      expect(await store.list()).toEqual([30, 40, 50]);
      expect(await store.loadLatest(1000)).toEqual({ position: 50, bytes: body(50) });
      expect(await store.loadLatest(49)).toEqual({ position: 40, bytes: body(40) });
      expect(await store.loadLatest(30)).toEqual({ position: 30, bytes: body(30) });
      expect(await store.loadLatest(29)).toBeNull();
      await store.save(40, body(41));
      expect(await store.loadLatest(45)).toEqual({ position: 40, bytes: body(41) });
      expect((await readdir(dir)).some((n) => n.endsWith('.tmp'))).toBe(false);
      expect(store.warnings).toEqual([]);
    } finally {
      await remove();
    }
  });

  it('concurrent saves all land', async () => {
    const { dir, remove } = await tempDir();
    try {
      const store = new SnapshotStore(dir, { keep: 10 });
      await Promise.all([1, 2, 3, 4, 5].map((p) => store.save(p, body(p))));
      expect(await store.list()).toEqual([1, 2, 3, 4, 5]);
    } finally {
      await remove();
    }
  });

  it('skips and reports a corrupt snapshot, using the older good one', async () => {
    const { dir, remove } = await tempDir();
    try {
      const seen: SnapshotWarning[] = [];
      const store = new SnapshotStore(dir, { keep: 5, onWarning: (w) => seen.push(w) });
      await store.save(100, body(100));
      await store.save(200, body(200));
      const newest = path.join(dir, (await readdir(dir)).sort().at(-1)!);
      const pristine = await readFile(newest);
      // Every single-byte change, header or body, is caught.
      for (let offset = 0; offset < pristine.length; offset++) {
        const damaged = Buffer.from(pristine);
        damaged[offset] = damaged[offset]! ^ 0x01;
        await writeFile(newest, damaged);
        expect(await store.loadLatest(500), `byte ${offset}`).toEqual({ position: 100, bytes: body(100) });
      }
      expect(seen).toHaveLength(pristine.length);
      expect(seen[0]).toMatchObject({ file: newest, position: 200 });
      expect(store.warnings.length).toBeLessThanOrEqual(100);
      await writeFile(newest, pristine.subarray(0, 20));
      expect(await store.loadLatest(500)).toEqual({ position: 100, bytes: body(100) });
      expect(seen.at(-1)!.reason).toMatch(/truncated/);
    } finally {
      await remove();
    }
  });

  it('refuses bad arguments', async () => {
    const { dir, remove } = await tempDir();
    try {
      const store = new SnapshotStore(dir);
      await expect(store.save(-1, body(1))).rejects.toThrow(/position/);
      await expect(store.loadLatest(1.5)).rejects.toThrow(/maxPosition/);
      expect(() => new SnapshotStore(dir, { keep: 0 })).toThrow(/keep/);
    } finally {
      await remove();
    }
  });
});
