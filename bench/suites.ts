import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCopyBench } from './copy-bench.js';
import { runDashboardBench } from './dashboard-bench.js';
import { runLogBench } from './log-bench.js';
import { runNbdBench } from './nbd-bench.js';
import { startShadowlogForBench } from './shadowlog-under-test.js';
import { runWritePathBench } from './write-path-bench.js';

/** A benchmark suite: runs and returns one JSON-able object with `suite` set. */
export type BenchSuite = (options: { dir?: string; quick?: boolean }) => Promise<{ suite: string } & object>;

/** Run `fn` in a fresh scratch directory under `dir`, removed afterwards. */
async function inScratch<T>(dir: string | undefined, fn: (scratch: string) => Promise<T>): Promise<T> {
  const scratch = await mkdtemp(join(dir ?? tmpdir(), 'shadowlog-bench-'));
  try {
    return await fn(scratch);
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

/** Every suite by name (`shadowlog bench <suite>`). */
export const BENCH_SUITES: Record<string, BenchSuite> = {
  log: (options) => inScratch(options.dir, (scratch) => runLogBench({ dir: scratch, quick: options.quick })),
  'write-path': runWritePathBench,
  dashboard: (options) =>
    inScratch(options.dir, (scratch) => runDashboardBench({ dir: scratch, quick: options.quick })),
  copy: runCopyBench,
  nbd: (options) =>
    inScratch(options.dir, (scratch) =>
      runNbdBench({ dir: scratch, quick: options.quick, startShadowlog: startShadowlogForBench }),
    ),
};
