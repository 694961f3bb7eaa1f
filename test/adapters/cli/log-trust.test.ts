import { readdir, readFile, unlink } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  flipInLastRecord,
  lastSegment,
  type SetWithHistory,
  setWithHistory,
} from '../../support/damaged-log.js';
import type { CliResult } from '../../support/run-cli.js';

/**
 * Issue repros 1 and 2 end to end with the built command on real files: a flipped bit in the
 * last acknowledged record, and a lost segment, are reported as corruption (exit 5) by every
 * command that reads the whole log, and nothing writes into the damaged log.
 */

/** Each case runs a few CLI processes of ~1 s on a loaded 2-core machine. */
const TIMEOUT_MS = 120_000;

/** Every file of `dir` with its bytes, to show nothing was written. */
async function snapshot(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const name of (await readdir(dir)).sort()) {
    if (name === 'LOCK') continue;
    out[name] = (await readFile(join(dir, name))).toString('base64');
  }
  return out;
}

/**
 * `log check` (resolved with, for the caller to read) and every command that reads the whole
 * log exit 5, and none of them writes to the log.
 */
async function everyReaderRefuses(set: SetWithHistory, logDir: string): Promise<CliResult> {
  const before = await snapshot(logDir);
  const check = await set.run(['log', 'check', 'DSA1']);
  expect(check.code).toBe(5);
  for (const args of [
    ['show', 'DSA1'],
    ['serve', 'DSA1', '--nbd', '127.0.0.1:0'],
  ]) {
    const result = await set.run(args);
    expect(result.code, `${args.join(' ')}: ${result.stderr}`).toBe(5);
  }
  expect(await snapshot(logDir)).toEqual(before);
  return check;
}

describe('a log you can trust (CLI)', () => {
  it(
    'a flipped bit in the last acknowledged record is corruption naming segment and offset, never a cut',
    async () => {
      const set = await setWithHistory('trust');
      const { logDir, segment } = await lastSegment(set.home);
      // The last batch ends with its seal; 5 bytes before the seal is inside the last record.
      await flipInLastRecord(segment);
      const check = await everyReaderRefuses(set, logDir);
      expect(check.stdout + check.stderr).toContain(basename(segment));
      expect(check.stdout + check.stderr).toMatch(/byte offset \d+/);
    },
    TIMEOUT_MS,
  );

  it(
    'a deleted only segment is reported (exit 5) and a refused serve writes nothing',
    async () => {
      const set = await setWithHistory('trust');
      const { logDir, segment } = await lastSegment(set.home);
      await unlink(segment);
      const check = await everyReaderRefuses(set, logDir);
      expect(check.stdout + check.stderr).toMatch(/missing/);
    },
    TIMEOUT_MS,
  );
});
