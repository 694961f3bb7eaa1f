import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FileMemberAccess } from '../../adapters/devices/file-member-access.js';
import { openEmbeddedStore } from '../../adapters/store/embedded/index.js';
import { VirtualUnit } from '../../processes/virtual-unit.js';
import { differingBlocks, pattern } from '../support/memory-members.js';

const CYCLES = Number(process.env.SHADOWLOG_SOAK ? 40 : 8);
const CHILD = join(import.meta.dirname, '..', 'fixtures', 'engine-load-child.ts');

/** Run one child until it is READY, let it write for `ms`, SIGKILL it; returns its acknowledged writes. */
async function runAndKill(dir: string, cycle: number, ms: number): Promise<string[]> {
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD, dir, String(cycle)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
  });
  child.stderr.on('data', (d: Buffer) => {
    err += d.toString();
  });
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  const deadline = Date.now() + 30_000;
  while (!out.includes('READY') && Date.now() < deadline && child.exitCode === null) {
    await new Promise((r) => setTimeout(r, 20));
  }
  if (!out.includes('READY')) throw new Error(`child did not start: ${err}`);
  await new Promise((r) => setTimeout(r, ms));
  child.kill('SIGKILL');
  await exited;
  return out.split('\n').filter((line) => line.startsWith('A '));
}

describe('engine crash (SIGKILL)', () => {
  it(`after ${CYCLES} kills under write load, reopen merges the members identical and every acknowledged write is readable`, async () => {
    const dir = await mkdtemp(join(tmpdir(), 'shadowlog-engine-crash-'));
    try {
      const acked: string[] = [];
      let merges = 0;
      for (let cycle = 0; cycle < CYCLES; cycle++) {
        acked.push(...(await runAndKill(dir, cycle, 30 + Math.floor(Math.random() * 400))));
        const store = await openEmbeddedStore(join(dir, 'log'), { streamId: 'crash' });
        const unit = await VirtualUnit.open({ store, access: new FileMemberAccess() });
        if ((await unit.merged) !== null) merges++;
        const [a, b] = await Promise.all([readFile(join(dir, 'm1.img')), readFile(join(dir, 'm2.img'))]);
        expect(differingBlocks(a, b)).toEqual([]);
        for (const line of acked) {
          const [, lbn, blocks, seed] = line.split(' ').map(Number);
          expect(Buffer.compare(await unit.read(lbn!, blocks!), pattern(lbn!, blocks!, seed!)), line).toBe(0);
        }
        await unit.close();
        await store.close();
      }
      expect(acked.length).toBeGreaterThan(CYCLES);
      // Kills land mid-write most of the time; a run with no merge at all would mean the test never hit one.
      expect(merges).toBeGreaterThan(0);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 180_000);
});
