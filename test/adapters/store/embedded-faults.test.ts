import { spawnSync } from 'node:child_process';
import { appendFile, readdir, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkLog, openEmbeddedStore, SEAL_FRAME_BYTES } from '../../../adapters/store/embedded/index.js';
import { LogCorruptError, LogLockedError } from '../../../domain/errors.js';
import type { RecordedEvent, ShadowEvent } from '../../../domain/events.js';
import { numberedWrite, SAMPLE_EVENTS } from '../../fixtures/sample-events.js';
import { readEvents, tempDir } from './embedded-test-support.js';

/**
 * Damage the files of a small log in every way the design names and check that it is either
 * recovered (a torn tail: cut off and reported) or refused (corruption: LogCorruptError
 * naming segment and offset) -- never read back as a wrong event.
 */

/** A small log: mixed binary and JSON records over several 512-byte segments, ending with a single-event append. */
async function buildSmallLog(dir: string): Promise<{ files: Map<string, Buffer>; events: RecordedEvent[] }> {
  const store = await openEmbeddedStore(dir, { streamId: 'DSA1', segmentBytes: 512 });
  const json = ['CopyStarted', 'MembersSynced', 'MemberFailed', 'BitmapDeleted', 'MergeCompleted'];
  const appends: ShadowEvent[][] = [[SAMPLE_EVENTS[0]!, numberedWrite(1)]];
  for (let i = 1; i < 24; i++) {
    const extra = i % 4 === 0 ? SAMPLE_EVENTS.filter((e) => e.type === json[(i / 4) % json.length]) : [];
    appends.push([numberedWrite(100 + i), ...extra]);
  }
  appends.push([numberedWrite(7), numberedWrite(8), numberedWrite(9)]);
  appends.push([numberedWrite(10)]);
  for (const events of appends) await store.append(events);
  const events = await readEvents(store);
  await store.close();
  const files = new Map<string, Buffer>();
  for (const name of await readdir(dir)) files.set(name, await readFile(path.join(dir, name)));
  return { files, events };
}

async function restore(dir: string, files: Map<string, Buffer>): Promise<void> {
  for (const name of await readdir(dir))
    if (!files.has(name)) await rm(path.join(dir, name), { force: true });
  for (const [name, bytes] of files) await writeFile(path.join(dir, name), bytes);
}

function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', '']);
  return child.pid!;
}

