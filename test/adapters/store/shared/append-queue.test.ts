import { describe, expect, it } from 'vitest';
import { cutIntoChunks, type PendingAppend } from '../../../../adapters/store/kurrentdb/append-chunks.js';
import { AppendQueue, type AppendQueuePeaks } from '../../../../adapters/store/kurrentdb/append-queue.js';
import { numberedWrite } from '../../../fixtures/sample-events.js';

interface Item {
  readonly name: string;
  readonly eventCount: number;
  readonly bytes: number;
}
const item = (name: string, eventCount: number, bytes = eventCount * 10): Item => ({
  name,
  eventCount,
  bytes,
});
const names = (items: readonly Item[]) => items.map((i) => i.name);

function queue(limits: Partial<ConstructorParameters<typeof AppendQueue>[0]> = {}) {
  const peaks: AppendQueuePeaks = { peakQueuedEvents: 0, peakQueuedBytes: 0 };
  const q = new AppendQueue<Item>(
    { maxQueuedEvents: 10, maxQueuedBytes: 1000, maxBatchEvents: 4, maxBatchBytes: 1000, ...limits },
    peaks,
  );
  return { q, peaks };
}

describe('append queue', () => {
  it('takes batches in order within the batch bounds, at least one item each', () => {
    const { q } = queue();
    for (const [name, n] of [
      ['a', 1],
      ['b', 2],
      ['c', 2],
      ['d', 6],
      ['e', 1],
    ] as const)
      q.offer(item(name, n));
    expect(q.ready).toBe(true);
    // 'd' (6 events) is over the queue bound but still goes: it waits until the queue is empty.
    expect(names(q.take())).toEqual(['a', 'b']);
    expect(names(q.take())).toEqual(['c']);
    expect(q.ready).toBe(false);
    q.release([item('a', 1), item('b', 2), item('c', 2)]);
    // Released room admits 'd' and 'e' (7 events); 'd' alone exceeds the batch bound.
    expect(names(q.take())).toEqual(['d']);
    expect(names(q.take())).toEqual(['e']);
    q.release([item('d', 6), item('e', 1)]);
    expect(q.empty).toBe(true);
  });

  it('parks appends past the bounds in FIFO order and never admits more than the bound', () => {
    const { q, peaks } = queue({ maxQueuedEvents: 3, maxBatchEvents: 100 });
    for (let i = 0; i < 10; i++) q.offer(item(`x${i}`, 1));
    const seen: string[] = [];
    while (q.ready) {
      const batch = q.take();
      seen.push(...names(batch));
      q.release(batch);
    }
    expect(seen).toEqual(Array.from({ length: 10 }, (_, i) => `x${i}`));
    expect(peaks.peakQueuedEvents).toBe(3);
    expect(q.empty).toBe(true);
  });

  it('bounds bytes as well as events', () => {
    const { q, peaks } = queue({ maxQueuedBytes: 25, maxBatchBytes: 15 });
    for (let i = 0; i < 4; i++) q.offer(item(`y${i}`, 1));
    expect(names(q.take())).toEqual(['y0']);
    expect(peaks.peakQueuedBytes).toBe(20);
    expect(q.empty).toBe(false);
  });

  it('handles a quarter of a million single-event appends without quadratic copying', () => {
    const { q } = queue({ maxQueuedEvents: 1 << 20, maxBatchEvents: 16_384, maxBatchBytes: 1 << 30 });
    const started = Date.now();
    for (let i = 0; i < 250_000; i++) q.offer(item('z', 1));
    let taken = 0;
    while (q.ready) {
      const batch = q.take();
      taken += batch.length;
      q.release(batch);
    }
    expect(taken).toBe(250_000);
    expect(Date.now() - started).toBeLessThan(2000);
  });
});

describe('cutting runs into server appends', () => {
  function pending(first: number, count: number, size = 100): PendingAppend {
    return {
      events: Array.from({ length: count }, (_, i) => numberedWrite(first + i)),
      eventCount: count,
      ids: Array.from({ length: count }, (_, i) => `id-${first + i}`),
      sizes: Array(count).fill(size),
      bytes: count * size,
      expectedPosition: undefined,
      ticket: 0,
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
