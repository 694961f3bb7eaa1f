import { assert } from '../domain/errors.js';
import { chunkRunBlocks } from '../domain/geometry.js';
import { errorMessage } from '../primitives/error-message.js';
import type { RateLimiter } from '../primitives/rate-limiter.js';
import type { EngineContext } from './engine-context.js';

/** Tuning of the copy process. */
export interface CopyTuning {
  /** Largest I/O in bytes (whole chunks; at least one chunk). */
  readonly ioBytes: number;
  /** Most I/Os in flight at once. */
  readonly inFlight: number;
  /** Most bytes in flight at once: scattered single chunks get many small I/Os in flight, runs a few large ones. */
  readonly inFlightBytes: number;
  /** Checkpoint after this many bytes... */
  readonly checkpointBytes: number;
  /** ...or this much time, whichever comes first. */
  readonly checkpointMs: number;
}

/**
 * Default tuning: I/Os up to 1 MiB, up to 4 of them or 4 MiB in flight, checkpoints every
 * 16 MiB or 250 ms. More I/Os in flight measured slower on 2 cores (the copies compete with
 * the event loop for the CPU), so the bound is low.
 */
export const DEFAULT_COPY_TUNING: CopyTuning = {
  ioBytes: 1024 * 1024,
  inFlight: 4,
  inFlightBytes: 4 * 1024 * 1024,
  checkpointBytes: 16 * 1024 * 1024,
  checkpointMs: 250,
};

/** How a copy run ended. */
export type CopyOutcome = 'completed' | 'aborted' | 'failed' | 'stopped';

/** The result of one run of the copy process. */
export interface CopyResult {
  /** The copy target. */
  readonly member: string;
  /** How the run ended; `stopped` means the engine closed and the copy resumes at next open. */
  readonly outcome: CopyOutcome;
  /** Bytes copied by the whole copy (checkpointed prefix plus this run). */
  readonly bytesCopied: number;
  /** Chunks copied by the whole copy. */
  readonly chunksCopied: number;
  /** Why it did not complete. */
  readonly reason: string | null;
}

interface Unit {
  readonly first: number;
  readonly count: number;
  readonly bytes: number;
  done: boolean;
}

/**
 * The copy process: copies the planned chunks of a returning member (the marked chunks of
 * its frozen bitmap for a minicopy, every chunk for a full copy) from a valid member, while
 * application writes go on. Each I/O unit (a run of chunks, up to `ioBytes`) holds the range
 * lock, so it and application writes to its blocks are serialised (invariant 3). Checkpoints
 * record the completed prefix after flushing the target, so a resumed copy never trusts data
 * that was not durable; units beyond the prefix are copied again on resume and counted once.
 */
