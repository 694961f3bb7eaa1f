import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvariantViolationError } from '../../domain/errors.js';
import { Semaphore } from '../../primitives/semaphore.js';

async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await Promise.resolve();
}

describe('Semaphore', () => {
  it('needs a positive whole number of permits', () => {
    expect(() => new Semaphore(0)).toThrow(InvariantViolationError);
    expect(() => new Semaphore(-1)).toThrow(InvariantViolationError);
    expect(() => new Semaphore(1.5)).toThrow(InvariantViolationError);
  });

  it('grants up to its permits at once, then makes acquirers wait', async () => {
    const s = new Semaphore(2);
    await s.acquire();
    await s.acquire();
    expect(s.free).toBe(0);
    let third = false;
    const waiting = s.acquire().then(() => {
      third = true;
    });
    await settle();
    expect(third).toBe(false);
    s.release();
    await waiting;
    expect(third).toBe(true);
    expect(s.free).toBe(0);
    s.release();
    s.release();
    expect(s.free).toBe(2);
  });

  it('hands a released permit to the oldest waiter first (FIFO)', async () => {
    const s = new Semaphore(1);
    await s.acquire();
    const order: number[] = [];
    const waiters = [1, 2, 3].map((n) => s.acquire().then(() => order.push(n)));
    for (let i = 0; i < 3; i++) {
      s.release();
      await settle();
    }
    await Promise.all(waiters);
    expect(order).toEqual([1, 2, 3]);
    s.release();
    expect(s.free).toBe(1);
  });

  it('refuses a release without an acquire', () => {
    const s = new Semaphore(1);
    expect(() => s.release()).toThrow(/released more often than acquired/);
  });

  it('run releases its permit when the work throws', async () => {
    const s = new Semaphore(1);
    await expect(s.run(async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(s.free).toBe(1);
    expect(await s.run(async () => 7)).toBe(7);
  });

  it('never lets more than `permits` tasks run at once, and starts them in call order', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 4 }),
        fc.array(fc.integer({ min: 0, max: 5 }), { minLength: 1, maxLength: 30 }),
        async (permits, durations) => {
          const s = new Semaphore(permits);
          let running = 0;
          let peak = 0;
          const started: number[] = [];
          await Promise.all(
            durations.map((ticks, i) =>
              s.run(async () => {
                started.push(i);
                running++;
                peak = Math.max(peak, running);
                for (let t = 0; t < ticks; t++) await Promise.resolve();
                running--;
              }),
            ),
          );
          expect(peak).toBeLessThanOrEqual(permits);
          expect(started).toEqual(durations.map((_, i) => i));
          expect(s.free).toBe(permits);
        },
      ),
      { numRuns: 200 },
    );
  });
});
