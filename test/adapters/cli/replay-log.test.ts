import { cp, mkdir, mkdtemp, open, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SEAL_FRAME_BYTES } from '../../../adapters/store/embedded/index.js';
import { shadowlog } from '../../support/run-cli.js';

/** `replay --log DIR` says what is wrong with DIR, with the README table's exit code. */

/** Each case runs a few CLI processes of ~1 s on a loaded 2-core machine. */
const TIMEOUT_MS = 120_000;

const homes: string[] = [];
afterEach(async () => {
  await Promise.all(homes.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

async function setHome(): Promise<string> {
  const home = await mkdtemp(join(tmpdir(), 'shadowlog-replay-'));
  homes.push(home);
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
      const handle = await open(segment, 'r+');
      const offset = (await stat(segment)).size - SEAL_FRAME_BYTES - 5;
      const byte = Buffer.alloc(1);
      await handle.read(byte, 0, 1, offset);
      byte[0] = byte[0]! ^ 0x01;
      await handle.write(byte, 0, 1, offset);
      await handle.close();
      const result = await shadowlog(['--home', home, 'replay', 'DSA1', '--log', log]);
      expect(result.code, result.stderr).toBe(5);
    },
    TIMEOUT_MS,
  );
});
