import { readFile, truncate, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkLog, openEmbeddedStore, SEAL_FRAME_BYTES } from '../../../adapters/store/embedded/index.js';
import { LogCorruptError } from '../../../domain/errors.js';
import type { RecordedEvent } from '../../../domain/events.js';
import { numberedWrite, SAMPLE_EVENTS } from '../../fixtures/sample-events.js';
import { readEvents, restoreDirectory, snapshotDirectory, tempDir } from './embedded-test-support.js';

/**
 * Item 1 of issue 11: a damaged acknowledged record and a torn write are told apart by the
 * batch seal that ends every group-commit write. A flipped bit anywhere in the last batch's
 * records is corruption naming segment and offset -- never a cut; a flipped seal loses no
 * record; a prefix of the last batch, or the last batch with zero-filled (unwritten) sectors,
 * is a torn tail, cut and reported.
 */

const SEGMENT = '00000000000000000000.seg';

interface Fixture {
  readonly dir: string;
  readonly files: Map<string, Buffer>;
  readonly events: RecordedEvent[];
  /** Byte offset in the segment where the last batch starts. */
  readonly batchStart: number;
  /** Offsets of the last batch's records, then of its seal. */
  readonly frames: number[];
  /** Events before the last batch. */
  readonly before: number;
}

/** A log whose last batch (one append) holds `lastAppend` events. */
async function buildLog(dir: string, lastAppendEvents: number): Promise<Fixture> {
  const store = await openEmbeddedStore(dir, { streamId: 'DSA1' });
  await store.append([SAMPLE_EVENTS[0]!, numberedWrite(1)]);
  await store.append([numberedWrite(2)]);
  const batchStart = store.segments()[0]!.bytes;
  const before = (await store.lastPosition()) + 1;
  const json = SAMPLE_EVENTS.find((e) => e.type === 'MembersSynced')!;
  await store.append([
    json,
    ...Array.from({ length: lastAppendEvents - 1 }, (_, i) => numberedWrite(10 + i)),
  ]);
  const events = await readEvents(store);
  await store.close();
  const files = await snapshotDirectory(dir);
  const bytes = files.get(SEGMENT)!;
  const frames: number[] = [];
  // Walk the last batch's frames by their length fields.
  for (let off = batchStart; off < bytes.length; off += 8 + bytes.readUInt32LE(off + 4)) frames.push(off);
  expect(frames.length).toBe(lastAppendEvents + 1);
  expect(bytes.length - frames[frames.length - 1]!).toBe(SEAL_FRAME_BYTES);
  return { dir, files, events, batchStart, frames, before };
}

/** The start of the frame holding byte `offset`. */
function frameOf(fixture: Fixture, offset: number): number {
  let start = fixture.frames[0]!;
  for (const f of fixture.frames) if (f <= offset) start = f;
  return start;
}

describe('batch seals: torn tail or damaged acknowledged record', () => {
  let fixture: Fixture;
  let remove: () => Promise<void>;

  beforeAll(async () => {
    const made = await tempDir('shadowlog-seals-');
    remove = made.remove;
    fixture = await buildLog(made.dir, 3);
  });
  afterAll(() => remove());

  it('a flipped bit in any byte of the last batch: corruption naming segment and offset, or (seal) no record lost', async () => {
    const { dir, files, events, batchStart } = fixture;
    const pristine = files.get(SEGMENT)!;
    const sealAt = pristine.length - SEAL_FRAME_BYTES;
    const file = path.join(dir, SEGMENT);
    let corrupt = 0;
    let sealFlips = 0;
    for (let offset = batchStart; offset < pristine.length; offset++) {
      await restoreDirectory(dir, files);
      const damaged = Buffer.from(pristine);
      damaged[offset] = damaged[offset]! ^ (1 << (offset % 8));
      await writeFile(file, damaged);
      const where = `bit ${offset % 8} of byte ${offset}`;
      const report = await checkLog(dir);
      if (offset < sealAt) {
        const at = frameOf(fixture, offset);
        expect(report.ok, where).toBe(false);
        expect(report.tornTail, where).toBeNull();
        expect(report.corruptions[0], where).toMatchObject({ segment: SEGMENT, offset: at });
        // A read-only open keeps the intact prefix (time travel before the damage) and refuses
        // what needs the whole log with the same error; a writable open refuses outright.
        const view = await openEmbeddedStore(dir, { readOnly: true });
        expect(view.damagedAt, where).toMatchObject({ segment: SEGMENT, offset: at });
        const viewError = await view.lastPosition().catch((e: unknown) => e);
        await view.close();
        for (const readOnly of [true, false]) {
          const error = readOnly
            ? viewError
            : await openEmbeddedStore(dir, { streamId: 'DSA1' }).catch((e: unknown) => e);
          expect(error, where).toBeInstanceOf(LogCorruptError);
          expect((error as Error).message, where).toContain(file);
          expect((error as Error).message, where).toContain(`byte offset ${at}`);
        }
        // Nothing was written into the damaged log.
        expect(await readFile(file), where).toEqual(damaged);
        corrupt++;
        continue;
      }
      expect(report.ok, where).toBe(true);
      expect(report.records, where).toBe(events.length);
      expect(report.tornTail, where).toMatchObject({ segment: SEGMENT, offset: sealAt, recordsDropped: 0 });
      const store = await openEmbeddedStore(dir, { streamId: 'DSA1' });
      expect(store.recovery, where).toMatchObject({ truncated: true, offset: sealAt, recordsDropped: 0 });
      expect(await readEvents(store), where).toEqual(events);
      await store.close();
      // Recovery wrote the seal again: the file is as it was before the flip.
      expect(await readFile(file), where).toEqual(pristine);
      sealFlips++;
    }
    expect(corrupt).toBe(sealAt - batchStart);
    expect(sealFlips).toBe(SEAL_FRAME_BYTES);
  }, 120_000);

  it('every prefix of the last batch is a torn tail: cut, reported, and the batch kept whole or not at all', async () => {
    const { dir, files, events, batchStart, before } = fixture;
    const pristine = files.get(SEGMENT)!;
    const file = path.join(dir, SEGMENT);
    for (let length = batchStart + 1; length < pristine.length; length++) {
      await restoreDirectory(dir, files);
      await truncate(file, length);
      const where = `prefix of ${length} bytes`;
      const report = await checkLog(dir);
      expect(report.ok, where).toBe(true);
      expect(report.tornTail, where).not.toBeNull();
      const store = await openEmbeddedStore(dir, { streamId: 'DSA1' });
      expect(store.recovery.truncated, where).toBe(true);
      const got = await readEvents(store);
      // Only the seal missing: the records are whole and kept (a repair seal is written).
      const expected = length >= pristine.length - SEAL_FRAME_BYTES ? events : events.slice(0, before);
      expect(got, where).toEqual(expected);
      await store.close();
      const after = await checkLog(dir);
      expect(after.ok && after.tornTail === null, where).toBe(true);
    }
  }, 120_000);
});

