/**
 * Per-connection admission control: bytes (request payloads held plus replies not yet handed to
 * the kernel) and a request count. The connection's request loop asks for admission before it
 * reads a request's payload; while it waits it reads nothing, so the socket reader fills and pauses
 * the socket. One request larger than the whole budget is admitted alone, so a budget below the
 * maximum payload degrades to one request at a time instead of deadlocking.
 */
export class InFlightBudget {
  private bytes = 0;
  private requests = 0;
  private peak = 0;
  private admissionWaiter: { readonly costBytes: number; readonly resolve: () => void } | undefined;
  private idleWaiters: Array<() => void> = [];

  constructor(
    /** Byte bound. */
    readonly maxBytes: number,
    /** Request-count bound. */
    readonly maxRequests: number,
  ) {}

  /** Bytes currently charged. */
  get inFlightBytes(): number {
    return this.bytes;
  }

  /** Requests currently admitted and not yet released. */
  get inFlightRequests(): number {
    return this.requests;
  }

  /** Highest byte charge seen: lets tests show the bound holds. */
  get peakInFlightBytes(): number {
    return this.peak;
  }

  /**
   * Admit a request costing `costBytes`. Returns undefined when admitted at once (the hot path
   * allocates no promise), else a promise that resolves on admission. Only one caller (the
   * connection's sequential request loop) may wait at a time.
   */
  admit(costBytes: number): Promise<void> | undefined {
    if (this.fits(costBytes)) {
      this.charge(costBytes);
      return undefined;
    }
    if (this.admissionWaiter) throw new Error('InFlightBudget admits one waiter at a time');
    return new Promise<void>((resolve) => {
      this.admissionWaiter = { costBytes, resolve };
    });
  }

  /** Return a request's charge. */
  release(costBytes: number): void {
    this.bytes -= costBytes;
    this.requests -= 1;
    const waiter = this.admissionWaiter;
    if (waiter && this.fits(waiter.costBytes)) {
      this.admissionWaiter = undefined;
      this.charge(waiter.costBytes);
      waiter.resolve();
    }
    if (this.requests === 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const resolve of waiters) resolve();
    }
  }

  /** Resolves when nothing is in flight. */
  whenIdle(): Promise<void> {
    if (this.requests === 0) return Promise.resolve();
    return new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  private fits(costBytes: number): boolean {
    if (this.requests >= this.maxRequests) return false;
    return this.requests === 0 || this.bytes + costBytes <= this.maxBytes;
  }

  private charge(costBytes: number): void {
    this.bytes += costBytes;
    this.requests += 1;
    if (this.bytes > this.peak) this.peak = this.bytes;
  }
}
