import { statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { type DurableInfo, openEmbeddedStore } from '../../../adapters/store/embedded/index.js';
import { MANIFEST_FILE_NAME } from '../../../adapters/store/embedded/log-manifest.js';
import { SEGMENT_HEADER_BYTES } from '../../../adapters/store/embedded/segment-format.js';
import { numberedWrite, SAMPLE_EVENTS } from '../../fixtures/sample-events.js';
import { tempDir } from './embedded-test-support.js';

/**
 * The `onDurable` observer (the crash-at-every-sync test builds disk states from it): one call
 * per durable batch write, new segment header and manifest replacement, synchronously, before
 * the appends it covers resolve, naming the file, the durable end and the last position.
 */

describe('embedded store durability observer', () => {
  it('reports creation, every batch, every roll and every manifest, before the appends resolve', async () => {
    const { dir, remove } = await tempDir('shadowlog-durable-');
    try {
      const calls: (DurableInfo & { fileBytes: number; resolvedAtCall: number })[] = [];
      let resolved = 0;
      const store = await openEmbeddedStore(dir, {
        streamId: 'DSA1',
        segmentBytes: 1024,
        onDurable: (info) => {
          calls.push({ ...info, fileBytes: statSync(info.segmentPath).size, resolvedAtCall: resolved });
        },
      });
      const seg0 = path.join(dir, '00000000000000000000.seg');
      const manifest = path.join(dir, MANIFEST_FILE_NAME);
      expect(calls.map((c) => [c.segmentPath, c.endOffsetBytes, c.lastPosition])).toEqual([
        [seg0, SEGMENT_HEADER_BYTES, -1],
        [manifest, statSync(manifest).size, -1],
      ]);
      calls.length = 0;
      await store.append([SAMPLE_EVENTS[0]!]).then(() => resolved++);
      await Promise.all(
        Array.from({ length: 60 }, (_, i) => store.append([numberedWrite(i)]).then(() => resolved++)),
      );
      await store.close();
      // A segment may be zero-filled ahead of its data (zero-fill-ahead.ts), never past segmentBytes.
      const sizeMatches = (c: (typeof calls)[number]) =>
        c.segmentPath.endsWith('.seg')
          ? c.fileBytes >= c.endOffsetBytes && c.fileBytes <= Math.max(1024, c.endOffsetBytes)
          : c.fileBytes === c.endOffsetBytes;
      expect(calls.every(sizeMatches)).toBe(true);
      const batches = calls.filter(
        (c) => c.segmentPath.endsWith('.seg') && c.endOffsetBytes > SEGMENT_HEADER_BYTES,
      );
      expect(batches.length).toBe(store.stats.fsyncs);
      expect(batches[batches.length - 1]!.lastPosition).toBe(60);
      // Each batch is reported before any of its appends resolved.
      let last = -1;
      for (const c of batches) {
        expect(c.lastPosition).toBeGreaterThan(last);
        expect(c.resolvedAtCall).toBeLessThanOrEqual(last + 1);
        last = c.lastPosition;
      }
      const rolls = calls.filter((c) => c.endOffsetBytes === SEGMENT_HEADER_BYTES);
      expect(rolls.length).toBe(store.stats.rolls);
      expect(rolls.length).toBeGreaterThan(0);
      for (const roll of rolls) {
        // The new segment header, then the manifest listing it.
        const next = calls[calls.indexOf(roll) + 1]!;
        expect(next.segmentPath).toBe(manifest);
        expect(next.lastPosition).toBe(roll.lastPosition);
      }
    } finally {
      await remove();
    }
  });
});
