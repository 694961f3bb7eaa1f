import type { ChunkRun } from '../../domain/chunk-bitmap.js';
import { assert } from '../../domain/errors.js';
import type { Geometry } from '../../domain/geometry.js';
import type { MemberState } from '../../domain/shadow-set-state.js';
import { errorMessage } from '../../primitives/error-message.js';
import type { RateLimiter } from '../../primitives/rate-limiter.js';
import type { CopyParts } from './copy-parts.js';
import { CopyPass } from './copy-pass.js';
import { CopyProgress } from './copy-progress.js';
import { TargetError } from './target-error.js';

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

/**
 * The copy process: copies the planned chunks of a returning member (the marked chunks of
 * its frozen bitmap for a minicopy, every chunk for a full copy) from a valid member, while
 * application writes go on. The pass (`CopyPass`) copies unit by unit under the range lock
 * (invariant 3); checkpoints (`CopyProgress`) record the durable prefix; the finish is the
 * coordination's: the single writer completes under the barrier, several hosts first copy
 * again what the others wrote, under a cluster-wide stall.
 */
export async function runCopy(
  parts: CopyParts,
  member: string,
  rate: RateLimiter,
  tuning: CopyTuning = DEFAULT_COPY_TUNING,
  shouldAbort: () => string | null = () => null,
): Promise<CopyResult> {
  const startedMs = performance.now();
  const initial = parts.follower.state.set.members.find((m) => m.id === member);
  assert(initial?.copy, `copy process started for ${member} without a copy`);
  const copy = initial.copy;
  const runs = plannedRuns(initial, parts.geometry);
  const target = parts.devices.get(member);
  assert(target, `copy target ${member} has no open device`);
  const progress = new CopyProgress(parts, member, copy, target, tuning);
  const pass = new CopyPass(parts, target, copy.source, progress, rate, tuning);
  await parts.log.copyStartAcknowledged(member);
  const end = await pass.run(runs, shouldAbort);
  if (end.failure instanceof TargetError) {
    await parts.failures.fail(member, end.failure.cause);
    progress.report(true);
    return progress.result('failed', errorMessage(end.failure.cause));
  }
  if (end.failure !== null) {
    // The source side failed with no valid member left to read from: stop; the copy resumes later.
    progress.report(true);
    return progress.result('stopped', errorMessage(end.failure));
  }
  if (end.outcome !== null) {
    if (progress.uncheckpointed) await progress.checkpoint();
    progress.report(true);
    return progress.result(end.outcome, end.reason);
  }
  progress.assertComplete();
  return parts.log.finishCopy({ parts, member, copy, pass, progress, startedMs });
}

/** The runs the copy still has to copy: marked chunks from `nextChunk` (minicopy), or every chunk from it. */
function plannedRuns(member: MemberState, g: Geometry): Iterable<ChunkRun> {
  const copy = member.copy!;
  if (copy.kind === 'mini') return member.bitmap!.chunks.runs(copy.nextChunk);
  return [{ first: copy.nextChunk, count: g.chunks - copy.nextChunk }];
}
