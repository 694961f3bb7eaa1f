import { lstat, mkdir, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { publishServer } from '../../../adapters/composition-root/server-info.js';
import { setPaths } from '../../../adapters/composition-root/set-home.js';
import { serve, shadowlogJson } from '../../support/run-cli.js';
import { testHome } from '../../support/test-home.js';

const TIMEOUT_MS = 90_000;
const INFO = { pid: process.pid, http: '127.0.0.1:1', nbd: null, startedAt: '2026-01-01T00:00:00Z' };

async function modeOf(path: string): Promise<number> {
  return (await lstat(path)).mode & 0o777;
}

describe('the control token is private and never written through a link', () => {
  it('publishServer: a pre-existing 0644 token becomes 0600 with the new token', async () => {
    const dir = await testHome('token');
    const paths = setPaths(dir, 'DSA1');
    await mkdir(paths.dir);
    await writeFile(paths.token, 'old-token\n', { mode: 0o644 });
    expect(await modeOf(paths.token)).toBe(0o644);
    await publishServer(paths, INFO, 'new-token');
    expect(await modeOf(paths.token)).toBe(0o600);
    expect(await readFile(paths.token, 'utf8')).toBe('new-token\n');
    expect(JSON.parse(await readFile(paths.serverInfo, 'utf8'))).toEqual(INFO);
    // No temporary file is left beside them.
    expect((await readdir(paths.dir)).sort()).toEqual(['control.token', 'server.json']);
  });

  it('publishServer: symlinks at control.token and server.json are replaced, their targets untouched', async () => {
    const dir = await testHome('token');
    const paths = setPaths(dir, 'DSA1');
    await mkdir(paths.dir);
    const victim = join(dir, 'victim');
    const victimInfo = join(dir, 'victim-info');
    await writeFile(victim, 'precious\n', { mode: 0o644 });
    await writeFile(victimInfo, 'precious too\n', { mode: 0o644 });
    await symlink(victim, paths.token);
    await symlink(victimInfo, paths.serverInfo);
    await publishServer(paths, INFO, 'new-token');
    expect(await readFile(victim, 'utf8')).toBe('precious\n');
    expect(await modeOf(victim)).toBe(0o644);
    expect(await readFile(victimInfo, 'utf8')).toBe('precious too\n');
    expect((await lstat(paths.token)).isSymbolicLink()).toBe(false);
    expect(await modeOf(paths.token)).toBe(0o600);
    expect(await readFile(paths.token, 'utf8')).toBe('new-token\n');
    expect((await lstat(paths.serverInfo)).isSymbolicLink()).toBe(false);
  });

  it(
    'shadowlog serve: an old 0644 token and a symlinked one are both replaced by a 0600 file',
    async () => {
      const home = await testHome('token');
      await shadowlogJson([
        '--home',
        home,
        'create',
        'DSA1',
        '--size',
        '1M',
        '--member',
        join(home, 'a.img'),
        '--member',
        join(home, 'b.img'),
      ]);
      const token = join(home, 'DSA1', 'control.token');
      const victim = join(home, 'victim');
      for (const plant of ['file', 'symlink'] as const) {
        await rm(token, { force: true });
        if (plant === 'file') await writeFile(token, 'stale\n', { mode: 0o644 });
        else {
          await writeFile(victim, 'precious\n', { mode: 0o644 });
          await symlink(victim, token);
        }
        const server = await serve(home, 'DSA1');
        try {
          expect((await lstat(token)).isSymbolicLink()).toBe(false);
          expect(await modeOf(token)).toBe(0o600);
          expect((await readFile(token, 'utf8')).trim()).toMatch(/^[0-9a-f]{48}$/);
          // The token works: verify goes through the server's control API with it.
          const verified = await shadowlogJson<{ identical: boolean }>(['--home', home, 'verify', 'DSA1']);
          expect(verified.identical).toBe(true);
        } finally {
          expect(await server.stop()).toBe(0);
        }
        if (plant === 'symlink') {
          expect(await readFile(victim, 'utf8')).toBe('precious\n');
          expect((await stat(victim)).mode & 0o777).toBe(0o644);
        }
      }
    },
    TIMEOUT_MS,
  );
});
