import { basename } from 'node:path';
import { describe, expect, it } from 'vitest';
import { flipInLastRecord, lastSegment, setWithHistory } from '../../support/damaged-log.js';

/**
 * Issue 12, "time travel before a damaged region", end to end with the built command on real
 * files: a flipped byte late in the log leaves `show --at`, `replay --until` and `audit --to`
 * (and `events --to`) at an earlier point answering exactly as before; what needs the whole
 * log still exits 5.
 */

/** Several CLI processes of ~1 s each on a loaded 2-core machine. */
const TIMEOUT_MS = 180_000;

describe('time travel before a damaged region (CLI)', () => {
  it(
    'show --at, replay --until and audit --to before the damage answer as before; the rest exits 5',
    async () => {
      const { home, run: runArgs } = await setWithHistory('damage');
      const run = (...args: string[]) => runArgs(args);
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

      const { segment } = await lastSegment(home);
      // 5 bytes before the last seal: inside the last record of the last batch, a valid seal after it.
      await flipInLastRecord(segment);

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
