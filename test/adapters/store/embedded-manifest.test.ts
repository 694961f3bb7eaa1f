import { readdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkLog, openEmbeddedStore } from '../../../adapters/store/embedded/index.js';
import { encodeManifest, MANIFEST_FILE_NAME } from '../../../adapters/store/embedded/log-manifest.js';
import { encodeRecord, prepareAppend } from '../../../adapters/store/embedded/record-codec.js';
import {
  encodeSegmentHeader,
  SEGMENT_HEADER_BYTES,
} from '../../../adapters/store/embedded/segment-format.js';
import { LogCorruptError, NotFoundError } from '../../../domain/errors.js';
import type { ShadowEvent } from '../../../domain/events.js';
import { numberedWrite, SAMPLE_EVENTS } from '../../fixtures/sample-events.js';
import { readEvents, restoreDirectory, snapshotDirectory, tempDir } from './embedded-test-support.js';

/**
 * Item 2 of issue 11: a lost segment -- the last, the only, or one in the middle -- is
 * detected through the manifest (LogCorruptError naming it, at every open and in checkLog),
 * and a writable open of the damaged directory refuses and writes nothing. The crash windows
 * the manifest must survive (a roll, a log from before manifests) are accepted.
 */

/** A log over several 1 KiB segments. */
async function buildLog(
  dir: string,
  appends: number,
): Promise<{ files: Map<string, Buffer>; segments: string[] }> {
  const store = await openEmbeddedStore(dir, { streamId: 'DSA1', segmentBytes: 1024 });
  await store.append([SAMPLE_EVENTS[0]!]);
  for (let i = 0; i < appends; i++) await store.append([numberedWrite(i), numberedWrite(i + 1000)]);
  const segments = store.segments().map((s) => s.name);
  await store.close();
  return { files: await snapshotDirectory(dir), segments };
}

/** Every open and checkLog refuse naming `victim`; the directory is left exactly as it was. */
async function expectLost(dir: string, victim: string): Promise<void> {
  const before = await snapshotDirectory(dir);
  for (const options of [{ streamId: 'DSA1' }, { readOnly: true }, {}]) {
    const error = await openEmbeddedStore(dir, options).catch((e: unknown) => e);
    expect(error, `${victim} ${JSON.stringify(options)}`).toBeInstanceOf(LogCorruptError);
    expect((error as Error).message).toContain(victim);
  }
  const report = await checkLog(dir);
  expect(report.ok).toBe(false);
  expect(report.corruptions.map((c) => c.segment)).toContain(victim);
  expect(report.corruptions.find((c) => c.segment === victim)!.message).toMatch(/missing/);
  expect(await snapshotDirectory(dir)).toEqual(before);
}

describe('embedded log manifest: lost segments', () => {
  it('deleting the last segment, a middle one or the first one is corruption; nothing is written', async () => {
    const { dir, remove } = await tempDir('shadowlog-manifest-');
    try {
      const { files, segments } = await buildLog(dir, 40);
      expect(segments.length).toBeGreaterThan(3);
      for (const victim of [segments[segments.length - 1]!, segments[1]!, segments[0]!]) {
        await restoreDirectory(dir, files);
        await rm(path.join(dir, victim));
        await rm(path.join(dir, victim.replace('.seg', '.idx')), { force: true });
        await expectLost(dir, victim);
      }
    } finally {
      await remove();
    }
  });

  it('deleting the only segment is corruption, not an empty log; nothing is written', async () => {
    const { dir, remove } = await tempDir('shadowlog-manifest-');
    try {
      const store = await openEmbeddedStore(dir, { streamId: 'DSA1' });
      await store.append([SAMPLE_EVENTS[0]!, numberedWrite(1)]);
      await store.close();
      await rm(path.join(dir, '00000000000000000000.seg'));
      await expectLost(dir, '00000000000000000000.seg');
      expect((await readdir(dir)).sort()).toEqual(['LOCK', MANIFEST_FILE_NAME]);
    } finally {
      await remove();
    }
  });

  it('a damaged manifest is corruption naming it', async () => {
    const { dir, remove } = await tempDir('shadowlog-manifest-');
    try {
      const { files } = await buildLog(dir, 10);
      const bytes = Buffer.from(files.get(MANIFEST_FILE_NAME)!);
      bytes[bytes.length - 9]! ^= 0x10;
      await writeFile(path.join(dir, MANIFEST_FILE_NAME), bytes);
      await expect(openEmbeddedStore(dir, { readOnly: true })).rejects.toThrow(/manifest .*MANIFEST/);
      await expect(openEmbeddedStore(dir, { streamId: 'DSA1' })).rejects.toThrow(LogCorruptError);
      expect((await checkLog(dir)).corruptions[0]).toMatchObject({ segment: MANIFEST_FILE_NAME });
      await rm(path.join(dir, MANIFEST_FILE_NAME));
      await expect(openEmbeddedStore(dir, { streamId: 'DSA1' })).rejects.toThrow(/manifest .* is missing/);
      expect((await checkLog(dir)).ok).toBe(false);
    } finally {
      await remove();
    }
  });

  it('a directory with files but no log is refused, never written into; an empty one is a new log unless create is false', async () => {
    const { dir, remove } = await tempDir('shadowlog-manifest-');
    try {
      await writeFile(path.join(dir, 'notes.txt'), 'not a log');
      for (const options of [{ streamId: 'DSA1' }, { readOnly: true }]) {
        await expect(openEmbeddedStore(dir, options)).rejects.toThrow(/holds notes.txt but no segment/);
      }
      expect(await readdir(dir)).toEqual(['notes.txt']);
      expect((await checkLog(dir)).ok).toBe(false);
      await rm(path.join(dir, 'notes.txt'));
      await expect(openEmbeddedStore(dir, { streamId: 'DSA1', create: false })).rejects.toThrow(
        NotFoundError,
      );
      await expect(
        openEmbeddedStore(path.join(dir, 'missing'), { streamId: 'DSA1', create: false }),
      ).rejects.toThrow(NotFoundError);
      const store = await openEmbeddedStore(dir, { streamId: 'DSA1' });
      await store.close();
      expect((await readdir(dir)).sort()).toEqual(['00000000000000000000.seg', 'LOCK', MANIFEST_FILE_NAME]);
    } finally {
      await remove();
    }
  });
});

