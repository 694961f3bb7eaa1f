import { assert } from '../domain/errors.js';

/**
 * A counting semaphore with a FIFO queue: bounds concurrent copies per engine (OpenVMS
 * SHADOW_MAX_COPY) and, with one permit, serialises control decisions.
 */
export class Semaphore {
  private available: number;
  private readonly waiters: (() => void)[] = [];

  constructor(readonly permits: number) {
    assert(
      Number.isSafeInteger(permits) && permits > 0,
      `semaphore needs at least one permit, got ${permits}`,
    );
    this.available = permits;
  }

  /** Wait for a permit. */
  async acquire(): Promise<void> {
    if (this.available > 0) {
      this.available--;
      return;
    }
    await new Promise<void>((resolve) => this.waiters.push(resolve));
  }

  /** Give a permit back (to the oldest waiter first). */
  release(): void {
    const next = this.waiters.shift();
    if (next) next();
    else {
      this.available++;
      assert(this.available <= this.permits, 'semaphore released more often than acquired');
    }
  }

  /** Run `fn` holding a permit. */
  async run<T>(fn: () => Promise<T>): Promise<T> {
    await this.acquire();
    try {
      return await fn();
    } finally {
      this.release();
    }
  }

  /** Permits free now. */
  get free(): number {
    return this.available;
  }
}
