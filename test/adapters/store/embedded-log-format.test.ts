import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { crc32c } from '@node-rs/crc32';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { crc32cRange } from '../../../adapters/store/embedded/crc32c.js';
import {
  checkLog,
  openEmbeddedStore,
  type RecordVisitor,
  SEAL_FRAME_BYTES,
  WRITE_RECORD_BYTES,
} from '../../../adapters/store/embedded/index.js';
import { SEGMENT_HEADER_BYTES } from '../../../adapters/store/embedded/segment-format.js';
import type { RecordedEvent, WriteEventType } from '../../../domain/events.js';
import { numberedWrite, SAMPLE_EVENTS } from '../../fixtures/sample-events.js';
import { readEvents, tempDir } from './embedded-test-support.js';

describe('embedded log format', () => {
  it('a write record is at most 32 bytes on disk, framing included; a batch adds one seal', async () => {
    expect(WRITE_RECORD_BYTES).toBeLessThanOrEqual(32);
    const { dir, remove } = await tempDir();
    try {
      const store = await openEmbeddedStore(dir, { streamId: 'DSA1' });
      await store.append(Array.from({ length: 1000 }, (_, i) => numberedWrite(i)));
      await store.close();
      const size = (await stat(path.join(dir, '00000000000000000000.seg'))).size;
      expect(WRITE_RECORD_BYTES).toBe(27);
      expect(size - SEGMENT_HEADER_BYTES).toBe(1000 * WRITE_RECORD_BYTES + SEAL_FRAME_BYTES);
      expect((size - SEGMENT_HEADER_BYTES) / 1000).toBeLessThanOrEqual(32);
    } finally {
      await remove();
    }
  });

  it('the JavaScript CRC32C equals the native one for every length and offset', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 600 }), fc.nat(20), (bytes, cut) => {
        const start = Math.min(cut, bytes.length);
        expect(crc32cRange(bytes, start, bytes.length)).toBe(crc32c(Buffer.from(bytes.subarray(start))));
      }),
      { numRuns: 500 },
    );
  });

  it('rolls over to new segments with index files, and reads across them from any position', async () => {
    const { dir, remove } = await tempDir();
    try {
      const store = await openEmbeddedStore(dir, { streamId: 'DSA1', segmentBytes: 4096 });
      await store.append([SAMPLE_EVENTS[0]!]);
      for (let i = 1; i < 2000; i += 50) {
        await store.append(Array.from({ length: 50 }, (_, k) => numberedWrite(i + k)));
      }
      await store.append([...SAMPLE_EVENTS]);
      const segments = store.segments();
      expect(segments.length).toBeGreaterThan(10);
      expect(segments.slice(0, -1).every((s) => s.sealed && s.bytes <= 4096)).toBe(true);
      const files = await readdir(dir);
      expect(files.filter((f) => f.endsWith('.idx'))).toHaveLength(segments.length - 1);
      const all = await readEvents(store);
      expect(all).toHaveLength(2001 + SAMPLE_EVENTS.length);
      for (const from of [0, 1, 151, 152, 999, 1998, 2001, 2010]) {
        expect(await readEvents(store, from, from + 40)).toEqual(all.slice(from, from + 40));
      }
      const report = await checkLog(dir);
      expect(report.ok).toBe(true);
      expect(report.records).toBe(all.length);
      expect(report.segments.slice(0, -1).every((s) => s.index === 'ok')).toBe(true);
      await store.close();
    } finally {
      await remove();
    }
  });

  it('an append larger than a segment gets a segment of its own; appends never span segments', async () => {
    const { dir, remove } = await tempDir();
    try {
      const store = await openEmbeddedStore(dir, { streamId: 'DSA1', segmentBytes: 2048 });
      await store.append([SAMPLE_EVENTS[0]!]);
      await store.append(Array.from({ length: 500 }, (_, i) => numberedWrite(i)));
      await store.append([numberedWrite(1)]);
      expect(store.segments().map((s) => s.records)).toEqual([1, 500, 1]);
      await store.close();
    } finally {
      await remove();
    }
  });

  it('forEachRecord visits write records as numbers and other events as objects, from any position', async () => {
    const { dir, remove } = await tempDir();
    try {
      const store = await openEmbeddedStore(dir, { streamId: 'DSA1', segmentBytes: 64 * 1024 });
      await store.append([...SAMPLE_EVENTS]);
      await store.append(Array.from({ length: 20_000 }, (_, i) => numberedWrite(i)));
      const expected = await readEvents(store);
      for (const from of [0, 3, 4097, 15_000]) {
        const seen: RecordedEvent[] = [];
        const visitor: RecordVisitor = {
          onWrite(position: number, recordedAt: number, type: WriteEventType, lbn: number, count: number) {
            seen.push({ position, recordedAt, event: { type, v: 1, lbn, count } });
          },
          onEvent(recorded: RecordedEvent) {
            seen.push(recorded);
          },
        };
        expect(await store.forEachRecord(from, undefined, visitor, { windowBytes: 8192 })).toBe(
          expected.length - from,
        );
        expect(seen).toEqual(expected.slice(from));
      }
      await store.close();
    } finally {
      await remove();
    }
  });

  it('group commit: many concurrent appenders share fdatasyncs, and the queue bound holds', async () => {
    const { dir, remove } = await tempDir();
    try {
      const store = await openEmbeddedStore(dir, {
        streamId: 'DSA1',
        maxQueuedEvents: 100,
        maxBatchBytes: 1024,
      });
      await store.append([SAMPLE_EVENTS[0]!]);
      let next = 1;
      const appenders = Array.from({ length: 64 }, async () => {
        for (let k = 0; k < 40; k++) await store.append([numberedWrite(next++)]);
      });
      const flood = Array.from({ length: 2000 }, (_, i) => store.append([numberedWrite(10_000 + i)]));
      await Promise.all([...appenders, ...flood]);
      const { fsyncs, events, peakQueuedEvents, peakBatchEvents } = store.stats;
      expect(events).toBe(1 + 64 * 40 + 2000);
      expect(fsyncs).toBeLessThan(events / 4);
      expect(peakQueuedEvents).toBeLessThanOrEqual(100);
      expect(peakBatchEvents).toBeLessThanOrEqual(Math.floor(1024 / WRITE_RECORD_BYTES));
      await store.close();
    } finally {
      await remove();
    }
  });

  it('recovery cuts a multi-event append back whole when its last record is torn', async () => {
    const { dir, remove } = await tempDir();
    try {
      const store = await openEmbeddedStore(dir, { streamId: 'DSA1' });
      await store.append([SAMPLE_EVENTS[0]!, numberedWrite(1)]);
      await store.append([numberedWrite(2), numberedWrite(3), numberedWrite(4)]);
      await store.close();
      const file = path.join(dir, '00000000000000000000.seg');
      const bytes = await readFile(file);
      const { truncate } = await import('node:fs/promises');
      // Torn inside the last record: its seal and the last 5 bytes of the record are missing.
      await truncate(file, bytes.length - SEAL_FRAME_BYTES - 5);
      const again = await openEmbeddedStore(dir, { streamId: 'DSA1' });
      expect(again.recovery).toMatchObject({
        truncated: true,
        segment: '00000000000000000000.seg',
        bytesDropped: 3 * WRITE_RECORD_BYTES - 5,
        recordsDropped: 3,
      });
      expect(await again.lastPosition()).toBe(1);
      expect(await again.append([numberedWrite(2)])).toBe(2);
      await again.close();
    } finally {
      await remove();
    }
  });
});
