import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { appendFile, mkdir, readdir, readFile, rm, statfs, truncate, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { checkLog, openEmbeddedStore, SEAL_FRAME_BYTES } from '../../../adapters/store/embedded/index.js';
import { LogCorruptError } from '../../../domain/errors.js';
import type { ShadowEvent } from '../../../domain/events.js';
import { numberedWrite } from '../../fixtures/sample-events.js';
import { readEvents, tempDir } from './embedded-test-support.js';

/**
 * The zero tail (zero-fill-ahead.ts, docs/log-format.md "Zero tail"): the writer keeps the
 * active segment zero-filled ahead of its data; readers take an all-zero tail after the last
 * seal as the end. Damage stays damage, a torn batch stays torn, sealed segments have none.
 */

const STEP = 64 * 1024;
const writerScript = fileURLToPath(new URL('../../fixtures/zero-tail-writer.ts', import.meta.url));

/** True when `buf` is longer than `dataEnd` and every byte after it is zero. */
function hasZeroTail(buf: Buffer, dataEnd: number): boolean {
  return buf.length > dataEnd && buf.subarray(dataEnd).every((b) => b === 0);
}

/** Wait (bounded) until `check` holds. */
async function waitFor(check: () => Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 600; i++) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** A log of `count` events in one segment, closed (no zero tail); returns its segment's path. */
async function closedLog(dir: string, count: number): Promise<{ segment: string; events: ShadowEvent[] }> {
  const store = await openEmbeddedStore(dir, { streamId: 'ZT', zeroAheadBytes: STEP });
  const events = Array.from({ length: count }, (_, i) => numberedWrite(i));
  for (const e of events) await store.append([e]);
  await store.close();
  const name = (await readdir(dir)).find((n) => n.endsWith('.seg'))!;
  return { segment: path.join(dir, name), events };
}

describe('embedded log zero tail', () => {
  it('the writer zero-fills ahead; the tail is data-free, cut at close and at every roll', async () => {
    const { dir, remove } = await tempDir();
    try {
      const store = await openEmbeddedStore(dir, {
        streamId: 'ZT',
        zeroAheadBytes: STEP,
        segmentBytes: 256 * 1024,
      });
      for (let i = 0; i < 5; i++) await store.append([numberedWrite(i)]);
      const active = () => path.join(dir, store.segments().at(-1)!.name);
      await waitFor(
        async () => (await readFile(active())).length > store.segments().at(-1)!.bytes,
        'a zero fill',
      );
      const buf = await readFile(active());
      const dataEnd = store.segments().at(-1)!.bytes;
      expect(hasZeroTail(buf, dataEnd)).toBe(true);
      expect(buf.length).toBeLessThanOrEqual(256 * 1024);
      // The store's counters show the extension that made the tail.
      await waitFor(async () => store.stats.zeroFill.extensions >= 1, 'the extension counted');
      expect(store.stats.zeroFill.failedExtensions).toBe(0);
      // Another reader sees the data, and the zero tail as the end.
      const reader = await openEmbeddedStore(dir, { readOnly: true });
      expect(reader.recovery).toMatchObject({ truncated: false, damagedAt: null });
      expect((await readEvents(reader)).length).toBe(5);
      await reader.close();
      expect((await checkLog(dir)).tornTail).toBeNull();
      // Many rolls: every sealed segment ends with its last seal, no zeros after it.
      const big = Array.from({ length: 200 }, (_, i) => numberedWrite(i));
      for (let i = 0; i < 120; i++) await store.append(big);
      expect(store.segments().length).toBeGreaterThanOrEqual(3);
      for (const s of store.segments().filter((x) => x.sealed)) {
        const bytes = await readFile(path.join(dir, s.name));
        expect(bytes.length).toBe(s.bytes);
      }
      const lastBytes = store.segments().at(-1)!.bytes;
      const lastPath = active();
      await store.close();
      expect((await readFile(lastPath)).length).toBe(lastBytes);
      const report = await checkLog(dir);
      expect(report.ok).toBe(true);
      expect(report.records).toBe(5 + 120 * 200);
    } finally {
      await remove();
    }
  }, 60_000);

  it('a torn batch followed by zero fill is torn: cut back to the last seal', async () => {
    const { dir, remove } = await tempDir();
    try {
      const { segment, events } = await closedLog(dir, 6);
      const size = (await readFile(segment)).length;
      // The last batch lost its seal and its record's last bytes; the zero fill follows.
      await truncate(segment, size - SEAL_FRAME_BYTES - 10);
      await appendFile(segment, Buffer.alloc(3 * STEP));
      const reader = await openEmbeddedStore(dir, { readOnly: true });
      expect(reader.recovery).toMatchObject({ truncated: true, recordsDropped: 1 });
      await reader.close();
      const store = await openEmbeddedStore(dir, { streamId: 'ZT', zeroAheadBytes: STEP });
      expect(store.recovery).toMatchObject({ truncated: true, recordsDropped: 1 });
      expect((await readEvents(store)).map((r) => r.event)).toEqual(events.slice(0, -1));
      expect(await store.append([numberedWrite(99)])).toBe(5);
      await store.close();
      expect((await checkLog(dir)).ok).toBe(true);
    } finally {
      await remove();
    }
  }, 60_000);

  it('a flipped byte before the zero tail is still corruption, in an old batch or the last one', async () => {
    const { dir, remove } = await tempDir();
    try {
      const { segment } = await closedLog(dir, 6);
      const original = await readFile(segment);
      // 300: inside the first record; size - SEAL - 20: inside the last record, its seal intact.
      for (const offset of [300, original.length - SEAL_FRAME_BYTES - 20]) {
        const damaged = Buffer.concat([original, Buffer.alloc(2 * STEP)]);
        damaged[offset]! ^= 0x10;
        await writeFile(segment, damaged);
        await expect(openEmbeddedStore(dir, { streamId: 'ZT' }), `offset ${offset}`).rejects.toThrow(
          LogCorruptError,
        );
        const reader = await openEmbeddedStore(dir, { readOnly: true });
        expect(reader.recovery.damagedAt, `offset ${offset}`).not.toBeNull();
        expect(reader.recovery.truncated).toBe(false);
        await reader.close();
        expect((await checkLog(dir)).ok, `offset ${offset}`).toBe(false);
        expect((await readFile(segment)).length).toBe(damaged.length);
      }
    } finally {
      await remove();
    }
  }, 60_000);

  it('a reader in this process follows a writer in another across its zero tail', async () => {
    const { dir, remove } = await tempDir();
    let child: ChildProcess | null = null;
    try {
      const count = 300;
      child = spawn(process.execPath, ['--import', 'tsx', writerScript, dir, String(count)], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      let out = '';
      child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
        out += chunk;
      });
      await waitFor(async () => out.includes('done') || child!.exitCode !== null, 'the writer');
      expect(out).toContain('done');
      const name = (await readdir(dir)).find((n) => n.endsWith('.seg'))!;
      const reader = await openEmbeddedStore(dir, { readOnly: true });
      const dataEnd = reader.segments().at(-1)!.bytes;
      expect(hasZeroTail(await readFile(path.join(dir, name)), dataEnd)).toBe(true);
      expect(reader.recovery.truncated).toBe(false);
      const seen = await readEvents(reader);
      expect(seen.map((r) => r.event)).toEqual(Array.from({ length: count }, (_, i) => numberedWrite(i)));
      await reader.close();
      expect((await checkLog(dir)).tornTail).toBeNull();
    } finally {
      child?.kill('SIGKILL');
      await remove();
    }
  }, 120_000);

  const isRoot = process.getuid?.() === 0;
  if (!isRoot) console.log('zero-tail full-disk test skipped: mounting a tmpfs needs root');
  it.skipIf(!isRoot)(
    'a full disk stops extending, not appending; nothing acknowledged is lost',
    async () => {
      const { dir: base, remove } = await tempDir('shadowlog-zt-enospc-');
      const mount = path.join(base, 'disk');
      await mkdir(mount);
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1M', 'tmpfs', mount]);
      try {
        const dir = path.join(mount, 'log');
        // Steps larger than the disk: every extension hits ENOSPC.
        const store = await openEmbeddedStore(dir, { streamId: 'ZT', zeroAheadBytes: 4 * 1024 * 1024 });
        const acked = new Map<number, ShadowEvent>();
        let failure: unknown = null;
        for (let i = 0; i < 100_000 && failure === null; i++) {
          const event = numberedWrite(i);
          await store.append([event]).then(
            (p) => acked.set(p, event),
            (error: unknown) => {
              failure = error;
            },
          );
          if (i === 10) expect(store.health()).toEqual({ status: 'ok' });
        }
        expect((failure as Error | null)?.message).toMatch(/no space left on device/);
        expect(acked.size).toBeGreaterThan(1000);
        const { bavail } = await statfs(mount);
        expect(bavail).toBeLessThan(16);
        await store.close();
        const again = await openEmbeddedStore(dir, { streamId: 'ZT', readOnly: true });
        expect(again.recovery.truncated).toBe(false);
        const events = await readEvents(again);
        await again.close();
        expect(events.length).toBe(acked.size);
        for (const r of events) expect(r.event).toEqual(acked.get(r.position));
        expect((await checkLog(dir)).ok).toBe(true);
      } finally {
        execFileSync('umount', ['-l', mount]);
        await rm(base, { recursive: true, force: true });
        await remove();
      }
    },
    120_000,
  );
});
