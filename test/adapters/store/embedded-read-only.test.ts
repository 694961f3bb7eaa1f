import { describe, expect, it } from 'vitest';
import { openEmbeddedStore } from '../../../adapters/store/embedded/index.js';
import { IoError } from '../../../domain/errors.js';
import type { RecordedEvent } from '../../../domain/events.js';
import { numberedWrite, SAMPLE_EVENTS } from '../../fixtures/sample-events.js';
import { readEvents, tempDir } from './embedded-test-support.js';

describe('read-only embedded store beside a live writer', () => {
  it('takes no lock, reads what is durable, and follows appends across segment rolls', async () => {
    const { dir, remove } = await tempDir();
    try {
      const writer = await openEmbeddedStore(dir, { streamId: 'DSA1', segmentBytes: 2048 });
      await writer.append([SAMPLE_EVENTS[0]!]);
      await writer.append(Array.from({ length: 30 }, (_, i) => numberedWrite(i + 1)));
      const reader = await openEmbeddedStore(dir, {
        readOnly: true,
        subscriptionLimits: { pollIntervalMs: 10 },
      });
      expect(reader.readOnly).toBe(true);
      expect(reader.streamId).toBe('DSA1');
      expect(await reader.lastPosition()).toBe(30);
      const received: RecordedEvent[] = [];
      const sub = reader.subscribe(0, (batch) => {
        received.push(...batch);
      });
      for (let i = 31; i < 600; i += 10) {
        await writer.append(Array.from({ length: 10 }, (_, k) => numberedWrite(i + k)));
      }
      expect(writer.segments().length).toBeGreaterThan(5);
      expect(await reader.lastPosition()).toBe(600);
      expect(await readEvents(reader)).toEqual(await readEvents(writer));
      const deadline = Date.now() + 10_000;
      while (received.length < 601 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      expect(received.map((e) => e.position)).toEqual(Array.from({ length: 601 }, (_, i) => i));
      await sub.unsubscribe();
      await reader.close();
      await writer.close();
    } finally {
      await remove();
    }
  });

  it('a read-only open of a log not created yet sees it appear', async () => {
    const { dir, remove } = await tempDir();
    try {
      const reader = await openEmbeddedStore(dir, { readOnly: true });
      expect(await reader.lastPosition()).toBe(-1);
      const writer = await openEmbeddedStore(dir, { streamId: 'DSA9' });
      await writer.append([SAMPLE_EVENTS[0]!, numberedWrite(1)]);
      expect(await reader.lastPosition()).toBe(1);
      expect(reader.streamId).toBe('DSA9');
      expect((await readEvents(reader)).map((e) => e.event)).toEqual([SAMPLE_EVENTS[0], numberedWrite(1)]);
      await writer.close();
      await reader.close();
    } finally {
      await remove();
    }
  });

  it('a read-only open of a missing directory fails with IoError naming it', async () => {
    await expect(openEmbeddedStore('/nonexistent/shadowlog-log', { readOnly: true })).rejects.toThrow(
      IoError,
    );
    await expect(openEmbeddedStore('/nonexistent/shadowlog-log', { readOnly: true })).rejects.toThrow(
      /\/nonexistent\/shadowlog-log/,
    );
  });
});
