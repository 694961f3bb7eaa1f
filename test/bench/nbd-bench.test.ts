import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runNbdBench } from '../../bench/nbd-bench.js';
import { startShadowlogForBench } from '../../bench/shadowlog-under-test.js';

const TOOLS = ['fio', 'nbdinfo', 'qemu-nbd', 'nbdkit'];
const missing = TOOLS.filter((tool) => {
  try {
    execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' });
    return false;
  } catch {
    return true;
  }
});
if (missing.length > 0) console.log(`nbd bench test skipped: ${missing.join(', ')} not on PATH`);

describe.skipIf(missing.length > 0)('bench nbd', () => {
  it('gives two rounds per workload, each ratio shadowlog / qemu-nbd quorum, and their means', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'shadowlog-nbd-bench-test-'));
    try {
      const result = await runNbdBench({ dir, quick: true, startShadowlog: startShadowlogForBench });
      for (const workload of [result.randwrite4k, result.seqwrite1m]) {
        expect(workload.rounds).toHaveLength(2);
        for (const round of workload.rounds) {
          expect(round.shadowlogIops).toBeGreaterThan(0);
          expect(round.qemuQuorumIops).toBeGreaterThan(0);
          expect(round.nbdkitFileIops).toBeGreaterThan(0);
          expect(round.ratio).toBeCloseTo(round.shadowlogIops / round.qemuQuorumIops, 2);
        }
        const mean = (workload.rounds[0]!.shadowlogIops + workload.rounds[1]!.shadowlogIops) / 2;
        expect(Math.abs(workload.shadowlogIops - mean)).toBeLessThanOrEqual(1);
        expect(workload.ratio).toBeCloseTo(workload.shadowlogIops / workload.qemuQuorumIops, 2);
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 600_000);
});