describe('embedded log manifest: crash windows and old logs', () => {
  it('a crash during a roll (a new segment the manifest does not list yet) is accepted and listed', async () => {
    const { dir, remove } = await tempDir('shadowlog-manifest-');
    try {
      const { files, segments } = await buildLog(dir, 20);
      const listed = segments.slice(0, -1).map((n) => Number(n.slice(0, 20)));
      await writeFile(
        path.join(dir, MANIFEST_FILE_NAME),
        encodeManifest({ streamId: 'DSA1', formatVersion: 2, firstPositions: listed }),
      );
      expect((await checkLog(dir)).ok).toBe(true);
      const reader = await openEmbeddedStore(dir, { readOnly: true });
      const events = await readEvents(reader);
      await reader.close();
      const store = await openEmbeddedStore(dir, { streamId: 'DSA1' });
      expect(await readEvents(store)).toEqual(events);
      await store.close();
      expect(await snapshotDirectory(dir).then((f) => f.get(MANIFEST_FILE_NAME))).toEqual(
        files.get(MANIFEST_FILE_NAME),
      );
    } finally {
      await remove();
    }
  });

  it('a format-1 log (no seals, no manifest) still opens; a writable open continues it in a format-2 segment', async () => {
    const { dir, remove } = await tempDir('shadowlog-legacy-');
    try {
      const events: ShadowEvent[] = [
        SAMPLE_EVENTS[0]!,
        numberedWrite(1),
        numberedWrite(2),
        SAMPLE_EVENTS[1]!,
      ];
      const prepared = prepareAppend(events, 1 << 20);
      const body = Buffer.alloc(prepared.sizeBytes);
      let off = 0;
      for (let i = 0; i < events.length; i++)
        off = encodeRecord(body, off, prepared, i, 1_700_000_000_000, i === events.length - 1);
      const header = encodeSegmentHeader('OLD1', 0, 1_700_000_000_000, 1);
      await writeFile(path.join(dir, '00000000000000000000.seg'), Buffer.concat([header, body]));
      expect((await checkLog(dir)).ok).toBe(true);
      const reader = await openEmbeddedStore(dir, { readOnly: true });
      expect((await readEvents(reader)).map((e) => e.event)).toEqual(prepared.events);
      await reader.close();
      const store = await openEmbeddedStore(dir, { streamId: 'OLD1' });
      await store.append([numberedWrite(3)]);
      expect(store.segments().map((s) => [s.firstPosition, s.records])).toEqual([
        [0, 4],
        [4, 1],
      ]);
      await store.close();
      const again = await openEmbeddedStore(dir, { streamId: 'OLD1' });
      expect((await readEvents(again)).map((e) => e.event)).toEqual([...prepared.events, numberedWrite(3)]);
      await again.close();
      const report = await checkLog(dir);
      expect(report.ok).toBe(true);
      expect(report.records).toBe(5);
      expect((await readdir(dir)).includes(MANIFEST_FILE_NAME)).toBe(true);
      expect(SEGMENT_HEADER_BYTES).toBe(256);
    } finally {
      await remove();
    }
  });
});
