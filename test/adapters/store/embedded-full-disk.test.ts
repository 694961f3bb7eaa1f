import { execFileSync } from 'node:child_process';
import { mkdir, rm, statfs, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkLog, openEmbeddedStore } from '../../../adapters/store/embedded/index.js';
import { IoError } from '../../../domain/errors.js';
import type { ShadowEvent } from '../../../domain/events.js';
import { numberedWrite } from '../../fixtures/sample-events.js';
import { readEvents, tempDir } from './embedded-test-support.js';

/**
 * Item 3 of issue 11 (store side), on a real full disk: the log on a 2 MiB tmpfs, filled up by
 * concurrent appenders and a filler file. Appends fail fast with an IoError naming the
 * segment and "no space left on device"; the store reports itself degraded; once space is
 * freed appends succeed again without a reopen; a reopen finds every acknowledged event and
 * nothing else. Needs root (mount); skipped, saying so, otherwise.
 */

const isRoot = process.getuid?.() === 0;
const APPENDERS = 32;

/** Fill the file system of `mount` with `filePath` until `leaveBytes` are free. */
async function fillUp(mount: string, filePath: string, leaveBytes: number): Promise<void> {
  const { bavail, bsize } = await statfs(mount);
  await writeFile(filePath, Buffer.alloc(Math.max(0, bavail * bsize - leaveBytes), 1));
}

// One write in flight (the default) and a window of four: a failure then meets writes still
// in flight, none of which may be published after it.
describe.each([1, 4])('embedded log on a full disk, %i write(s) in flight', (writesInFlight) => {
  if (!isRoot) console.log('full-disk test skipped: mounting a tmpfs needs root');
  it.skipIf(!isRoot)(
    'rejects appends fast while the disk is full, heals when space is freed, loses nothing acknowledged',
    async () => {
      const { dir: base, remove } = await tempDir('shadowlog-enospc-');
      const mount = path.join(base, 'disk');
      await mkdir(mount);
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2M', 'tmpfs', mount]);
      try {
        const dir = path.join(mount, 'log');
        const store = await openEmbeddedStore(dir, {
          streamId: 'FULL',
          segmentBytes: 16 * 1024,
          maxWritesInFlight: writesInFlight,
          // Several batches per round of the 32 appenders, so a window fills.
          maxBatchBytes: writesInFlight > 1 ? 256 : undefined,
        });
        // Leave 48 KiB: the appenders below fill the rest, across segment rolls.
        await fillUp(mount, path.join(mount, 'filler'), 48 * 1024);
        const acked = new Map<number, ShadowEvent>();
        const failures: unknown[] = [];
        let next = 0;
        await Promise.all(
          Array.from({ length: APPENDERS }, async () => {
            // Each appender stops at its first failure; bounded by the free space.
            for (let k = 0; k < 100_000; k++) {
              const event = numberedWrite(next++);
              try {
                acked.set(await store.append([event]), event);
              } catch (error) {
                failures.push(error);
                return;
              }
            }
          }),
        );
        expect(failures).toHaveLength(APPENDERS);
        for (const error of failures) {
          expect(error).toBeInstanceOf(IoError);
          expect((error as Error).message).toMatch(/no space left on device/);
          expect((error as Error).message).toContain(dir);
          expect((error as Error).message).toMatch(/nothing acknowledged was lost/);
        }
        expect(store.health()).toMatchObject({
          status: 'degraded',
          reason: expect.stringMatching(/no space/),
        });
        // Still full: appends keep failing, each on its own, without waiting for anything (an
        // append that fits the last partly used page may still succeed: that is acknowledged).
        let stillFull: unknown = null;
        for (let k = 0; k < 10_000 && stillFull === null; k++) {
          const event = numberedWrite(next++);
          await store.append([event]).then(
            (p) => acked.set(p, event),
            (error: unknown) => {
              stillFull = error;
            },
          );
        }
        expect((stillFull as Error | null)?.message).toMatch(/no space left on device/);
        await rm(path.join(mount, 'filler'));
        const healed = numberedWrite(999_999);
        const position = await store.append([healed]);
        acked.set(position, healed);
        expect(store.health()).toEqual({ status: 'ok' });
        const segments = store.segments().length;
        await store.close();
        console.log(
          `full disk: ${acked.size} acknowledged appends over ${segments} segments, ${failures.length} rejected with no space`,
        );
        expect(segments).toBeGreaterThan(1);
        if (writesInFlight > 1) expect(store.stats.peakWritesInFlight).toBeGreaterThan(1);
        const again = await openEmbeddedStore(dir, { streamId: 'FULL' });
        expect(again.recovery.truncated).toBe(false);
        const events = await readEvents(again);
        await again.close();
        expect(events.length).toBe(acked.size);
        for (const recorded of events) expect(recorded.event).toEqual(acked.get(recorded.position));
        expect((await checkLog(dir)).ok).toBe(true);
      } finally {
        execFileSync('umount', ['-l', mount]);
        await remove();
      }
    },
    120_000,
  );
});
