import type { ProgressUpdate } from '../../processes/engine/progress-update.js';
import type { ControlClient } from '../composition-root/set-control.js';
import type { Output } from './output.js';
import { ProgressReporter } from './progress-reporter.js';

/** How often the CLI asks a running server how far its verify is. */
const POLL_INTERVAL_MS = 100;

/**
 * Draw a verify that runs in a server with the same bar as an offline one: while `work`
 * (the `POST /api/verify`) runs, poll `GET /api/state` and feed its `verify` progress to a
 * {@link ProgressReporter}. The bar starts at the first unfinished verify update (it carries
 * the total); finished updates are skipped, since one may be left from an earlier verify.
 * A poll that fails is ignored: the verify's answer is what counts.
 */
export async function withServerVerifyProgress<T>(
  output: Output,
  client: ControlClient,
  work: Promise<T>,
): Promise<T> {
  // --json shows no progress: nothing to poll for.
  if (output.json) return work;
  let bar: ProgressReporter | null = null;
  let last: ProgressUpdate | null = null;
  let done = false;
  const settled = work.finally(() => {
    done = true;
  });
  settled.catch(() => undefined);
  while (!done) {
    const update = await latestVerifyUpdate(client);
    if (update && !update.finished && !done) {
      bar ??= new ProgressReporter(
        output,
        'verify',
        update.chunksPlanned,
        'chunks',
        chunkBytesOf(update),
        update.chunksDone,
      );
      bar.update(update.chunksDone);
      last = update;
    }
    await Promise.race([settled.catch(() => undefined), sleep(POLL_INTERVAL_MS)]);
  }
  try {
    const result = await settled;
    bar?.stop();
    return result;
  } catch (error) {
    bar?.stop(last?.chunksDone ?? 0);
    throw error;
  }
}

async function latestVerifyUpdate(client: ControlClient): Promise<ProgressUpdate | null> {
  try {
    const state = await client.state();
    return state.progress.find((p) => p.kind === 'verify') ?? null;
  } catch {
    return null;
  }
}

/** Bytes of one chunk, from the totals (the last chunk may be short: round up). */
function chunkBytesOf(update: ProgressUpdate): number {
  return update.chunksPlanned > 0 ? Math.ceil(update.bytesPlanned / update.chunksPlanned) : 0;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
