import type { ChunkBitmap, ChunkRun } from '../../domain/chunk-bitmap.js';
import { chunkRunBlocks } from '../../domain/geometry.js';
import type { BlockDevice } from '../../domain/ports/block-device.js';
import type { RateLimiter } from '../../primitives/rate-limiter.js';
import { mayHoldData } from '../../projections/written-chunks.js';
import type { CopyParts } from './copy-parts.js';
import type { CopyOutcome, CopyTuning } from './copy-process.js';
import type { CopyProgress, CopyUnit } from './copy-progress.js';
import { UnitCopier } from './unit-copier.js';

/** A sparse unit spans at most this many units' worth of chunks (64 MiB at the default tuning). */
const SPARSE_SPAN_UNITS = 64;

/** How a pass ended short of its plan (all null: it copied every planned unit). */
export interface PassEnd {
  /** The first I/O error (a TargetError when the target failed), or null. */
  readonly failure: unknown;
  /** Why the pass stopped early without an error: aborted by the operator, or the engine closed. */
  readonly outcome: Extract<CopyOutcome, 'aborted' | 'stopped'> | null;
  /** The reason for `outcome`. */
  readonly reason: string | null;
}

/**
 * The copy pass: copies runs of chunks from a valid member (preferring the copy's source) to
 * the target, with up to `inFlight` units and `inFlightBytes` bytes in flight. Each unit holds
 * the range lock, so it and application writes to its blocks are serialised (invariant 3).
 */
export class CopyPass {
  /** Chunks per I/O unit (whole chunks; at least one). */
  private readonly unitChunks: number;
  private readonly chunkBytes: number;
  /** Unit buffers, reused: at most `inFlight` exist. */
  private readonly buffers: Uint8Array[] = [];
  private readonly pending = new Set<Promise<void>>();
  private bytesInFlight = 0;
  private failure: unknown = null;
  private readonly copier: UnitCopier;

  constructor(
    private readonly parts: CopyParts,
    /** The copy target's device. */
    readonly target: BlockDevice,
    source: string,
    private readonly progress: CopyProgress,
    private readonly rate: RateLimiter,
    private readonly tuning: CopyTuning,
  ) {
    const g = parts.geometry;
    this.chunkBytes = g.chunkBlocks * g.blockSize;
    this.unitChunks = Math.max(1, Math.floor(tuning.ioBytes / this.chunkBytes));
    this.copier = new UnitCopier(parts, target, source);
  }

  /** Copy `runs`, checkpointing the prefix as it grows; stops at the first error, abort or close. */
  async run(runs: Iterable<ChunkRun>, shouldAbort: () => string | null): Promise<PassEnd> {
    const { progress, tuning, pending } = this;
    let stop: Omit<PassEnd, 'failure'> | null = null;
    // Bounded: each step issues one unit or waits for one; units are finite (chunks of the volume).
    outer: for (const run of runs) {
      for (let first = run.first; first < run.first + run.count; ) {
        if (this.failure !== null || progress.checkpointFailure !== null) break outer;
        stop = this.stopRequested(shouldAbort);
        if (stop !== null) break outer;
        const unit = this.sparseUnit(first, run.first + run.count);
        this.issue(unit);
        first += unit.count;
        // Bounded: at most `inFlight` units and `inFlightBytes` bytes (one unit always goes).
        while (
          pending.size >= tuning.inFlight ||
          (pending.size > 0 && this.bytesInFlight >= tuning.inFlightBytes)
        ) {
          await Promise.race(pending);
        }
        progress.advance();
        if (this.failure === null && progress.checkpointDue()) {
          progress.checkpointInBackground();
          progress.report(false);
        }
      }
    }
    await Promise.all(pending);
    progress.advance();
    // A failed checkpoint ends the copy as before (the error reaches the scheduler), unless a
    // unit failed first: that failure decides how the copy ends.
    const checkpointError = await progress.settled().then(
      () => null,
      (error: unknown) => error,
    );
    if (this.failure === null && checkpointError !== null) throw checkpointError;
    return { failure: this.failure, outcome: stop?.outcome ?? null, reason: stop?.reason ?? null };
  }

  /** Copy the chunks of `chunks` again, one unit at a time (the multi-host catch-up). Throws on the first error. */
  async copyAgain(chunks: ChunkBitmap): Promise<void> {
    for (const run of chunks.runs()) {
      for (let first = run.first; first < run.first + run.count; first += this.unitChunks) {
        await this.copyUnit(this.unit(first, Math.min(this.unitChunks, run.first + run.count - first)));
      }
    }
  }

  private stopRequested(shouldAbort: () => string | null): Omit<PassEnd, 'failure'> | null {
    const abortReason = shouldAbort();
    if (abortReason !== null) return { outcome: 'aborted', reason: abortReason };
    if (this.parts.lifecycle.closing) {
      return {
        outcome: 'stopped',
        reason: 'engine closed; the copy resumes from its last checkpoint at next open',
      };
    }
    return null;
  }

  private unit(first: number, count: number, ioBytes?: number): CopyUnit {
    const g = this.parts.geometry;
    const bytes = chunkRunBlocks(g, first, count) * g.blockSize;
    return { first, count, bytes, ioBytes: ioBytes ?? bytes, done: false };
  }

  /**
   * The next unit from `first`, before `end`: `unitChunks` chunks that may hold data, with the
   * chunks between them that do not, up to SPARSE_SPAN_UNITS units' span. A sparse full copy then
   * moves a buffer of data per unit and punches one hole, instead of a unit per 1 MiB of volume.
   * `written` is read here only to size the unit; copyUnit decides again under the range lock.
   */
  private sparseUnit(first: number, end: number): CopyUnit {
    const written = this.parts.follower.state.written;
    const limit = Math.min(end, first + this.unitChunks * SPARSE_SPAN_UNITS);
    if (written === undefined || !written.vouches) {
      return this.unit(first, Math.min(this.unitChunks, end - first));
    }
    let next = first;
    let dataChunks = 0;
    // Bounded by `limit`.
    while (next < limit && dataChunks < this.unitChunks) {
      if (mayHoldData(written, next)) dataChunks++;
      next++;
    }
    return this.unit(first, next - first, Math.max(1, dataChunks) * this.chunkBytes);
  }

  private issue(unit: CopyUnit): void {
    this.progress.issued(unit);
    this.bytesInFlight += unit.ioBytes;
    const p = this.copyUnit(unit).then(
      () => {
        this.pending.delete(p);
        this.bytesInFlight -= unit.ioBytes;
      },
      (error: unknown) => {
        this.pending.delete(p);
        this.bytesInFlight -= unit.ioBytes;
        this.failure ??= error;
      },
    );
    this.pending.add(p);
  }

  private async copyUnit(unit: CopyUnit): Promise<void> {
    const g = this.parts.geometry;
    const lbn = unit.first * g.chunkBlocks;
    const blocks = unit.bytes / g.blockSize;
    await this.rate.take(unit.ioBytes);
    const buffer = this.buffers.pop() ?? new Uint8Array(this.unitChunks * this.chunkBytes);
    const release = await this.parts.rangeLock.acquire(lbn, lbn + blocks);
    try {
      // Under the range lock: a write to these chunks is either folded already (its bit is set)
      // or waits for the lock and then reaches the target itself.
      await this.copier.copy(unit.first, unit.count, buffer, this.parts.follower.state.written);
    } finally {
      release();
      this.buffers.push(buffer);
    }
    unit.done = true;
  }
}
