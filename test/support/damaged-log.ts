import { open, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { expect } from 'vitest';
import { SEAL_FRAME_BYTES } from '../../adapters/store/embedded/index.js';
import { type CliResult, shadowlog } from './run-cli.js';
import { testHome } from './test-home.js';

/** A set made through the built CLI in its own test home, for damaging its log on disk. */
export interface SetWithHistory {
  /** The test home (`--home`); removed when the test finishes. */
  readonly home: string;
  /** `shadowlog --home <home> ...args`. */
  run(args: readonly string[]): Promise<CliResult>;
}

/**
 * A 3-member set `DSA1` of 16 MiB (members `a.img`, `b.img`, `c.img` in the home) with m3
 * dismounted by minicopy: a few durable batches in one segment. `more` runs after that, each
 * expected to exit 0 (e.g. `[['mount', 'DSA1', 'm3']]`).
 */
export async function setWithHistory(
  name: string,
  more: readonly (readonly string[])[] = [],
): Promise<SetWithHistory> {
  const home = await testHome(name);
  const run = (args: readonly string[]) => shadowlog(['--home', home, ...args]);
  const members = ['a', 'b', 'c'].flatMap((m) => ['--member', join(home, `${m}.img`)]);
  for (const args of [
    ['create', 'DSA1', '--size', '16M', ...members],
    ['dismount', 'DSA1', 'm3', '--policy', 'minicopy'],
    ...more,
  ]) {
    const result = await run(args);
    expect(result.code, `${args.join(' ')}: ${result.stderr}`).toBe(0);
  }
  return { home, run };
}

/** The folder under `dir` holding segments (`*.seg`), searched depth first. */
export async function findLogDir(dir: string): Promise<string> {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    if (entry.isFile() && entry.name.endsWith('.seg')) return dir;
    if (entry.isDirectory()) {
      const found = await findLogDir(join(dir, entry.name)).catch(() => null);
      if (found) return found;
    }
  }
  throw new Error(`no segment under ${dir}`);
}

/** Where a set's log lives on disk and its newest segment. */
export interface LogFiles {
  /** The folder holding the segments. */
  readonly logDir: string;
  /** The path of the last segment by name (the newest). */
  readonly segment: string;
}

/** The log folder of set `set` in `home` and its last segment. */
export async function lastSegment(home: string, set = 'DSA1'): Promise<LogFiles> {
  const logDir = await findLogDir(join(home, set));
  const segments = (await readdir(logDir)).filter((n) => n.endsWith('.seg')).sort();
  return { logDir, segment: join(logDir, segments.at(-1)!) };
}

/** XOR the byte at `offset` of the file at `path` with `mask` (one bit by default), in place. */
export async function flipByte(path: string, offset: number, mask = 0x10): Promise<void> {
  const handle = await open(path, 'r+');
  try {
    const byte = Buffer.alloc(1);
    await handle.read(byte, 0, 1, offset);
    byte[0] = byte[0]! ^ mask;
    await handle.write(byte, 0, 1, offset);
  } finally {
    await handle.close();
  }
}

/**
 * Flip a bit 5 bytes before the final seal of `segment`: inside the last record of the last
 * batch, with a valid seal after it, so a reader sees corruption and never a torn tail.
 * Resolves with the byte offset flipped.
 */
export async function flipInLastRecord(segment: string, mask = 0x10): Promise<number> {
  const offset = (await stat(segment)).size - SEAL_FRAME_BYTES - 5;
  await flipByte(segment, offset, mask);
  return offset;
}
