/**
 * Background work the engine started and must wait for before it closes (the crash merge,
 * copies resumed at open, background syncs). A task's failure is reported where it happens
 * (warnings, a copy result); here it is only awaited.
 */
export class BackgroundTasks {
  private readonly running = new Set<Promise<unknown>>();

  /** Track `work` until it settles. */
  track(work: Promise<unknown>): void {
    const p = work.catch(() => undefined);
    this.running.add(p);
    void p.finally(() => this.running.delete(p));
  }

  /** Resolves when every task tracked so far has settled. */
  async settle(): Promise<void> {
    await Promise.allSettled([...this.running]);
  }

  /** Tasks running now. */
  get size(): number {
    return this.running.size;
  }
}
