import { mkdtemp, open, readdir, readFile, rm, stat, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SEAL_FRAME_BYTES } from '../../../adapters/store/embedded/index.js';
import { shadowlog } from '../../support/run-cli.js';

/**
 * Issue repros 1 and 2 end to end with the built command on real files: a flipped bit in the
 * last acknowledged record, and a lost segment, are reported as corruption (exit 5) by every
 * command that reads the whole log, and nothing writes into the damaged log.
 */

/** Each case runs a few CLI processes of ~1 s on a loaded 2-core machine. */
const TIMEOUT_MS = 120_000;

const homes: string[] = [];
afterEach(async () => {
  await Promise.all(homes.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

/** A 3-member set with m3 dismounted (minicopy): a few durable batches in one segment. */
async function setWithHistory(): Promise<{ home: string; logDir: string; segment: string }> {
  const home = await mkdtemp(join(tmpdir(), 'shadowlog-trust-'));
  homes.push(home);
  const members = ['a', 'b', 'c'].flatMap((m) => ['--member', join(home, `${m}.img`)]);
  expect((await shadowlog(['--home', home, 'create', 'DSA1', '--size', '16M', ...members])).code).toBe(0);
  expect((await shadowlog(['--home', home, 'dismount', 'DSA1', 'm3', '--policy', 'minicopy'])).code).toBe(0);
  const logDir = await findLogDir(join(home, 'DSA1'));
  const segments = (await readdir(logDir)).filter((n) => n.endsWith('.seg')).sort();
  return { home, logDir, segment: join(logDir, segments.at(-1)!) };
}

/** The folder holding the set's segments. */
async function findLogDir(dir: string): Promise<string> {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isFile() && entry.name.endsWith('.seg')) return dir;
    if (entry.isDirectory()) {
      const found = await findLogDir(path).catch(() => null);
      if (found) return found;
    }
  }
  throw new Error(`no segment under ${dir}`);
}

/** Every file of `dir` with its bytes, to show nothing was written. */
async function snapshot(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const name of (await readdir(dir)).sort()) {
    if (name === 'LOCK') continue;
    out[name] = (await readFile(join(dir, name))).toString('base64');
  }
  return out;
}

async function flipBit(path: string, offset: number): Promise<void> {
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

describe('a log you can trust (CLI)', () => {
  it(
    'a flipped bit in the last acknowledged record is corruption naming segment and offset, never a cut',
    async () => {
      const { home, logDir, segment } = await setWithHistory();
      const size = (await stat(segment)).size;
      // The last batch ends with its seal; 5 bytes before the seal is inside the last record.
      const offset = size - SEAL_FRAME_BYTES - 5;
      await flipBit(segment, offset);
      const before = await snapshot(logDir);
      const check = await shadowlog(['--home', home, 'log', 'check', 'DSA1']);
      expect(check.code).toBe(5);
      expect(check.stdout + check.stderr).toContain(basename(segment));
      expect(check.stdout + check.stderr).toMatch(/byte offset \d+/);
      for (const args of [
        ['show', 'DSA1'],
        ['serve', 'DSA1', '--nbd', '127.0.0.1:0'],
      ]) {
        const result = await shadowlog(['--home', home, ...args]);
        expect(result.code, `${args.join(' ')}: ${result.stderr}`).toBe(5);
      }
      expect(await snapshot(logDir)).toEqual(before);
    },
    TIMEOUT_MS,
  );

  it(
    'a deleted only segment is reported (exit 5) and a refused serve writes nothing',
    async () => {
      const { home, logDir, segment } = await setWithHistory();
      await unlink(segment);
      const before = await snapshot(logDir);
      const check = await shadowlog(['--home', home, 'log', 'check', 'DSA1']);
      expect(check.code).toBe(5);
      expect(check.stdout + check.stderr).toMatch(/missing/);
      for (const args of [
        ['show', 'DSA1'],
        ['serve', 'DSA1', '--nbd', '127.0.0.1:0'],
      ]) {
        const result = await shadowlog(['--home', home, ...args]);
        expect(result.code, `${args.join(' ')}: ${result.stderr}`).toBe(5);
      }
      expect(await snapshot(logDir)).toEqual(before);
    },
    TIMEOUT_MS,
  );
});
