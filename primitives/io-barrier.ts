/**
 * Shared/exclusive gate between application writes and membership changes. A write holds it
 * shared from before its event is appended until its data is on every member; a membership
 * change (dismount, copy start, merge start) holds it exclusive, so it sees no write in flight:
 * every write before it has completed on the old member list and every write after it uses
 * the new one. Exclusive requests have priority, so a steady write load cannot starve them.
 *
 * Lock order: take the barrier before the control mutex, never the reverse.
 */
export class IoBarrier {
  private shared = 0;
  private exclusive = false;
  private exclusiveWaiting = 0;
  private readonly sharedQueue: (() => void)[] = [];
  private readonly exclusiveQueue: (() => void)[] = [];

  /** Enter shared (an application write). */
  async enterShared(): Promise<void> {
    if (!this.exclusive && this.exclusiveWaiting === 0) {
      this.shared++;
      return;
    }
    await new Promise<void>((resolve) => this.sharedQueue.push(resolve));
  }

  /** Leave shared. */
  leaveShared(): void {
    this.shared--;
    if (this.shared === 0) this.wakeExclusive();
  }

  /** Enter exclusive (a membership change): waits for every shared holder to leave. */
  async enterExclusive(): Promise<void> {
    if (!this.exclusive && this.shared === 0 && this.exclusiveWaiting === 0) {
      this.exclusive = true;
      return;
    }
    this.exclusiveWaiting++;
    await new Promise<void>((resolve) => this.exclusiveQueue.push(resolve));
  }

  /** Leave exclusive. */
  leaveExclusive(): void {
    this.exclusive = false;
    if (this.exclusiveQueue.length > 0) {
      this.wakeExclusive();
      return;
    }
    // Let every waiting write in at once: they were held back only by this change.
    const queued = this.sharedQueue.splice(0);
    this.shared += queued.length;
    for (const resume of queued) resume();
  }

  /** Run `fn` holding the barrier exclusively. */
  async runExclusive<T>(fn: () => Promise<T>): Promise<T> {
    await this.enterExclusive();
    try {
      return await fn();
    } finally {
      this.leaveExclusive();
    }
  }

  /** Writes in flight. */
  get inFlight(): number {
    return this.shared;
  }

  private wakeExclusive(): void {
    if (this.exclusive || this.shared > 0) return;
    const next = this.exclusiveQueue.shift();
    if (!next) return;
    this.exclusiveWaiting--;
    this.exclusive = true;
    next();
  }
}
