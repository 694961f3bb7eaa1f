import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvariantViolationError } from '../../domain/errors.js';
import { RangeLock } from '../../primitives/range-lock.js';

/** Let every pending microtask and promise continuation run. */
async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await Promise.resolve();
}

describe('RangeLock', () => {
  it('grants disjoint ranges at once, and touching half-open ranges do not conflict', async () => {
    const lock = new RangeLock();
    const a = await lock.acquire(0, 10);
    const b = await lock.acquire(10, 20);
    const c = await lock.acquire(100, 101);
    expect(lock.size).toBe(3);
    a();
    b();
    c();
    expect(lock.size).toBe(0);
  });

  it('makes an overlapping request wait until the holder releases', async () => {
    const lock = new RangeLock();
    const first = await lock.acquire(0, 10);
    let granted = false;
    const second = lock.acquire(9, 12).then((release) => {
      granted = true;
      return release;
    });
    await settle();
    expect(granted).toBe(false);
    first();
    (await second)();
    expect(granted).toBe(true);
    expect(lock.size).toBe(0);
  });

  it('grants in request order: a later request waits behind an earlier waiting one it overlaps', async () => {
    const lock = new RangeLock();
    const order: string[] = [];
    const noting = (name: string) => (release: () => void) => {
      order.push(name);
      return release;
    };
    const a = await lock.acquire(0, 10);
    // B waits for A; C does not overlap A but overlaps B, so it waits for B (no overtaking).
    const b = lock.acquire(5, 15).then(noting('B'));
    const c = lock.acquire(12, 20).then(noting('C'));
    // D overlaps nothing earlier: it goes at once.
    const d = lock.acquire(30, 40).then(noting('D'));
    await settle();
    expect(order).toEqual(['D']);
    a();
    const releaseB = await b;
    await settle();
    expect(order).toEqual(['D', 'B']);
    releaseB();
    (await c)();
    (await d)();
    expect(order).toEqual(['D', 'B', 'C']);
  });

  it('release is idempotent: a second call does not free another holder', async () => {
    const lock = new RangeLock();
    const a = await lock.acquire(0, 4);
    a();
    const b = await lock.acquire(0, 4);
    a();
    let granted = false;
    const c = lock.acquire(2, 3).then((r) => {
      granted = true;
      return r;
    });
    await settle();
    expect(granted).toBe(false);
    b();
    (await c)();
    expect(lock.size).toBe(0);
  });

  it('refuses an empty or inverted range', async () => {
    const lock = new RangeLock();
    await expect(lock.acquire(5, 5)).rejects.toBeInstanceOf(InvariantViolationError);
    await expect(lock.acquire(6, 5)).rejects.toBeInstanceOf(InvariantViolationError);
    expect(lock.size).toBe(0);
  });

  it('never grants two overlapping holders, grants overlapping requests in order, and never deadlocks', async () => {
    const request = fc.record({
      start: fc.integer({ min: 0, max: 40 }),
      length: fc.integer({ min: 1, max: 12 }),
      holdTicks: fc.integer({ min: 0, max: 6 }),
    });
    await fc.assert(
      fc.asyncProperty(fc.array(request, { minLength: 1, maxLength: 25 }), async (requests) => {
        const lock = new RangeLock();
        const held = new Map<number, { start: number; end: number }>();
        const grantOrder: number[] = [];
        const runs = requests.map(async (r, i) => {
          const end = r.start + r.length;
          const release = await lock.acquire(r.start, end);
          for (const other of held.values()) {
            expect(other.start < end && r.start < other.end).toBe(false);
          }
          held.set(i, { start: r.start, end });
          grantOrder.push(i);
          for (let t = 0; t < r.holdTicks; t++) await Promise.resolve();
          held.delete(i);
          release();
        });
        await Promise.all(runs);
        expect(lock.size).toBe(0);
        expect(grantOrder.length).toBe(requests.length);
        const grantedAt = new Map(grantOrder.map((index, rank) => [index, rank]));
        for (let i = 0; i < requests.length; i++) {
          for (let j = i + 1; j < requests.length; j++) {
            const a = requests[i]!;
            const b = requests[j]!;
            if (a.start < b.start + b.length && b.start < a.start + a.length) {
              expect(grantedAt.get(i)!).toBeLessThan(grantedAt.get(j)!);
            }
          }
        }
      }),
      { numRuns: 200 },
    );
  });
});
