import { assert } from '../../domain/errors.js';

/** A connection's request waiting for server-wide budget. */
interface Waiter {
  readonly costBytes: number;
  readonly owner: object;
  readonly resolve: (admitted: boolean) => void;
  timer: NodeJS.Timeout | undefined;
}

/**
 * The server-wide bound on payload and reply bytes in flight, shared by every connection (each
 * connection also has its own {@link InFlightBudget}). Without it the bound was per connection
 * only: 40 connections pipelining 32 MiB reads held 1.5 GB. A request is admitted before its
 * payload is read or its reply buffer allocated; when the budget is spent it waits, first come
 * first served (a large request is not starved by small ones), and at most `maxWaitMs`: then it
 * is refused (the caller answers it with an error) rather than waiting without a bound behind
 * clients that do not read their replies. One request larger than the whole budget is admitted
 * alone. Waiters are bounded: each connection's request loop waits for one request at a time.
 */
export class SharedBudget {
  private bytes = 0;
  private peak = 0;
  private readonly waiters: Waiter[] = [];

  constructor(
    /** Byte bound shared by all connections. */
    readonly maxBytes: number,
    /** Longest a request waits for budget before it is refused. */
    readonly maxWaitMs: number,
  ) {}

  /** Bytes charged now, over every connection. */
  get inFlightBytes(): number {
    return this.bytes;
  }

  /** The most bytes ever charged at once: evidence of the bound. */
  get peakInFlightBytes(): number {
    return this.peak;
  }

  /** Requests waiting for budget now. */
  get waiting(): number {
    return this.waiters.length;
  }

  /**
   * Admit a request of `costBytes` for `owner` (its connection). Undefined when admitted at
   * once (the hot path allocates no promise); else a promise of true once admitted, or false
   * when it waited `maxWaitMs` or was cancelled (nothing is charged then).
   */
  admit(costBytes: number, owner: object): Promise<boolean> | undefined {
    if (this.waiters.length === 0 && this.fits(costBytes)) {
      this.charge(costBytes);
      return undefined;
    }
    return new Promise<boolean>((resolve) => {
      const waiter: Waiter = { costBytes, owner, resolve, timer: undefined };
      waiter.timer = setTimeout(() => this.drop(waiter), this.maxWaitMs);
      waiter.timer.unref();
      this.waiters.push(waiter);
    });
  }

  /** Return a request's charge and admit the waiters that fit now, in order. */
  release(costBytes: number): void {
    this.bytes -= costBytes;
    assert(this.bytes >= 0, `shared NBD budget released ${costBytes} bytes more than it charged`);
    // Bounded by the waiters (one per connection).
    while (this.waiters.length > 0 && this.fits(this.waiters[0]!.costBytes)) {
      const waiter = this.waiters.shift()!;
      clearTimeout(waiter.timer);
      this.charge(waiter.costBytes);
      waiter.resolve(true);
    }
  }

  /** The owner's connection is going away: its waiting request gets false. */
  cancel(owner: object): void {
    const waiter = this.waiters.find((w) => w.owner === owner);
    if (waiter) this.drop(waiter);
  }

  private drop(waiter: Waiter): void {
    const at = this.waiters.indexOf(waiter);
    if (at < 0) return;
    this.waiters.splice(at, 1);
    clearTimeout(waiter.timer);
    waiter.resolve(false);
    // The head may have changed: a smaller request behind the dropped one may fit now.
    this.release(0);
  }

  private fits(costBytes: number): boolean {
    return this.bytes === 0 || this.bytes + costBytes <= this.maxBytes;
  }

  private charge(costBytes: number): void {
    this.bytes += costBytes;
    if (this.bytes > this.peak) this.peak = this.bytes;
  }
}
