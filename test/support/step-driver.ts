import type { EventStore } from '../../domain/ports/event-store.js';
import type { CrashTrace } from './crash-trace.js';
import type { OpGate } from './op-gate.js';

/** Event-loop turns with nothing changing before the system counts as quiet. */
const STABLE_TURNS = 3;
/** Longest wait for the log to finish its I/O after a step (real files; generous for a loaded machine). */
const QUIESCE_TIMEOUT_MS = 20_000;
/** Most steps of one drive: far above what a few hundred writes take. */
const MAX_STEPS = 200_000;

/**
 * Runs the engine one step at a time so that a run is a function of its seed. After every step
 * it waits until the system is quiet: no append or read of the log in flight (the only real
 * I/O left: the log is real files) and, for a few event-loop turns, no new trace entry and no
 * newly parked device operation. Then the seeded random source picks the next step: release
 * one parked member operation, or every parked operation of one member. Because the log is
 * quiet before each step, which appends share a group-commit batch depends only on the steps.
 */
export class StepDriver {
  private busy = 0;
  /** Steps taken so far. */
  steps = 0;

  constructor(
    private readonly gate: OpGate,
    private readonly trace: CrashTrace,
    private readonly random: () => number,
  ) {}

  /** The store the engine uses: counts the log's I/O in flight; `onAppended` runs before the appender resumes. */
  wrapStore(inner: EventStore, onAppended: (lastPosition: number) => void): EventStore {
    return {
      append: (events, options) => {
        this.busy++;
        return inner.append(events, options).then(
          (last) => {
            this.busy--;
            onAppended(last);
            return last;
          },
          (error: unknown) => {
            this.busy--;
            throw error;
          },
        );
      },
      read: (from, to, options) => this.tracked(inner.read(from, to, options)),
      subscribe: (from, onBatch) => inner.subscribe(from, onBatch),
      lastPosition: () => inner.lastPosition(),
      close: () => inner.close(),
    };
  }

  private async *tracked<T>(iterable: AsyncIterable<T>): AsyncGenerator<T> {
    this.busy++;
    try {
      yield* iterable;
    } finally {
      this.busy--;
    }
  }

  /** Wait until the log is idle and nothing changed for a few event-loop turns. */
  async quiesce(): Promise<void> {
    const deadline = Date.now() + QUIESCE_TIMEOUT_MS;
    let stable = 0;
    let last = '';
    // Bounded by the deadline.
    while (stable < STABLE_TURNS) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      const signature = `${this.trace.length}:${this.gate.parked.length}:${this.busy}`;
      stable = this.busy === 0 && signature === last ? stable + 1 : 0;
      last = signature;
      if (Date.now() > deadline) {
        throw new Error(`step driver: the log stayed busy for ${QUIESCE_TIMEOUT_MS} ms (${this.busy} calls)`);
      }
    }
  }

  /** Release parked operations (one, or all of one member); false when none is parked. */
  releaseSome(): boolean {
    const parked = this.gate.parked;
    if (parked.length === 0) return false;
    this.steps++;
    if (this.steps > MAX_STEPS) throw new Error(`step driver: more than ${MAX_STEPS} steps`);
    const pick = Math.floor(this.random() * parked.length);
    if (this.random() < 0.2) {
      const member = parked[pick]!.member;
      const ops = parked.filter((op) => op.member === member);
      for (const op of ops) this.gate.release(parked.indexOf(op));
    } else {
      this.gate.release(pick);
    }
    return true;
  }

  /** Step until `promise` settles; fails when nothing is parked, the log is idle and it has not. */
  async drive<T>(promise: Promise<T>, what: string): Promise<T> {
    let settled = false;
    promise.then(
      () => {
        settled = true;
      },
      () => {
        settled = true;
      },
    );
    // Bounded by MAX_STEPS (releaseSome) and the stuck check.
    for (;;) {
      await this.quiesce();
      if (settled) return promise;
      if (!this.releaseSome()) throw this.stuck(what);
    }
  }

  /** The error of a run that can make no progress. */
  stuck(what: string): Error {
    return new Error(
      `step driver: ${what} cannot finish: no member operation is parked and the log is idle (trace entry ${this.trace.length})`,
    );
  }
}
