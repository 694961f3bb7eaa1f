import { mkdtemp, open, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SEAL_FRAME_BYTES } from '../../../adapters/store/embedded/index.js';
import { shadowlog } from '../../support/run-cli.js';

/**
 * Issue 12, "time travel before a damaged region", end to end with the built command on real
 * files: a flipped byte late in the log leaves `show --at`, `replay --until` and `audit --to`
 * (and `events --to`) at an earlier point answering exactly as before; what needs the whole
 * log still exits 5.
 */

/** Several CLI processes of ~1 s each on a loaded 2-core machine. */
const TIMEOUT_MS = 180_000;

const homes: string[] = [];
afterEach(async () => {
  await Promise.all(homes.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

async function findLogDir(dir: string): Promise<string> {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    if (entry.isFile() && entry.name.endsWith('.seg')) return dir;
    if (entry.isDirectory()) {
      const found = await findLogDir(join(dir, entry.name)).catch(() => null);
      if (found) return found;
    }
  }
  throw new Error(`no segment under ${dir}`);
}

async function flipByte(path: string, offset: number): Promise<void> {
  const handle = await open(path, 'r+');
  try {
    const byte = Buffer.alloc(1);
    await handle.read(byte, 0, 1, offset);
    byte[0] = byte[0]! ^ 0x10;
    await handle.write(byte, 0, 1, offset);
  } finally {
    await handle.close();
  }
}

describe('time travel before a damaged region (CLI)', () => {
  it(
    'show --at, replay --until and audit --to before the damage answer as before; the rest exits 5',
    async () => {
      const home = await mkdtemp(join(tmpdir(), 'shadowlog-damage-'));
      homes.push(home);
      const run = (...args: string[]) => shadowlog(['--home', home, ...args]);
      const members = ['a', 'b', 'c'].flatMap((m) => ['--member', join(home, `${m}.img`)]);
      expect((await run('create', 'DSA1', '--size', '16M', ...members)).code).toBe(0);
      expect((await run('dismount', 'DSA1', 'm3', '--policy', 'minicopy')).code).toBe(0);
      const early = JSON.parse((await run('show', 'DSA1', '--json')).stdout) as { position: number };
      const p = String(early.position);
      // Later history, in later batches: the damage goes in the very last one.
      expect((await run('mount', 'DSA1', 'm3', '--policy', 'minicopy')).code).toBe(0);
      expect((await run('dismount', 'DSA1', 'm2', '--policy', 'minicopy')).code).toBe(0);
      const end = JSON.parse((await run('show', 'DSA1', '--json')).stdout) as { position: number };
      expect(end.position).toBeGreaterThan(early.position + 1);

      const queries = [
        ['show', 'DSA1', '--at', p, '--json'],
        ['replay', 'DSA1', '--until', p, '--json'],
        ['audit', 'DSA1', '--to', p, '--json'],
        ['events', 'DSA1', '--to', p, '--json'],
      ];
      const before = [];
      for (const q of queries) {
        const result = await run(...q);
        expect(result.code, `${q.join(' ')}: ${result.stderr}`).toBe(0);
        before.push(result.stdout);
      }

      const logDir = await findLogDir(join(home, 'DSA1'));
      const segment = join(
        logDir,
        (await readdir(logDir))
          .filter((n) => n.endsWith('.seg'))
          .sort()
          .at(-1)!,
      );
      // 5 bytes before the last seal: inside the last record of the last batch, a valid seal after it.
      await flipByte(segment, (await stat(segment)).size - SEAL_FRAME_BYTES - 5);

      for (const [i, q] of queries.entries()) {
        const result = await run(...q);
        expect(result.code, `${q.join(' ')}: ${result.stderr}`).toBe(0);
        expect(result.stdout).toBe(before[i]);
      }
      for (const q of [
        ['show', 'DSA1'],
        ['replay', 'DSA1'],
        ['audit', 'DSA1'],
        ['log', 'check', 'DSA1'],
        ['events', 'DSA1'],
        ['show', 'DSA1', '--at', String(end.position)],
        ['replay', 'DSA1', '--until', String(end.position)],
        ['audit', 'DSA1', '--to', String(end.position)],
        ['events', 'DSA1', '--to', String(end.position)],
        // A time after the last intact event: later events may be as old, so no answer.
        ['show', 'DSA1', '--at', new Date().toISOString()],
      ]) {
        const result = await run(...q);
        expect(result.code, `${q.join(' ')}: ${result.stdout}${result.stderr}`).toBe(5);
        expect(result.stdout + result.stderr).toContain(basename(segment));
        expect(result.stdout + result.stderr).toMatch(/byte offset \d+/);
      }
      const past = await run('show', 'DSA1', '--at', String(end.position));
      expect(past.stderr).toMatch(/not before the damaged part of the log/);
    },
    TIMEOUT_MS,
  );
});
