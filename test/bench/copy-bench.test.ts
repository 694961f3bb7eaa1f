import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCopyBench } from '../../bench/copy-bench.js';

describe('bench copy --quick', () => {
  it('reports both sparse ratios over the same copy time and the large-set minicopy ratio', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'shadowlog-copy-bench-test-'));
    try {
      const r = await runCopyBench({ dir, quick: true });
      expect(r.suite).toBe('copy');
      for (const seconds of [
        r.cpSeconds,
        r.fullCopySeconds,
        r.minicopy1pctSeconds,
        r.cpSparseSeconds,
        r.cpSparseNeverSeconds,
        r.fullCopySparse10pctSeconds,
        r.fullCopy8gSeconds,
        r.minicopy1pct8gSeconds,
      ]) {
        expect(seconds).toBeGreaterThan(0);
      }
      // Each ratio is its own quotient, not another field's. The ratio is computed from the
      // unrounded times and rounded to 3 places; the times are printed rounded to 1 ms, which
      // moves the quotient by up to q × (0.5 ms / num + 0.5 ms / den): tens of percent when a
      // quick run's cp takes a few ms.
      const near = (ratio: number, num: number, den: number) => {
        const quotient = num / den;
        const slack = 0.0051 * Math.max(1, quotient) + quotient * (0.0005 / num + 0.0005 / den);
        expect(Math.abs(ratio - quotient)).toBeLessThan(slack);
      };
      near(r.sparseCopyOfCp, r.fullCopySparse10pctSeconds, r.cpSparseNeverSeconds);
      near(r.sparseCopyOfSparseCp, r.fullCopySparse10pctSeconds, r.cpSparseSeconds);
      near(r.minicopy1pctOfFull8g, r.minicopy1pct8gSeconds, r.fullCopy8gSeconds);
      expect(r.bytesLarge).toBe(256 * 1024 * 1024);
      // The 1 GiB set's times are medians of every run reported.
      expect(r.fullCopyRunsSeconds).toHaveLength(3);
      expect(r.minicopy1pctRunsSeconds).toHaveLength(5);
      const medianOf = (runs: number[]) => [...runs].sort((a, b) => a - b)[Math.floor(runs.length / 2)];
      expect(r.fullCopySeconds).toBe(medianOf(r.fullCopyRunsSeconds));
      expect(r.minicopy1pctSeconds).toBe(medianOf(r.minicopy1pctRunsSeconds));
      // The sparse copy leaves the holes: the target allocates no more than the source.
      expect(r.targetAllocatedBytes).toBeLessThanOrEqual(r.sourceAllocatedBytes);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 180_000);
});
