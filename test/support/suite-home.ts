import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect } from 'vitest';
import { shadowlog } from './run-cli.js';

/** A home folder shared by the tests of one describe block. */
export interface SuiteHome {
  /** The folder; read it in hooks and tests (it is set by the block's first beforeAll). */
  readonly dir: string;
  /** `['--home', dir]`, to spread into a command line. */
  args(): string[];
}

/** `--member <dir>/<name>` for each name. */
export function memberArgs(dir: string, names: readonly string[]): string[] {
  return names.flatMap((name) => ['--member', join(dir, name)]);
}

/**
 * Call in a describe block: before its tests, a fresh `shadowlog-<name>-*` folder in the system
 * temp folder, then the `shadowlog --home <dir>` command lines `setup(dir)` gives, each expected
 * to exit 0 (e.g. a `create`); after them, the folder is removed. Registered first, so the
 * block's own beforeAll hooks run after it and its afterAll hooks (a server's stop) before.
 */
export function suiteHome(
  name: string,
  setup: (dir: string) => readonly (readonly string[])[] = () => [],
  hookTimeoutMs = 120_000,
): SuiteHome {
  let dir: string | undefined;
  const home: SuiteHome = {
    get dir() {
      if (dir === undefined) throw new Error(`suite home '${name}' read before its beforeAll ran`);
      return dir;
    },
    args: () => ['--home', home.dir],
  };
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), `shadowlog-${name}-`));
    for (const args of setup(dir)) {
      const result = await shadowlog(['--home', dir, ...args]);
      expect(result.code, `${args.join(' ')}: ${result.stderr}`).toBe(0);
    }
  }, hookTimeoutMs);
  afterAll(async () => {
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });
  return home;
}