describe('batch seals: unwritten sectors of a torn write', () => {
  let fixture: Fixture;
  let remove: () => Promise<void>;

  beforeAll(async () => {
    const made = await tempDir('shadowlog-holes-');
    remove = made.remove;
    // ~2.7 KB of records: the last batch spans whole 512-byte sectors.
    fixture = await buildLog(made.dir, 100);
  });
  afterAll(() => remove());

  async function withSector(fill: number, sectorStart: number, sectorEnd: number): Promise<Buffer> {
    await restoreDirectory(fixture.dir, fixture.files);
    const bytes = Buffer.from(fixture.files.get(SEGMENT)!);
    bytes.fill(fill, sectorStart, sectorEnd);
    await writeFile(path.join(fixture.dir, SEGMENT), bytes);
    return bytes;
  }

  it('a zero-filled sector inside the last batch, its seal written: torn, cut back to the previous seal', async () => {
    const { batchStart, events, before } = fixture;
    const firstWhole = Math.ceil(batchStart / 512) * 512;
    const holes: [number, number][] = [
      [firstWhole, firstWhole + 512],
      [firstWhole + 512, firstWhole + 1024],
      // The part of a sector shared with the previous batch.
      [batchStart, firstWhole],
    ];
    for (const [from, to] of holes) {
      await withSector(0, from, to);
      const where = `zeros at ${from}..${to}`;
      const report = await checkLog(dir());
      expect(report.ok, where).toBe(true);
      expect(report.tornTail, where).toMatchObject({ offset: batchStart });
      const store = await openEmbeddedStore(dir(), { streamId: 'DSA1' });
      expect(store.recovery, where).toMatchObject({ truncated: true, offset: batchStart });
      expect(store.recovery.reason, where).toMatch(/zero-filled/);
      expect(await readEvents(store), where).toEqual(events.slice(0, before));
      await store.close();
    }
  });

  it('the same sector garbled (not zeros), or zeros in a batch that is not the last: corruption', async () => {
    const { batchStart } = fixture;
    const firstWhole = Math.ceil(batchStart / 512) * 512;
    await withSector(0xa5, firstWhole, firstWhole + 512);
    await expect(openEmbeddedStore(dir(), { streamId: 'DSA1' })).rejects.toThrow(LogCorruptError);
    expect((await checkLog(dir())).ok).toBe(false);
    // One more batch after the damaged one: the damaged one was acknowledged.
    await restoreDirectory(fixture.dir, fixture.files);
    const store = await openEmbeddedStore(dir(), { streamId: 'DSA1' });
    await store.append([numberedWrite(5000)]);
    await store.close();
    const bytes = await readFile(path.join(dir(), SEGMENT));
    bytes.fill(0, firstWhole, firstWhole + 512);
    await writeFile(path.join(dir(), SEGMENT), bytes);
    const error = await openEmbeddedStore(dir(), { streamId: 'DSA1' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LogCorruptError);
    expect((error as Error).message).toContain(SEGMENT);
    expect((await checkLog(dir())).ok).toBe(false);
  });

  function dir(): string {
    return fixture.dir;
  }
});
