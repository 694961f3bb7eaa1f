import type { ChunkBitmap } from '../../domain/chunk-bitmap.js';
import { errorMessage } from '../../primitives/error-message.js';
import type { CopyFinishJob } from './copy-finish-job.js';
import type { CopyResult } from './copy-process.js';
import { TargetError } from './target-error.js';

/** The cluster-wide stall a multi-host copy finishes under (the shared stream's log). */
export interface ClusterStall {
  /** Append CopyFinishing and wait until every host stalled its writes; the position after the last event then. */
  stallForFinish(member: string): Promise<number>;
  /** Chunks written by any host at positions `[from, to)`. */
  writtenChunks(from: number, to: number): Promise<ChunkBitmap>;
}

/**
 * The multi-host copy finish. The other hosts did not write the target during the pass and
 * their writes were not serialised with it. With every host stalled, copy again what anyone
 * wrote since CopyStarted; then the target holds exactly what the source holds. Any failure
 * here must end the copy, or every host would stay stalled.
 */
export async function finishMultiHost(job: CopyFinishJob, cluster: ClusterStall): Promise<CopyResult> {
  const { parts, progress, member } = job;
  try {
    const end = await cluster.stallForFinish(member);
    await job.pass.copyAgain(await cluster.writtenChunks(job.copy.position + 1, end));
    await job.pass.target.flush();
    await parts.log.control({
      type: 'CompleteCopy',
      member,
      bytesCopied: progress.bytesDone,
      durationMs: Math.round(performance.now() - job.startedMs),
    });
  } catch (error) {
    progress.report(true);
    if (error instanceof TargetError) {
      await parts.failures.fail(member, error.cause);
      return progress.result('failed', errorMessage(error.cause));
    }
    return progress.result('aborted', `the copy could not finish: ${errorMessage(error)}`);
  }
  progress.report(true);
  return progress.result('completed', null);
}
