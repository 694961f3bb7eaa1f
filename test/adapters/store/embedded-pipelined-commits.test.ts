import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeSeal, sealDurableEndAtIssue } from '../../../adapters/store/embedded/batch-seal.js';
import { checkLog, openEmbeddedStore } from '../../../adapters/store/embedded/index.js';
import {
  encodeRecord,
  prepareAppend,
  SEAL_FRAME_BYTES,
  WRITE_RECORD_BYTES,
} from '../../../adapters/store/embedded/record-codec.js';
import {
  encodeSegmentHeader,
  SEGMENT_HEADER_BYTES,
} from '../../../adapters/store/embedded/segment-format.js';
import { SECTOR_BYTES } from '../../../adapters/store/embedded/tail-classification.js';
import { LogCorruptError } from '../../../domain/errors.js';
import type { RecordedEvent, ShadowEvent } from '../../../domain/events.js';
import { numberedWrite, SAMPLE_EVENTS } from '../../fixtures/sample-events.js';
import { readEvents, restoreDirectory, snapshotDirectory, tempDir } from './embedded-test-support.js';

/**
 * Pipelined commits (docs/pipelined-commits.md): with several group writes in flight a crash
 * may keep a later write and lose an earlier one. Byte images of such crashes: a lost write
 * followed by a later write of the same window (its seal's durable end at issue at or before
 * the lost bytes) is a torn tail, cut; the same zeros followed by a write issued after them
 * were durable, a flipped bit instead of zeros, or a seal that names a durable end past its
 * own batch, are corruption naming the offset -- the log refuses to open and nothing on disk
 * changes. A SIGKILL cannot lose a write the kernel accepted, so these cases are byte images;
 * the crash test (embedded-crash.test.ts) kills a writer with writes in flight.
 */

const SEGMENT = '00000000000000000000.seg';

interface Base {
  readonly dir: string;
  readonly files: Map<string, Buffer>;
  readonly events: RecordedEvent[];
  /** The segment's bytes: header and the acknowledged batches, no zero tail. */
  readonly bytes: Buffer;
}

/** One group as the writer lays it down: records then a seal naming `durableEnd` (format 3) or none (null: format 2). */
function group(firstPosition: number, events: readonly ShadowEvent[], durableEnd: number | null): Buffer {
  const prepared = prepareAppend(events, 1 << 20);
  const buf = Buffer.alloc(prepared.sizeBytes + SEAL_FRAME_BYTES - (durableEnd === null ? 8 : 0));
  let off = 0;
  for (let k = 0; k < events.length; k++)
    off = encodeRecord(buf, off, prepared, k, 1_700_000_000_000, k === events.length - 1);
  encodeSeal(buf, off, firstPosition, events.length, off, 1_700_000_000_000, durableEnd);
  return buf;
}

function writes(from: number, count: number): ShadowEvent[] {
  return Array.from({ length: count }, (_, i) => numberedWrite(from + i));
}

