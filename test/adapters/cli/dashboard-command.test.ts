import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { InfoAnswer, ViewAnswer } from '../../../adapters/http/read-api.js';
import { backgroundCli } from '../../support/background-cli.js';
import { serve, shadowlog } from '../../support/run-cli.js';
import { haveTools } from '../nbd/nbd-harness.js';

const run = promisify(execFile);
const TIMEOUT_MS = 90_000;

/** Base URL and token from a `#token=` URL. */
function parseUrl(url: string): { base: string; token: string } {
  const [base, fragment] = url.split('/#');
  return { base: base!, token: decodeURIComponent(fragment!.replace(/^token=/, '')) };
}

describe('shadowlog dashboard through the built CLI', () => {
  let home: string;
  const h = () => ['--home', home];

  beforeAll(async () => {
    home = await mkdtemp(join(tmpdir(), 'shadowlog-dashboard-'));
    const members = ['a.img', 'b.img'].flatMap((m) => ['--member', join(home, m)]);
    expect((await shadowlog([...h(), 'create', 'DB', '--size', '16M', ...members])).code).toBe(0);
  }, TIMEOUT_MS);

  afterAll(async () => {
    await rm(home, { recursive: true, force: true });
  });

  it(
    '--json prints {dashboard:{url,address,token}}; reading needs the token; SIGINT exits 0',
    async () => {
      const d = backgroundCli([...h(), 'dashboard', 'DB', '--json']);
      try {
        await d.waitFor(/\}\s*\}\s*$/);
        const doc = JSON.parse(d.stdout()) as { dashboard: { url: string; address: string; token: string } };
        expect(doc.dashboard.url).toBe(`http://${doc.dashboard.address}/#token=${doc.dashboard.token}`);
        expect(doc.dashboard.address).toMatch(/^127\.0\.0\.1:\d+$/);
        const { base, token } = parseUrl(doc.dashboard.url);
        expect((await fetch(`${base}/api/info`)).status).toBe(401);
        const info = (await (await fetch(`${base}/api/info?token=${token}`)).json()) as InfoAnswer;
        expect(info).toMatchObject({ set: 'DB', readOnly: true, firstPosition: 0 });
      } finally {
        expect(await d.signal('SIGINT')).toBe(0);
      }
    },
    TIMEOUT_MS,
  );

  it(
    '--log DIR serves a log folder; a non-loopback --http without TLS is refused (exit 2)',
    async () => {
      const d = backgroundCli(['dashboard', '--log', join(home, 'DB', 'log')]);
      try {
        const match = await d.waitFor(/^dashboard: (http:\/\/\S+)$/m);
        const { base, token } = parseUrl(match[1]!);
        const view = (await (await fetch(`${base}/api/view?token=${token}`)).json()) as ViewAnswer;
        expect(view.summary.set).toBe('DB');
      } finally {
        expect(await d.signal('SIGTERM')).toBe(0);
      }
      const refused = await shadowlog([...h(), 'dashboard', 'DB', '--http', '0.0.0.0:0']);
      expect(refused.code).toBe(2);
      expect(refused.stderr).toMatch(/loopback address unless it serves TLS/);
      const neither = await shadowlog([...h(), 'dashboard']);
      expect(neither.code).toBe(2);
    },
    TIMEOUT_MS,
  );

  it(
    '--log BUNDLE serves an incident bundle: every position of its window as `show --at` on the set',
    async () => {
      const members = ['c.img', 'd.img', 'e.img'].flatMap((m) => ['--member', join(home, m)]);
      expect((await shadowlog([...h(), 'create', 'DBX', '--size', '16M', ...members])).code).toBe(0);
      const e = join(home, 'e.img');
      expect((await shadowlog([...h(), 'dismount', 'DBX', e, '--policy', 'minicopy'])).code).toBe(0);
      expect((await shadowlog([...h(), 'checkpoint', 'DBX', 'c1'])).code).toBe(0);
      expect((await shadowlog([...h(), 'mount', 'DBX', e])).code).toBe(0);
      expect((await shadowlog([...h(), 'checkpoint', 'DBX', 'c2'])).code).toBe(0);
      const last = JSON.parse((await shadowlog([...h(), 'show', 'DBX', '--json'])).stdout).position as number;
      const bundle = join(home, 'bundle-dbx');
      const exported = await shadowlog([
        ...h(),
        'log',
        'export',
        'DBX',
        '--from',
        '3',
        '--to',
        String(last),
        '--out',
        bundle,
      ]);
      expect(exported.code, exported.stderr).toBe(0);
      const d = backgroundCli(['dashboard', '--log', bundle]);
      try {
        const match = await d.waitFor(/^dashboard: (http:\/\/\S+)$/m);
        const { base, token } = parseUrl(match[1]!);
        const info = (await (await fetch(`${base}/api/info?token=${token}`)).json()) as InfoAnswer;
        expect(info.firstPosition).toBeGreaterThan(0);
        expect(info.lastPosition).toBe(last);
        for (let p = info.firstPosition; p <= last; p++) {
          const view = (await (await fetch(`${base}/api/view?at=${p}&token=${token}`)).json()) as ViewAnswer;
          const shown = await shadowlog([...h(), 'show', 'DBX', '--at', String(p), '--json']);
          expect(view.summary, `position ${p}`).toEqual(JSON.parse(shown.stdout));
        }
      } finally {
        expect(await d.signal('SIGTERM')).toBe(0);
      }
    },
    TIMEOUT_MS * 2,
  );

  it.runIf(haveTools('dashboard follow', ['qemu-io']))(
    'follows a server in another process: a write over NBD comes down the stream',
    async () => {
      const server = await serve(home, 'DB');
      const d = backgroundCli([...h(), 'dashboard', 'DB']);
      const controller = new AbortController();
      try {
        const match = await d.waitFor(/^dashboard: (http:\/\/\S+)$/m);
        const { base, token } = parseUrl(match[1]!);
        const response = await fetch(`${base}/api/stream?token=${token}`, { signal: controller.signal });
        const reader = response.body!.getReader();
        let text = '';
        const readUntil = async (pattern: RegExp) => {
          // Bounded by the test timeout.
          while (!pattern.test(text)) {
            const { value, done } = await reader.read();
            if (done) throw new Error(`stream ended:\n${text}`);
            text += new TextDecoder().decode(value);
          }
        };
        await readUntil(/event: ready/);
        await run('qemu-io', ['-f', 'raw', '-c', 'write -P 0x33 1M 4K', server.uri]);
        await readUntil(/"lbn":2048/);
        expect(text).toMatch(/event: appended\ndata: \[.*"type":"BlocksWritten".*"lbn":2048/);
      } finally {
        controller.abort();
        expect(await d.signal('SIGINT')).toBe(0);
        expect(await server.stop()).toBe(0);
      }
    },
    TIMEOUT_MS,
  );

  it(
    'serve --http prints the dashboard URL; the page URL opens the read API',
    async () => {
      const s = backgroundCli([...h(), 'serve', 'DB', '--nbd', '127.0.0.1:0', '--http', '127.0.0.1:0']);
      try {
        const match = await s.waitFor(/^dashboard: (http:\/\/\S+)$/m, { stream: 'stderr' });
        const { base, token } = parseUrl(match[1]!);
        const info = (await (await fetch(`${base}/api/info?token=${token}`)).json()) as InfoAnswer;
        expect(info).toMatchObject({ set: 'DB', readOnly: false });
        // The read token in the URL cannot drive the set.
        const refused = await fetch(`${base}/api/dismount`, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}` },
          body: JSON.stringify({ member: 'm2', policy: 'minicopy' }),
        });
        expect(refused.status).toBe(401);
      } finally {
        expect(await s.signal('SIGTERM')).toBe(0);
      }
    },
    TIMEOUT_MS,
  );
});
