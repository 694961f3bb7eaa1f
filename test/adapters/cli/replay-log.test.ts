import { cp, mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { flipInLastRecord } from '../../support/damaged-log.js';
import { shadowlog } from '../../support/run-cli.js';
import { testHome } from '../../support/test-home.js';

/** `replay --log DIR` says what is wrong with DIR, with the README table's exit code. */

/** Each case runs a few CLI processes of ~1 s on a loaded 2-core machine. */
const TIMEOUT_MS = 120_000;

async function setHome(): Promise<string> {
  const home = await testHome('replay');
  const members = ['a', 'b'].flatMap((m) => ['--member', join(home, `${m}.img`)]);
  expect((await shadowlog(['--home', home, 'create', 'DSA1', '--size', '8M', ...members])).code).toBe(0);
  expect((await shadowlog(['--home', home, 'dismount', 'DSA1', 'm2', '--policy', 'minicopy'])).code).toBe(0);
  return home;
}

describe('replay --log', () => {
  it(
    'replays a copied log folder, and refuses a folder that is not a log with exit 3',
    async () => {
      const home = await setHome();
      const copy = join(home, 'incident');
      await cp(join(home, 'DSA1', 'log'), copy, { recursive: true });
      const ok = await shadowlog(['--home', home, 'replay', 'DSA1', '--log', copy]);
      expect(ok.code, ok.stderr).toBe(0);
      const empty = join(home, 'empty');
      await mkdir(empty);
      for (const dir of [empty, join(home, 'DSA1'), join(home, 'nowhere')]) {
        const result = await shadowlog(['--home', home, 'replay', 'DSA1', '--log', dir]);
        expect(result.code, `${dir}: ${result.stdout}${result.stderr}`).toBe(3);
        expect(result.stderr).toContain('is not a shadowlog log folder');
      }
    },
    TIMEOUT_MS,
  );

  it(
    'exits 5 on a corrupt log',
    async () => {
      const home = await setHome();
      const log = join(home, 'DSA1', 'log');
      const segment = join(log, (await readdir(log)).filter((n) => n.endsWith('.seg')).sort()[0]!);
      await flipInLastRecord(segment, 0x01);
      const result = await shadowlog(['--home', home, 'replay', 'DSA1', '--log', log]);
      expect(result.code, result.stderr).toBe(5);
    },
    TIMEOUT_MS,
  );
});
