import { runCopyBench } from './copy-bench.js';
import { runWritePathBench } from './write-path-bench.js';

/** A benchmark suite: runs and returns one JSON-able object with `suite` set. */
export type BenchSuite = (options: { dir?: string; quick?: boolean }) => Promise<{ suite: string } & object>;

/** Every suite by name (`shadowlog bench <suite>`). */
export const BENCH_SUITES: Record<string, BenchSuite> = {
  'write-path': runWritePathBench,
  copy: runCopyBench,
};
