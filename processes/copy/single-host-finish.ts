import type { CopyFinishJob } from './copy-finish-job.js';
import type { CopyResult } from './copy-process.js';

/**
 * The single writer's copy finish: flush the target and record CopyCompleted with
 * application writes drained (barrier exclusive), so every write before it reached the target
 * under the range lock and every write after it finds the member valid.
 */
export async function finishSingleHost(job: CopyFinishJob): Promise<CopyResult> {
  const { parts, progress } = job;
  await job.pass.target.flush();
  await parts.barrier.runExclusive(() =>
    parts.log.control({
      type: 'CompleteCopy',
      member: job.member,
      bytesCopied: progress.bytesDone,
      durationMs: Math.round(performance.now() - job.startedMs),
    }),
  );
  progress.report(true);
  return progress.result('completed', null);
}
