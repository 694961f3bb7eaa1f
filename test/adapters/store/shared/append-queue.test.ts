import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  AppendQueue,
  type AppendQueueLimits,
  type AppendQueuePeaks,
} from '../../../../adapters/store/shared/append-queue.js';
import {
  type PendingAppend,
  rejectAppend,
  resolveAppend,
} from '../../../../adapters/store/shared/pending-append.js';

/** A test append: `prepared` is its name; counts how often it was settled. */
type Item = PendingAppend<string> & { resolved: number; rejected: number };

function item(name: string, eventCount: number, bytes = eventCount * 10): Item {
  const it: Item = {
    prepared: name,
    eventCount,
    bytes,
    expectedPosition: undefined,
    settled: false,
    resolved: 0,
    rejected: 0,
    resolve: () => {
      it.resolved++;
    },
    reject: () => {
      it.rejected++;
    },
  };
  return it;
}
const ignore = () => undefined;
/** An append for the volume tests: no counters, shared settle functions. */
function bulkItem(name: string): PendingAppend<string> {
  return {
    prepared: name,
    eventCount: 1,
    bytes: 10,
    expectedPosition: undefined,
    settled: false,
    resolve: ignore,
    reject: ignore,
  };
}
const names = (items: readonly PendingAppend<string>[]) => items.map((i) => i.prepared);

