import { describe, expect, it } from 'vitest';
import { cutIntoChunks } from '../../../../adapters/store/kurrentdb/append-chunks.js';
import type { PendingServerAppend } from '../../../../adapters/store/kurrentdb/server-append.js';
import { numberedWrite } from '../../../fixtures/sample-events.js';

describe('cutting runs into server appends', () => {
  function pending(first: number, count: number, size = 100): PendingServerAppend {
    return {
      prepared: {
        events: Array.from({ length: count }, (_, i) => numberedWrite(first + i)),
        ids: Array.from({ length: count }, (_, i) => `id-${first + i}`),
        sizes: Array(count).fill(size),
        ticket: 0,
      },
      eventCount: count,
      bytes: count * size,
      expectedPosition: undefined,
      settled: false,
      resolve: () => undefined,
      reject: () => undefined,
    };
  }
  it('keeps a run that fits in one chunk, completing every append at its last position', () => {
    const run = [pending(1, 2), pending(3, 3)];
    const chunks = cutIntoChunks(run, 10, 7, { maxAppendBytes: 1000, maxAppendEvents: 100 });
    expect(chunks).toHaveLength(1);
    expect(chunks[0]!.first).toBe(10);
    expect(chunks[0]!.completes.map((c) => c.last)).toEqual([11, 14]);
    expect(chunks[0]!.data.map((d) => d.id)).toEqual(['id-1', 'id-2', 'id-3', 'id-4', 'id-5']);
    expect(chunks[0]!.data.every((d) => (d.metadata as { recordedAt: number }).recordedAt === 7)).toBe(true);
  });

  it('splits a large append by bytes and events, marking the parts that continue it', () => {
    const big = pending(0, 10);
    const chunks = cutIntoChunks([big], 0, 1, { maxAppendBytes: 350, maxAppendEvents: 100 });
    expect(chunks.map((c) => [c.first, c.data.length, c.continues === big])).toEqual([
      [0, 3, false],
      [3, 3, true],
      [6, 3, true],
      [9, 1, true],
    ]);
    expect(chunks.map((c) => c.completes.length)).toEqual([0, 0, 0, 1]);
    const byCount = cutIntoChunks([big], 0, 1, { maxAppendBytes: 1e9, maxAppendEvents: 4 });
    expect(byCount.map((c) => c.data.length)).toEqual([4, 4, 2]);
  });
});
