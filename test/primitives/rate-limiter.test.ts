import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { RateLimiter } from '../../primitives/rate-limiter.js';

const MiB = 1024 * 1024;

describe('RateLimiter', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'performance'] });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  /** Resolves to true once `p` settles within `ms` of fake time. */
  async function settlesWithin(p: Promise<unknown>, ms: number): Promise<boolean> {
    let done = false;
    void p.then(() => {
      done = true;
    });
    await vi.advanceTimersByTimeAsync(ms);
    return done;
  }

  it('never waits when unlimited', async () => {
    const limiter = new RateLimiter(null);
    for (let i = 0; i < 100; i++) expect(await settlesWithin(limiter.take(100 * MiB), 0)).toBe(true);
  });

  it('lets one second worth through at once (the burst)', async () => {
    const limiter = new RateLimiter(10 * MiB);
    expect(await settlesWithin(limiter.take(10 * MiB), 0)).toBe(true);
  });

  it('past the burst, waits as long as the excess takes at the rate', async () => {
    const limiter = new RateLimiter(10 * MiB);
    await limiter.take(10 * MiB);
    // 5 MiB more at 10 MiB/s: 500 ms.
    const next = limiter.take(5 * MiB);
    expect(await settlesWithin(next, 490)).toBe(false);
    expect(await settlesWithin(next, 20)).toBe(true);
  });

  it('holds the long-run rate: 50 MiB in 1 MiB steps take about 4 s after a 10 MiB burst', async () => {
    const limiter = new RateLimiter(10 * MiB);
    const started = performance.now();
    const run = (async () => {
      for (let i = 0; i < 50; i++) await limiter.take(MiB);
      return performance.now() - started;
    })();
    await vi.advanceTimersByTimeAsync(10_000);
    const elapsedMs = await run;
    expect(elapsedMs).toBeGreaterThanOrEqual(3_900);
    expect(elapsedMs).toBeLessThanOrEqual(4_100);
  });

  it('refills while idle, but never beyond one second worth', async () => {
    const limiter = new RateLimiter(10 * MiB);
    await limiter.take(10 * MiB);
    await vi.advanceTimersByTimeAsync(60_000);
    // A minute idle buys one second worth, not sixty.
    expect(await settlesWithin(limiter.take(10 * MiB), 0)).toBe(true);
    expect(await settlesWithin(limiter.take(MiB), 50)).toBe(false);
  });
});