describe('embedded log faults', () => {
  let dir: string;
  let remove: () => Promise<void>;
  let files: Map<string, Buffer>;
  let events: RecordedEvent[];
  let segmentNames: string[];

  beforeAll(async () => {
    ({ dir, remove } = await tempDir());
    ({ files, events } = await buildSmallLog(dir));
    segmentNames = [...files.keys()].filter((n) => n.endsWith('.seg')).sort();
  });
  afterAll(() => remove());

  it('the fixture spans several segments with binary and JSON records', () => {
    expect(segmentNames.length).toBeGreaterThan(2);
    expect(events.length).toBeGreaterThan(30);
    // The lock file stays (an OFD lock is released by the kernel, the file is never removed).
    expect(files.has('LOCK')).toBe(true);
    expect(files.has('MANIFEST')).toBe(true);
  });

  it('detects EVERY single-byte change of every segment: refused, or (the last seal only) cut with no record lost', async () => {
    const lastSegment = segmentNames[segmentNames.length - 1]!;
    const lastSealOffset = files.get(lastSegment)!.length - SEAL_FRAME_BYTES;
    const lastRecordOffset = lastSealOffset - 27;
    const outcomes = { refusedAtOpen: 0, refusedAtRead: 0, tornTail: 0 };
    await restore(dir, files);
    for (const name of segmentNames) {
      const pristine = files.get(name)!;
      for (let offset = 0; offset < pristine.length; offset++) {
        const damaged = Buffer.from(pristine);
        damaged[offset] = damaged[offset]! ^ (1 + ((offset * 37) % 255));
        await writeFile(path.join(dir, name), damaged);
        const where = `${name} byte ${offset}`;
        const report = await checkLog(dir);
        expect(report.ok === false || report.tornTail !== null, `checkLog misses ${where}`).toBe(true);
        if (name === lastSegment && offset >= lastRecordOffset && offset < lastSealOffset) {
          // The last acknowledged record: corruption naming segment and offset, never a cut.
          expect(report.ok, where).toBe(false);
          expect(report.corruptions[0], where).toMatchObject({ segment: name, offset: lastRecordOffset });
        }
        // Read-only opens classify exactly as writable ones but change nothing, which keeps
        // 4,000 rounds fast; every 16th round and the whole last segment go through the
        // writable open (lock, truncation) too.
        const readOnly = name !== lastSegment && offset % 16 !== 0;
        let store: Awaited<ReturnType<typeof openEmbeddedStore>>;
        try {
          store = await openEmbeddedStore(dir, readOnly ? { readOnly } : { streamId: 'DSA1' });
        } catch (error) {
          expect(error, where).toBeInstanceOf(LogCorruptError);
          expect((error as Error).message, where).toContain(name);
          const at = Number(/byte offset (\d+)/.exec((error as Error).message)?.[1]);
          expect(at, where).toBeLessThanOrEqual(offset);
          outcomes.refusedAtOpen++;
          continue;
        }
        try {
          if (store.recovery.truncated) {
            expect(name, where).toBe(lastSegment);
            expect(offset, where).toBeGreaterThanOrEqual(lastSealOffset);
            expect(store.recovery).toMatchObject({ segment: name, offset: lastSealOffset });
            // A damaged seal alone loses no record.
            expect(await readEvents(store), where).toEqual(events);
            outcomes.tornTail++;
            continue;
          }
          const error = await readEvents(store).then(
            () => null,
            (e: unknown) => e,
          );
          expect(error, `silent wrong read at ${where}`).toBeInstanceOf(LogCorruptError);
          expect((error as Error).message, where).toContain(name);
          outcomes.refusedAtRead++;
        } finally {
          await store.close();
          await writeFile(path.join(dir, name), pristine);
          if (!readOnly) await restore(dir, files);
        }
      }
      await writeFile(path.join(dir, name), pristine);
    }
    await restore(dir, files);
    console.log('byte flips', segmentNames.length, 'segments', outcomes);
    // Sealed segments' records are verified on read; the header and the last segment at open.
    expect(outcomes.refusedAtRead).toBeGreaterThan(0);
    expect(outcomes.refusedAtOpen).toBeGreaterThan(0);
    expect(outcomes.tornTail).toBe(SEAL_FRAME_BYTES);
  }, 540_000);

  it('a damaged or missing index file is rebuilt from its segment and reported, never trusted', async () => {
    const indexNames = [...files.keys()].filter((n) => n.endsWith('.idx'));
    expect(indexNames.length).toBe(segmentNames.length - 1);
    for (const name of indexNames) {
      const pristine = files.get(name)!;
      for (let offset = 0; offset < pristine.length; offset += 3) {
        await restore(dir, files);
        const damaged = Buffer.from(pristine);
        damaged[offset] = damaged[offset]! ^ 0x5a;
        await writeFile(path.join(dir, name), damaged);
        expect((await checkLog(dir)).warnings.join()).toContain(name.replace('.idx', '.seg'));
        const store = await openEmbeddedStore(dir, { streamId: 'DSA1' });
        expect(store.recovery.indexesRebuilt).toEqual([name.replace('.idx', '.seg')]);
        expect(await readEvents(store)).toEqual(events);
        await store.close();
      }
    }
    await restore(dir, files);
    await rm(path.join(dir, indexNames[0]!));
    const store = await openEmbeddedStore(dir, { streamId: 'DSA1' });
    expect(store.recovery.indexesRebuilt).toEqual([segmentNames[0]]);
    await store.close();
    expect((await readdir(dir)).includes(indexNames[0]!)).toBe(true);
  });

  it('a truncated record at the tail is cut off and reported; checkLog reports it without changing anything', async () => {
    await restore(dir, files);
    const last = path.join(dir, segmentNames[segmentNames.length - 1]!);
    const size = files.get(segmentNames[segmentNames.length - 1]!)!.length;
    // Torn inside the last record: its seal and last 10 bytes never reached the disk.
    const cut = size - SEAL_FRAME_BYTES - 10;
    await truncate(last, cut);
    const report = await checkLog(dir);
    expect(report.ok).toBe(true);
    expect(report.tornTail).toMatchObject({ offset: cut - 17, bytesDropped: 17, recordsDropped: 1 });
    expect((await readFile(last)).length).toBe(cut);
    const store = await openEmbeddedStore(dir, { streamId: 'DSA1' });
    expect(store.recovery).toMatchObject({
      truncated: true,
      offset: cut - 17,
      bytesDropped: 17,
      recordsDropped: 1,
    });
    expect(await readEvents(store)).toEqual(events.slice(0, -1));
    expect(await store.append([numberedWrite(10)])).toBe(events.length - 1);
    await store.close();
    expect((await checkLog(dir)).tornTail).toBeNull();
  });

  it('a zero-filled tail after the last seal is the end: clean, kept, no torn tail', async () => {
    await restore(dir, files);
    const last = path.join(dir, segmentNames[segmentNames.length - 1]!);
    await appendFile(last, Buffer.alloc(8192));
    expect((await checkLog(dir)).tornTail).toBeNull();
    const readOnly = await openEmbeddedStore(dir, { readOnly: true });
    expect(readOnly.recovery).toMatchObject({ truncated: false, bytesDropped: 0 });
    expect(await readEvents(readOnly)).toEqual(events);
    await readOnly.close();
    expect((await readFile(last)).length).toBe(
      files.get(segmentNames[segmentNames.length - 1]!)!.length + 8192,
    );
    const store = await openEmbeddedStore(dir, { streamId: 'DSA1' });
    expect(store.recovery).toMatchObject({ truncated: false, bytesDropped: 0, recordsDropped: 0 });
    expect(await readEvents(store)).toEqual(events);
    await store.close();
  });

  it('a read-only open reports a torn tail but changes nothing', async () => {
    await restore(dir, files);
    const last = path.join(dir, segmentNames[segmentNames.length - 1]!);
    await appendFile(last, Buffer.from([1, 2, 3]));
    const store = await openEmbeddedStore(dir, { readOnly: true });
    expect(store.recovery).toMatchObject({ truncated: true, readOnly: true, bytesDropped: 3 });
    expect(await readEvents(store)).toEqual(events);
    await expect(store.append([numberedWrite(1)])).rejects.toThrow(/read-only/);
    await store.close();
    expect((await readFile(last)).length).toBe(files.get(segmentNames[segmentNames.length - 1]!)!.length + 3);
  });

  it('a missing segment in the middle, or the first one, is corruption', async () => {
    for (const victim of [segmentNames[1]!, segmentNames[0]!]) {
      for (const withIndex of [false, true]) {
        await restore(dir, files);
        await rm(path.join(dir, victim));
        if (withIndex) await rm(path.join(dir, victim.replace('.seg', '.idx')));
        await expect(openEmbeddedStore(dir, { streamId: 'DSA1' })).rejects.toThrow(LogCorruptError);
        await expect(openEmbeddedStore(dir, { readOnly: true })).rejects.toThrow(/missing/);
        const report = await checkLog(dir);
        expect(report.ok).toBe(false);
        expect(report.corruptions[0]!.message).toMatch(/missing/);
      }
    }
  });

  it('a second writer is refused with LogLockedError naming pid and path; readers are not', async () => {
    await restore(dir, files);
    const writer = await openEmbeddedStore(dir, { streamId: 'DSA1' });
    try {
      const error = await openEmbeddedStore(dir, { streamId: 'DSA1' }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(LogLockedError);
      expect((error as Error).message).toContain(String(process.pid));
      expect((error as Error).message).toContain(path.join(dir, 'LOCK'));
      const reader = await openEmbeddedStore(dir, { readOnly: true });
      expect(await reader.lastPosition()).toBe(events.length - 1);
      await reader.close();
    } finally {
      await writer.close();
    }
    // Never removed: removing it would let two processes lock two different inodes.
    expect((await readdir(dir)).includes('LOCK')).toBe(true);
  });

  it('a stale lock of a dead process is taken over', async () => {
    await restore(dir, files);
    const pid = deadPid();
    await writeFile(path.join(dir, 'LOCK'), `${pid}\n`);
    const store = await openEmbeddedStore(dir, { streamId: 'DSA1' });
    expect((await readFile(path.join(dir, 'LOCK'), 'utf8')).trim()).toBe(String(process.pid));
    await store.close();
  });

  it('a log of another stream is refused', async () => {
    await restore(dir, files);
    await expect(openEmbeddedStore(dir, { streamId: 'DSA2' })).rejects.toThrow(/holds stream 'DSA1'/);
  });
});
