import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { backgroundCli } from '../../support/background-cli.js';
import { serve, shadowlog } from '../../support/run-cli.js';
import { memberArgs, suiteHome } from '../../support/suite-home.js';
import { haveTools } from '../nbd/nbd-harness.js';

const run = promisify(execFile);

describe.runIf(haveTools('events --follow', ['qemu-io']))(
  'shadowlog events --follow through the built CLI',
  () => {
    const suite = suiteHome('follow', (dir) => [
      ['create', 'FO', '--size', '16M', ...memberArgs(dir, ['a.img', 'b.img'])],
    ]);
    const h = suite.args;

    it('without a server: prints the log, then events another CLI process appends; SIGINT exits 0', async () => {
      const f = backgroundCli([...h(), 'events', 'FO', '--follow']);
      try {
        await f.waitFor(/ShadowSetCreated/);
        expect(f.stdout()).not.toMatch(/MemberDismounted/);
        expect((await shadowlog([...h(), 'dismount', 'FO', 'm2', '--policy', 'minicopy'])).code).toBe(0);
        await f.waitFor(/MemberDismounted\s+member m2, policy minicopy/);
        expect((await shadowlog([...h(), 'mount', 'FO', 'm2', '--wait'])).code).toBe(0);
        await f.waitFor(/CopyCompleted\s+member m2/);
      } finally {
        expect(await f.signal('SIGINT')).toBe(0);
      }
    }, 90_000);

    it('with a server writing over NBD: new writes appear, filters apply, SIGTERM exits 0', async () => {
      const server = await serve(suite.dir, 'FO');
      const f = backgroundCli([
        ...h(),
        'events',
        'FO',
        '--follow',
        '--json',
        '--type',
        'writes',
        '--lbn',
        '4096-4096',
      ]);
      try {
        await run('qemu-io', ['-f', 'raw', '-c', 'write -P 0x33 0 4K', server.uri]);
        await run('qemu-io', ['-f', 'raw', '-c', 'write -P 0x44 2M 4K', server.uri]);
        await f.waitFor(/"lbn":4096/);
        const lines = f
          .output()
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l) as { type: string; lbn: number; count: number });
        expect(lines).toEqual([expect.objectContaining({ type: 'BlocksWritten', lbn: 4096, count: 8 })]);
      } finally {
        expect(await f.signal('SIGTERM')).toBe(0);
        await server.stop();
      }
    }, 90_000);

    it('refuses --follow with --reverse or --to (exit 2)', async () => {
      const result = await shadowlog([...h(), 'events', 'FO', '--follow', '--reverse']);
      expect(result.code).toBe(2);
      expect(result.stderr).toContain('--follow');
    }, 30_000);
  },
);
