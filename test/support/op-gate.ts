/** A device operation held back until a scheduler releases it. */
export interface ParkedOp {
  /** What it is (`write /m1.img@4096+512`, `flush /m2.img`), for a stuck run's report. */
  readonly label: string;
  /** The member it goes to. */
  readonly member: string;
  /** Apply its effect and resolve its promise. */
  readonly release: () => void;
}

/** Most operations parked at once; the engine bounds its I/O far below this. */
const MAX_PARKED = 10_000;

/**
 * Where traced member operations wait (test/support/traced-members.ts): nothing completes until
 * the scheduler releases it, so which writes are done, in flight or flushed at any moment is a
 * choice of the seeded scheduler, not of timing.
 */
export class OpGate {
  private readonly queue: ParkedOp[] = [];

  /** Park an operation; `effect` runs when it is released, then the promise resolves. */
  park(label: string, member: string, effect: () => void): Promise<void> {
    if (this.queue.length >= MAX_PARKED) {
      return Promise.reject(new Error(`op gate: more than ${MAX_PARKED} operations parked (${label})`));
    }
    return new Promise<void>((resolve) => {
      this.queue.push({
        label,
        member,
        release: () => {
          effect();
          resolve();
        },
      });
    });
  }

  /** Operations parked, oldest first. */
  get parked(): readonly ParkedOp[] {
    return this.queue;
  }

  /** Release the parked operation at `index` (of {@link parked}). */
  release(index: number): void {
    const [op] = this.queue.splice(index, 1);
    if (!op) throw new Error(`op gate: no parked operation ${index} of ${this.queue.length}`);
    op.release();
  }
}