function queue(limits: Partial<AppendQueueLimits> = {}) {
  const peaks: AppendQueuePeaks = { peakQueuedEvents: 0, peakQueuedBytes: 0 };
  const q = new AppendQueue<string>(
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
    for (let i = 0; i < 250_000; i++) q.offer(bulkItem('z'));
    let taken = 0;
    while (q.ready) {
      const batch = q.take();
      taken += batch.length;
      q.release(batch);
    }
    expect(taken).toBe(250_000);
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('takes in O(batch) when the backlog never drains (a ring, no copy of the rest)', () => {
    // Keep ~100k appends queued while 1M pass through in batches of 64: copying the backlog
    // at each take would cost 100k * 15k batches.
    const { q } = queue({ maxQueuedEvents: 1 << 20, maxBatchEvents: 64, maxBatchBytes: 1 << 30 });
    for (let i = 0; i < 100_000; i++) q.offer(bulkItem('w'));
    const started = Date.now();
    let taken = 0;
    for (let round = 0; round < 15_625; round++) {
      const batch = q.take();
      taken += batch.length;
      q.release(batch);
      for (let i = 0; i < batch.length; i++) q.offer(bulkItem('w'));
    }
    expect(taken).toBe(1_000_000);
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it('an append is pending until settled through its promise; rejectWaiting rejects admitted and parked ones', async () => {
    const { q } = queue({ maxQueuedEvents: 2 });
    const first = q.append('a', 2, 20, undefined);
    const parked = q.append('b', 1, 10, 7);
    const batch = q.take();
    expect(batch.map((p) => [p.prepared, p.expectedPosition])).toEqual([['a', undefined]]);
    resolveAppend(batch[0]!, 41);
    expect(await first).toBe(41);
    q.release(batch);
    expect(q.ready).toBe(true);
    const failure = new Error('disk gone');
    q.rejectWaiting(failure);
    await expect(parked).rejects.toBe(failure);
    expect(q.ready).toBe(false);
    expect(q.empty).toBe(true);
  });
});

describe('append queue properties', () => {
  type Command =
    | { readonly kind: 'offer'; readonly events: number; readonly bytes: number }
    | { readonly kind: 'take' }
    | { readonly kind: 'finish'; readonly outcome: 'resolve' | 'reject' | 'fail-after-resolving' }
    | { readonly kind: 'rejectWaiting' };

  const limitsArb = fc.record({
    maxQueuedEvents: fc.integer({ min: 1, max: 40 }),
    maxQueuedBytes: fc.integer({ min: 1, max: 400 }),
    maxBatchEvents: fc.integer({ min: 1, max: 20 }),
    maxBatchBytes: fc.integer({ min: 1, max: 200 }),
  });
  const commandArb: fc.Arbitrary<Command> = fc.oneof(
    {
      weight: 4,
      arbitrary: fc.record({
        kind: fc.constant('offer' as const),
        events: fc.integer({ min: 1, max: 50 }),
        bytes: fc.integer({ min: 1, max: 500 }),
      }),
    },
    { weight: 3, arbitrary: fc.constant({ kind: 'take' as const }) },
    {
      weight: 3,
      arbitrary: fc.record({
        kind: fc.constant('finish' as const),
        outcome: fc.constantFrom('resolve' as const, 'reject' as const, 'fail-after-resolving' as const),
      }),
    },
    { weight: 1, arbitrary: fc.constant({ kind: 'rejectWaiting' as const }) },
  );

  /**
   * Drive a queue as a writer does -- offer, take batches (several may be in flight), settle
   * and release them, sometimes fail everything waiting -- then drain it, and check:
   * batches come out in offer order, within the batch bounds (or alone); what is admitted
   * never exceeds the queue bounds unless a single oversized append is alone; every append
   * is settled exactly once; the queue ends empty.
   */
  it('keeps FIFO order and the bounds, and settles every append exactly once', () => {
    fc.assert(
      fc.property(limitsArb, fc.array(commandArb, { maxLength: 120 }), (limits, commands) => {
        const peaks: AppendQueuePeaks = { peakQueuedEvents: 0, peakQueuedBytes: 0 };
        const q = new AppendQueue<string>(limits, peaks);
        const offered: Item[] = [];
        const inFlight: Item[][] = [];
        const takenOrder: number[] = [];
        const take = () => {
          const batch = q.take() as Item[];
          const events = batch.reduce((n, b) => n + b.eventCount, 0);
          const bytes = batch.reduce((n, b) => n + b.bytes, 0);
          if (batch.length > 1) {
            expect(events).toBeLessThanOrEqual(limits.maxBatchEvents);
            expect(bytes).toBeLessThanOrEqual(limits.maxBatchBytes);
          }
          for (const b of batch) takenOrder.push(Number(b.prepared));
          inFlight.push(batch);
        };
        const finish = (outcome: 'resolve' | 'reject' | 'fail-after-resolving') => {
          const batch = inFlight.shift()!;
          batch.forEach((b, i) => {
            if (outcome === 'resolve') resolveAppend(b, i);
            else if (outcome === 'reject') rejectAppend(b, new Error('refused'));
            else if (i % 2 === 0) resolveAppend(b, i);
          });
          // A failing writer rejects the whole batch, appends already resolved included.
          if (outcome === 'fail-after-resolving') for (const b of batch) rejectAppend(b, new Error('failed'));
          q.release(batch);
        };
        for (const command of commands) {
          if (command.kind === 'offer') {
            const it = item(String(offered.length), command.events, command.bytes);
            offered.push(it);
            q.offer(it);
          } else if (command.kind === 'take') {
            if (q.ready) take();
          } else if (command.kind === 'finish') {
            if (inFlight.length > 0) finish(command.outcome);
          } else {
            q.rejectWaiting(new Error('fail-stop'));
          }
          const largest = offered.reduce((m, o) => Math.max(m, o.eventCount), 0);
          const largestBytes = offered.reduce((m, o) => Math.max(m, o.bytes), 0);
          expect(peaks.peakQueuedEvents).toBeLessThanOrEqual(Math.max(limits.maxQueuedEvents, largest));
          expect(peaks.peakQueuedBytes).toBeLessThanOrEqual(Math.max(limits.maxQueuedBytes, largestBytes));
        }
        // Drain: bounded, since every round settles a batch or takes one.
        for (let guard = 0; guard < 10_000 && (q.ready || inFlight.length > 0); guard++) {
          if (inFlight.length > 0) finish('resolve');
          else take();
        }
        expect(q.empty).toBe(true);
        for (let i = 1; i < takenOrder.length; i++)
          expect(takenOrder[i]!).toBeGreaterThan(takenOrder[i - 1]!);
        for (const o of offered) expect(o.resolved + o.rejected).toBe(1);
      }),
      { numRuns: 300 },
    );
  });

  it('never admits past the bounds appends that fit them', () => {
    fc.assert(
      fc.property(
        limitsArb,
        fc.array(fc.tuple(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 400 })), {
          maxLength: 80,
        }),
        fc.array(fc.boolean(), { maxLength: 80 }),
        (limits, sizes, takes) => {
          const peaks: AppendQueuePeaks = { peakQueuedEvents: 0, peakQueuedBytes: 0 };
          const q = new AppendQueue<string>(limits, peaks);
          const fitting = sizes.filter(([e, b]) => e <= limits.maxQueuedEvents && b <= limits.maxQueuedBytes);
          fitting.forEach(([e, b], i) => {
            q.offer(item(String(i), e, b));
            if (takes[i] && q.ready) q.release(q.take());
          });
          expect(peaks.peakQueuedEvents).toBeLessThanOrEqual(limits.maxQueuedEvents);
          expect(peaks.peakQueuedBytes).toBeLessThanOrEqual(limits.maxQueuedBytes);
        },
      ),
      { numRuns: 300 },
    );
  });
});
