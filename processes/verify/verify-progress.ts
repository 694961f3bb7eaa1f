import type { ProgressSink } from '../engine/engine-parts.js';
import { VERIFY_PROGRESS_MEMBER } from '../engine/progress-update.js';

/** Updates on the progress stream are at most this often (plus the first and the last). */
export const VERIFY_PROGRESS_INTERVAL_MS = 100;

/**
 * A verify's progress on the engine's progress stream, so a client of a running server can
 * draw the same bar as an offline verify (it polls `GET /api/state`). Bounded: one update at
 * the start, at most one per {@link VERIFY_PROGRESS_INTERVAL_MS} after, and a final one.
 */
export class VerifyProgress {
  private lastMs = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly sink: ProgressSink,
    private readonly chunksPlanned: number,
    private readonly chunkBytes: number,
    private readonly bytesPlanned: number,
  ) {}

  /** `chunksDone` chunks are compared; reported when the interval has passed. */
  report(chunksDone: number): void {
    const now = performance.now();
    if (now - this.lastMs < VERIFY_PROGRESS_INTERVAL_MS) return;
    this.lastMs = now;
    this.send(chunksDone, false);
  }

  /** The last update, whether or not the interval has passed (also when verify failed). */
  finish(chunksDone: number): void {
    this.send(chunksDone, true);
  }

  private send(chunksDone: number, finished: boolean): void {
    this.sink.next({
      kind: 'verify',
      member: VERIFY_PROGRESS_MEMBER,
      chunksDone,
      chunksPlanned: this.chunksPlanned,
      // The last chunk may be short: never report more bytes than the volume holds.
      bytesDone: Math.min(chunksDone * this.chunkBytes, this.bytesPlanned),
      bytesPlanned: this.bytesPlanned,
      finished,
    });
  }
}
