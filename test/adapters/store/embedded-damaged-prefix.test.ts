import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openEmbeddedStore, SEAL_FRAME_BYTES } from '../../../adapters/store/embedded/index.js';
import { LogCorruptError } from '../../../domain/errors.js';
import type { RecordedEvent } from '../../../domain/events.js';
import { numberedWrite, SAMPLE_EVENTS } from '../../fixtures/sample-events.js';
import { readEvents, tempDir } from './embedded-test-support.js';

/** A read-only open of a log whose last segment has a flipped byte in a durable record. */
describe('read-only open of a log damaged late', () => {
  it('reads the intact prefix, refuses the whole log and anything past the damage', async () => {
    const { dir, remove } = await tempDir();
    try {
      const writer = await openEmbeddedStore(dir, { streamId: 'DSA1', segmentBytes: 4096 });
      await writer.append([SAMPLE_EVENTS[0]!]);
      for (let i = 1; i < 200; i += 10) {
        await writer.append(Array.from({ length: 10 }, (_, k) => numberedWrite(i + k)));
      }
      const all = await readEvents(writer);
      expect(all.length).toBe(201); // The last batch: positions 191-200.
      await writer.close();
      const segments = (await readdir(dir)).filter((n) => n.endsWith('.seg')).sort();
      expect(segments.length).toBeGreaterThan(1);
      const last = path.join(dir, segments.at(-1)!);
      const bytes = await readFile(last);
      const offset = (await stat(last)).size - SEAL_FRAME_BYTES - 5; // Inside the last record.
      bytes[offset] = bytes[offset]! ^ 0x10;
      await writeFile(last, bytes);

      // The writer refuses as before.
      await expect(openEmbeddedStore(dir, { streamId: 'DSA1' })).rejects.toBeInstanceOf(LogCorruptError);
      const view = await openEmbeddedStore(dir, { readOnly: true });
      try {
        const damaged = view.damagedAt!;
        expect(damaged).toMatchObject({ segment: segments.at(-1), position: 191 });
        expect(view.recovery.damagedAt).toEqual(damaged);
        // Whole-log reads: the error naming segment and offset.
        await expect(view.lastPosition()).rejects.toThrow(`byte offset`);
        await expect(view.lastPosition()).rejects.toThrow(segments.at(-1)!);
        await expect(readEvents(view)).rejects.toBeInstanceOf(LogCorruptError);
        await expect(view.replay(0, 201, { onWrites: () => {}, onEvent: () => {} })).rejects.toBeInstanceOf(
          LogCorruptError,
        );
        // Reads that end before the damage: exactly what was written.
        const prefix: RecordedEvent[] = [];
        for await (const batch of view.read(0, 191)) prefix.push(...batch);
        expect(prefix).toEqual(all.slice(0, 191));
        expect(await view.replay(0, 150, { onWrites: () => {}, onEvent: () => {} })).toBe(150);
        // Accepting the prefix makes it the log: lastPosition is the last intact position.
        expect(view.readIntactPrefix()).toEqual(damaged);
        expect(await view.lastPosition()).toBe(190);
        expect(await readEvents(view)).toEqual(all.slice(0, 191));
        await expect(readEvents(view, 0, 201)).rejects.toBeInstanceOf(LogCorruptError);
      } finally {
        await view.close();
      }
    } finally {
      await remove();
    }
  }, 60_000);
});
