import type { ChunkBitmap, ChunkRun } from '../../domain/chunk-bitmap.js';
import type { BlockDevice } from '../../domain/ports/block-device.js';
import type { RateLimiter } from '../../primitives/rate-limiter.js';
import type { CopyParts } from './copy-parts.js';
import type { CopyOutcome, CopyTuning } from './copy-process.js';
import type { CopyProgress, CopyUnit } from './copy-progress.js';
import { UnitCopier } from './unit-copier.js';
import { UnitPlanner } from './unit-planner.js';

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
  /**
   * The target held no storage when this pass began (an image file with no allocated block:
   * every byte reads as zero), so chunks that never held data need no hole punched: a fresh
   * sparse member takes a sparse full copy without one fallocate per gap. The chunks this pass
   * copies are the only ones it writes, and an application write that reaches the target
   * meanwhile marks its chunk written (the unit then copies it), so the rest stay zero.
   */
  private zeroesRead = false;

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
    const planner = new UnitPlanner(
      runs,
      this.parts.geometry,
      this.unitChunks,
      () => this.parts.follower.state.written,
    );
    this.zeroesRead = (await this.target.allocatedBytes?.()) === 0;
    for (let unit = planner.next(); unit !== null; unit = planner.next()) {
      if (this.failure !== null || progress.checkpointFailure !== null) break;
      stop = this.stopRequested(shouldAbort);
      if (stop !== null) break;
      this.issue(unit);
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
    await Promise.all(pending);
    this.zeroesRead = false;
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

  private unit(first: number, count: number): CopyUnit {
    return new UnitPlanner([], this.parts.geometry, this.unitChunks, () => undefined).unit([
      { first, count },
    ]);
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
    await this.rate.take(unit.ioBytes);
    const buffer = this.buffers.pop() ?? new Uint8Array(this.unitChunks * this.chunkBytes);
    const release = await this.parts.rangeLock.acquire(lbn, Math.min(g.blocks, unit.end * g.chunkBlocks));
    try {
      // Under the range lock: a write to these chunks is either folded already (its bit is set)
      // or waits for the lock and then reaches the target itself.
      await this.copier.copy(unit.runs, buffer, this.parts.follower.state.written, this.zeroesRead);
    } finally {
      release();
      this.buffers.push(buffer);
    }
    unit.done = true;
  }
}