/** Open writable and expect LogCorruptError naming the segment and `offset`; the directory must be unchanged. */
async function expectCorrupt(base: Base, image: Buffer, offset: number): Promise<void> {
  await writeFile(path.join(base.dir, SEGMENT), image);
  const before = await snapshotDirectory(base.dir);
  const error = await openEmbeddedStore(base.dir).then(
    async (store) => {
      await store.close();
      return null;
    },
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(LogCorruptError);
  expect((error as Error).message).toContain(SEGMENT);
  expect((error as Error).message).toContain(`byte offset ${offset}`);
  const report = await checkLog(base.dir);
  expect(report.ok).toBe(false);
  expect(report.corruptions[0]!.offset).toBe(offset);
  expect(await snapshotDirectory(base.dir)).toEqual(before);
}

/** Open writable and expect the acknowledged events only, a torn tail cut at the base's end, and appends taken after. */
async function expectTorn(base: Base, image: Buffer): Promise<void> {
  await writeFile(path.join(base.dir, SEGMENT), image);
  const report = await checkLog(base.dir);
  expect(report.corruptions).toEqual([]);
  expect(report.tornTail?.offset).toBe(base.bytes.length);
  const store = await openEmbeddedStore(base.dir);
  expect(store.recovery.truncated).toBe(true);
  expect(store.recovery.offset).toBe(base.bytes.length);
  expect(store.recovery.reason).toMatch(/zero-filled sector/);
  expect(await readEvents(store)).toEqual(base.events);
  await store.append([numberedWrite(999)]);
  await store.close();
  const reopened = await openEmbeddedStore(base.dir);
  const after = await readEvents(reopened);
  await reopened.close();
  expect(after.slice(0, base.events.length)).toEqual(base.events);
  expect(after.at(-1)!.event).toEqual(numberedWrite(999));
  expect((await checkLog(base.dir)).ok).toBe(true);
}

describe('pipelined commits: a lost write in flight is torn, damage of durable bytes is corrupt', () => {
  let base: Base;
  let remove: () => Promise<void>;

  beforeAll(async () => {
    const made = await tempDir('shadowlog-pipelined-');
    remove = made.remove;
    const store = await openEmbeddedStore(made.dir, { streamId: 'DSA1' });
    await store.append([SAMPLE_EVENTS[0]!, numberedWrite(1)]);
    await store.append([numberedWrite(2)]);
    const events = await readEvents(store);
    await store.close();
    const files = await snapshotDirectory(made.dir);
    base = { dir: made.dir, files, events, bytes: files.get(SEGMENT)! };
  });

  afterAll(async () => {
    await remove();
  });

  /**
   * The base, then groups A (`aEvents` writes, issued while only the base was durable) and B
   * (3 writes; durable end at issue `bDurableEnd(p, a.length)`, by default the base's end p:
   * issued while A was in flight).
   */
  function window(aEvents: number, bDurableEnd = (p: number, _aBytes: number) => p) {
    const p = base.bytes.length;
    const first = base.events.length;
    const a = group(first, writes(100, aEvents), p);
    const b = group(first + aEvents, writes(500, 3), bDurableEnd(p, a.length));
    return { p, a, b, image: Buffer.concat([base.bytes, a, b]) };
  }

  it('A lost whole (zeros), B of the same window durable: torn, cut back to the last acknowledged batch', async () => {
    await restoreDirectory(base.dir, base.files);
    const { p, a, image } = window(100);
    image.fill(0, p, p + a.length);
    await expectTorn(base, image);
  });

  it('A lost except the page B rewrote (its prefix), B durable: torn', async () => {
    await restoreDirectory(base.dir, base.files);
    const { p, a, image } = window(300);
    const bStart = p + a.length;
    const bPage = bStart - (bStart % 4096);
    expect(bPage).toBeGreaterThan(p + SECTOR_BYTES);
    image.fill(0, p, bPage);
    await expectTorn(base, image);
  });

  it('the same zeros, B issued after A was durable: corrupt', async () => {
    await restoreDirectory(base.dir, base.files);
    const { p, a, image } = window(100, (start, aBytes) => start + aBytes);
    image.fill(0, p, p + a.length);
    await expectCorrupt(base, image, p);
  });

  it('a flipped bit in A (no zero sector), B of the same window durable: corrupt', async () => {
    await restoreDirectory(base.dir, base.files);
    const { p, image } = window(100);
    image[p + 700]! ^= 0x10;
    await expectCorrupt(base, image, p + Math.floor(700 / WRITE_RECORD_BYTES) * WRITE_RECORD_BYTES);
  });

  it('A lost, B of the window, then C issued after B was durable: corrupt (every seal after the damage is checked)', async () => {
    await restoreDirectory(base.dir, base.files);
    const { p, a, b, image } = window(100);
    const c = group(base.events.length + 103, writes(900, 2), p + a.length + b.length);
    const withC = Buffer.concat([image, c]);
    withC.fill(0, p, p + a.length);
    await expectCorrupt(base, withC, p);
  });

  it('a seal naming a durable end past its own batch is corrupt even as the last batch', async () => {
    await restoreDirectory(base.dir, base.files);
    const p = base.bytes.length;
    const bad = group(base.events.length, writes(100, 2), p + 1);
    await expectCorrupt(base, Buffer.concat([base.bytes, bad]), p + 2 * WRITE_RECORD_BYTES);
  });
});

/** Each seal of a closed segment file: where its batch starts and the durable end it names. */
function sealsOf(bytes: Buffer): { batchStart: number; durableEnd: number; frameBytes: number }[] {
  const seals: { batchStart: number; durableEnd: number; frameBytes: number }[] = [];
  // Walk frames by their length fields; kind 32 is a seal. Bounded by the file.
  for (let off = SEGMENT_HEADER_BYTES; off < bytes.length; off += 8 + bytes.readUInt32LE(off + 4)) {
    if (bytes[off + 8] !== 32) continue;
    const batchStart = off - bytes.readUInt32LE(off + 29);
    seals.push({
      batchStart,
      durableEnd: sealDurableEndAtIssue(bytes, off, 0),
      frameBytes: 8 + bytes.readUInt32LE(off + 4),
    });
  }
  return seals;
}

describe('the writer keeps several writes in flight and seals what was durable at issue', () => {
  it('appends that arrive while writes sync go out at once; seals name an earlier durable end; every append reads back in order', async () => {
    const { dir, remove } = await tempDir('shadowlog-pipelined-writer-');
    try {
      const store = await openEmbeddedStore(dir, {
        streamId: 'DSA1',
        maxWritesInFlight: 4,
        maxBatchBytes: 4096,
      });
      const appended: Promise<number>[] = [];
      // 64 appends of 20 writes (540 bytes each), 8 per batch at most: batches form while others are in flight.
      for (let i = 0; i < 64; i++) appended.push(store.append(writes(i * 20, 20)));
      const positions = await Promise.all(appended);
      expect(positions).toEqual(Array.from({ length: 64 }, (_, i) => i * 20 + 19));
      expect(store.stats.peakWritesInFlight).toBeGreaterThan(1);
      expect(store.stats.peakWritesInFlight).toBeLessThanOrEqual(4);
      await store.close();
      const seals = sealsOf(await readFile(path.join(dir, SEGMENT)));
      expect(seals).toHaveLength(store.stats.fsyncs);
      for (const seal of seals) {
        expect(seal.frameBytes).toBe(SEAL_FRAME_BYTES); // Format 3.
        expect(seal.durableEnd).toBeLessThanOrEqual(seal.batchStart);
      }
      // Some writes were issued while an earlier one was not yet durable.
      expect(seals.filter((seal) => seal.durableEnd < seal.batchStart).length).toBeGreaterThan(0);
      const reopened = await openEmbeddedStore(dir);
      const events = await readEvents(reopened);
      await reopened.close();
      expect(events.map((e) => e.event)).toEqual(Array.from({ length: 64 * 20 }, (_, i) => numberedWrite(i)));
      expect((await checkLog(dir)).ok).toBe(true);
    } finally {
      await remove();
    }
  });

  it('with one write in flight every seal names its own batch start', async () => {
    const { dir, remove } = await tempDir('shadowlog-pipelined-one-');
    try {
      const store = await openEmbeddedStore(dir, {
        streamId: 'DSA1',
        maxWritesInFlight: 1,
        maxBatchBytes: 4096,
      });
      await Promise.all(Array.from({ length: 32 }, (_, i) => store.append(writes(i * 20, 20))));
      expect(store.stats.peakWritesInFlight).toBe(1);
      await store.close();
      const seals = sealsOf(await readFile(path.join(dir, SEGMENT)));
      expect(seals.length).toBeGreaterThan(1);
      for (const seal of seals) expect(seal.durableEnd).toBe(seal.batchStart);
    } finally {
      await remove();
    }
  });
});

describe('format 2 (seals of one write in flight) is still read, and a writable open moves on to format 3', () => {
  it('reads a format-2 segment with a zero tail; a writable open cuts it to its data, seals it and starts a format-3 segment', async () => {
    const { dir, remove } = await tempDir('shadowlog-format2-');
    try {
      const store = await openEmbeddedStore(dir, { streamId: 'DSA1' });
      await store.append([SAMPLE_EVENTS[0]!]);
      await store.close();
      // The same log as a format-2 writer left it: header version 2, 33-byte seals, a zero tail.
      const first = group(0, [SAMPLE_EVENTS[0]!], null);
      const second = group(1, writes(1, 5), null);
      expect(first.length).toBeLessThan(
        prepareAppend([SAMPLE_EVENTS[0]!], 1 << 20).sizeBytes + SEAL_FRAME_BYTES,
      );
      const data = Buffer.concat([encodeSegmentHeader('DSA1', 0, 1_700_000_000_000, 2), first, second]);
      await writeFile(path.join(dir, SEGMENT), Buffer.concat([data, Buffer.alloc(64 * 1024)]));
      const expected = [SAMPLE_EVENTS[0]!, ...writes(1, 5)];

      const readOnly = await openEmbeddedStore(dir, { readOnly: true });
      expect((await readEvents(readOnly)).map((e) => e.event)).toEqual(expected);
      await readOnly.close();
      expect((await checkLog(dir)).ok).toBe(true);

      const writable = await openEmbeddedStore(dir, { streamId: 'DSA1' });
      expect(writable.segments()).toHaveLength(2);
      expect(await writable.append(writes(6, 2))).toBe(7);
      await writable.close();
      const old = await readFile(path.join(dir, SEGMENT));
      expect(old.equals(data)).toBe(true); // Cut to its data: no zero tail on a sealed segment.
      const next = await readFile(path.join(dir, '00000000000000000006.seg'));
      expect(next.readUInt32LE(8)).toBe(3);
      expect(next.length).toBeGreaterThan(SEGMENT_HEADER_BYTES);
      const reopened = await openEmbeddedStore(dir);
      expect((await readEvents(reopened)).map((e) => e.event)).toEqual([...expected, ...writes(6, 2)]);
      await reopened.close();
      const report = await checkLog(dir);
      expect(report.ok).toBe(true);
      expect(report.segments.map((segment) => segment.index)).toEqual(['ok', 'none']);
    } finally {
      await remove();
    }
  });
});