export async function runCopy(
  ctx: EngineContext,
  member: string,
  rate: RateLimiter,
  tuning: CopyTuning = DEFAULT_COPY_TUNING,
  shouldAbort: () => string | null = () => null,
): Promise<CopyResult> {
  const startedMs = performance.now();
  const g = ctx.geometry;
  const initial = ctx.state().members.find((m) => m.id === member);
  assert(initial?.copy, `copy process started for ${member} without a copy`);
  const copy = initial.copy;
  const chunkBytes = g.chunkBlocks * g.blockSize;
  const unitChunks = Math.max(1, Math.floor(tuning.ioBytes / chunkBytes));
  const runs =
    copy.kind === 'mini'
      ? initial.bitmap!.chunks.runs(copy.nextChunk)
      : [{ first: copy.nextChunk, count: g.chunks - copy.nextChunk }][Symbol.iterator]();

  let prefixChunks = copy.chunksDone;
  let prefixBytes = copy.bytesCopied;
  let nextChunk = copy.nextChunk;
  let checkpointedBytes = prefixBytes;
  let checkpointedAt = performance.now();
  const window: Unit[] = [];
  let failure: unknown = null;
  const target = ctx.device(member);
  assert(target, `copy target ${member} has no open device`);
  const buffers: Uint8Array[] = [];

  const report = (finished: boolean) =>
    ctx.progress({
      kind: 'copy',
      member,
      chunksDone: prefixChunks,
      chunksPlanned: copy.plannedChunks,
      bytesDone: prefixBytes,
      bytesPlanned: copy.plannedBytes,
      finished,
    });

  const copyUnit = async (unit: Unit): Promise<void> => {
    const lbn = unit.first * g.chunkBlocks;
    const blocks = unit.bytes / g.blockSize;
    await rate.take(unit.bytes);
    const buffer = buffers.pop() ?? new Uint8Array(unitChunks * chunkBytes);
    const view = buffer.subarray(0, unit.bytes);
    const release = await ctx.rangeLock.acquire(lbn, lbn + blocks);
    try {
      await ctx.readValid(view, lbn * g.blockSize, copy.source);
      try {
        await target.write(view, lbn * g.blockSize);
      } catch (error) {
        throw new TargetError(error);
      }
    } finally {
      release();
      buffers.push(buffer);
    }
    unit.done = true;
  };

  const advancePrefix = () => {
    while (window.length > 0 && window[0]!.done) {
      const unit = window.shift()!;
      prefixChunks += unit.count;
      prefixBytes += unit.bytes;
      nextChunk = unit.first + unit.count;
    }
    if (window.length > 0) nextChunk = window[0]!.first;
  };

  const checkpoint = async () => {
    await target.flush();
    await ctx.control({
      type: 'ProgressCopy',
      member,
      chunksDone: prefixChunks,
      nextChunk,
      bytesCopied: prefixBytes,
    });
    checkpointedBytes = prefixBytes;
    checkpointedAt = performance.now();
  };

  // Several hosts: the other hosts' writes logged before CopyStarted may still be on their way
  // to the source; the pass reads the source only once every host drained them.
  if (ctx.host !== null) await ctx.copyStartAcknowledged(member);
  const pending = new Set<Promise<void>>();
  let bytesInFlight = 0;
  let stopReason: string | null = null;
  let stopOutcome: CopyOutcome | null = null;
  // Bounded: each pass issues one unit or waits for one; units are finite (chunks of the volume).
  outer: for (const run of runs) {
    for (let first = run.first; first < run.first + run.count; first += unitChunks) {
      if (failure !== null) break outer;
      const abortReason = shouldAbort();
      if (abortReason !== null) {
        stopReason = abortReason;
        stopOutcome = 'aborted';
        break outer;
      }
      if (ctx.closing()) {
        stopOutcome = 'stopped';
        stopReason = 'engine closed; the copy resumes from its last checkpoint at next open';
        break outer;
      }
      const count = Math.min(unitChunks, run.first + run.count - first);
      const unit: Unit = { first, count, bytes: chunkRunBlocks(g, first, count) * g.blockSize, done: false };
      window.push(unit);
      bytesInFlight += unit.bytes;
      const p = copyUnit(unit).then(
        () => {
          pending.delete(p);
          bytesInFlight -= unit.bytes;
        },
        (error: unknown) => {
          pending.delete(p);
          bytesInFlight -= unit.bytes;
          failure ??= error;
        },
      );
      pending.add(p);
      // Bounded: at most `inFlight` units and `inFlightBytes` bytes (one unit always goes).
      while (pending.size >= tuning.inFlight || (pending.size > 0 && bytesInFlight >= tuning.inFlightBytes)) {
        await Promise.race(pending);
      }
      advancePrefix();
      if (
        failure === null &&
        (prefixBytes - checkpointedBytes >= tuning.checkpointBytes ||
          performance.now() - checkpointedAt >= tuning.checkpointMs)
      ) {
        await checkpoint();
        report(false);
      }
    }
  }
  await Promise.all(pending);
  advancePrefix();

  if (failure !== null) {
    if (failure instanceof TargetError) {
      await ctx.failMember(member, failure.cause);
      report(true);
      return {
        member,
        outcome: 'failed',
        bytesCopied: prefixBytes,
        chunksCopied: prefixChunks,
        reason: errorMessage(failure.cause),
      };
    }
    // The source side failed with no valid member left to read from: stop; the copy resumes later.
    report(true);
    return {
      member,
      outcome: 'stopped',
      bytesCopied: prefixBytes,
      chunksCopied: prefixChunks,
      reason: errorMessage(failure),
    };
  }
  if (stopOutcome !== null) {
    if (prefixBytes > checkpointedBytes) await checkpoint();
    report(true);
    return {
      member,
      outcome: stopOutcome,
      bytesCopied: prefixBytes,
      chunksCopied: prefixChunks,
      reason: stopReason,
    };
  }
  // Invariant 4: a copy copies exactly what it planned, no more, no less.
  assert(
    prefixChunks === copy.plannedChunks && prefixBytes === copy.plannedBytes,
    `copy to ${member} copied ${prefixChunks} chunks / ${prefixBytes} bytes of ${copy.plannedChunks} / ${copy.plannedBytes} planned`,
  );
  if (ctx.host !== null) {
    // Several hosts: the others did not write the target during the pass and their writes
    // were not serialised with it. With every host stalled, copy again what anyone wrote
    // since CopyStarted; then the target holds exactly what the source holds. Any failure
    // here must end the copy, or every host would stay stalled.
    try {
      const end = await ctx.finishCopy(member);
      const written = await ctx.writtenChunks(copy.position + 1, end);
      for (const run of written.runs()) {
        for (let first = run.first; first < run.first + run.count; first += unitChunks) {
          const count = Math.min(unitChunks, run.first + run.count - first);
          await copyUnit({ first, count, bytes: chunkRunBlocks(g, first, count) * g.blockSize, done: false });
        }
      }
      await target.flush();
      await ctx.control({
        type: 'CompleteCopy',
        member,
        bytesCopied: prefixBytes,
        durationMs: Math.round(performance.now() - startedMs),
      });
    } catch (error) {
      report(true);
      if (error instanceof TargetError) {
        await ctx.failMember(member, error.cause);
        return {
          member,
          outcome: 'failed',
          bytesCopied: prefixBytes,
          chunksCopied: prefixChunks,
          reason: errorMessage(error.cause),
        };
      }
      return {
        member,
        outcome: 'aborted',
        bytesCopied: prefixBytes,
        chunksCopied: prefixChunks,
        reason: `the copy could not finish: ${errorMessage(error)}`,
      };
    }
    report(true);
    return {
      member,
      outcome: 'completed',
      bytesCopied: prefixBytes,
      chunksCopied: prefixChunks,
      reason: null,
    };
  }
  await target.flush();
  await ctx.control(
    {
      type: 'CompleteCopy',
      member,
      bytesCopied: prefixBytes,
      durationMs: Math.round(performance.now() - startedMs),
    },
    { exclusive: true },
  );
  report(true);
  return { member, outcome: 'completed', bytesCopied: prefixBytes, chunksCopied: prefixChunks, reason: null };
}

/** A write to the copy target failed (as opposed to a read from the source). */
class TargetError extends Error {
  constructor(override readonly cause: unknown) {
    super(errorMessage(cause));
  }
}
