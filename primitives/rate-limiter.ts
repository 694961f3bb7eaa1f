/**
 * Token bucket for copy bandwidth (like md's speed_limit_max or DRBD's c-max-rate): a copy
 * may burst one second's worth, then runs at `bytesPerSecond`. Null means unlimited.
 */
export class RateLimiter {
  private tokens: number;
  private last = performance.now();

  constructor(private readonly bytesPerSecond: number | null) {
    this.tokens = bytesPerSecond ?? 0;
  }

  /** Wait until `bytes` may be transferred. */
  async take(bytes: number): Promise<void> {
    const rate = this.bytesPerSecond;
    if (rate === null) return;
    const now = performance.now();
    this.tokens = Math.min(rate, this.tokens + ((now - this.last) / 1000) * rate);
    this.last = now;
    this.tokens -= bytes;
    if (this.tokens < 0) {
      const waitMs = (-this.tokens / rate) * 1000;
      await new Promise((resolve) => setTimeout(resolve, waitMs));
    }
  }
}
