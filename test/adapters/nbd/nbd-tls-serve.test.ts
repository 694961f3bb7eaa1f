import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SHADOWLOG_BIN, shadowlog } from '../../support/run-cli.js';
import { haveTools, run } from './nbd-harness.js';
import { makePskFile, makeX509, type X509Fixture } from './tls-credentials-fixture.js';

/** Issue 14 through `shadowlog serve`: TLS flags, remote serving rules, bad credentials files. */
const MiB = 1024 * 1024;
const available = haveTools('serve --tls tests', ['nbdcopy', 'nbdinfo', 'certtool']);

/** `shadowlog serve DSA1` with extra options; resolves with the NBD port once it serves. */
function serveWith(home: string, args: readonly string[]) {
  const child = spawn(process.execPath, [SHADOWLOG_BIN, '--home', home, 'serve', 'DSA1', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  const exited = new Promise<number>((r) => child.on('exit', (code) => r(code ?? -1)));
  const port = new Promise<number>((resolve, reject) => {
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      const match = /NBD nbds?:\/\/[^ ]*:(\d+)\//.exec(stderr);
      if (match) resolve(Number(match[1]));
    });
    void exited.then((code) => reject(new Error(`serve exited ${code}: ${stderr}`)));
  });
  return {
    port,
    stop: async () => {
      child.kill('SIGTERM');
      return exited;
    },
    get stderr() {
      return stderr;
    },
  };
}

describe.skipIf(!available)('serve --tls', () => {
  let home: string;
  let x509: X509Fixture;
  let pskFile: string;

  beforeAll(async () => {
    home = await mkdtemp(join(tmpdir(), 'shadowlog-serve-tls-'));
    x509 = await makeX509(join(home, 'pki'));
    pskFile = await makePskFile(join(home, 'psk'), 'keys.psk', 'alice');
    const members = ['m1', 'm2'].flatMap((m) => ['--member', join(home, `${m}.img`)]);
    const created = await shadowlog(['--home', home, 'create', 'DSA1', '--size', '4M', ...members]);
    expect(created.code, created.stderr).toBe(0);
  }, 120_000);

  afterAll(async () => {
    if (home) await rm(home, { recursive: true, force: true });
  });

  it('--tls-psk on 0.0.0.0 needs no --allow-remote, warns nothing, and the data is on every member', async () => {
    const served = serveWith(home, ['--nbd', '0.0.0.0:0', '--tls-psk', pskFile]);
    const port = await served.port;
    const source = join(home, 'source.img');
    const data = Buffer.alloc(MiB, 0x9e);
    await writeFile(source, data);
    await run('nbdcopy', [source, `nbds://alice@127.0.0.1:${port}/DSA1?tls-psk-file=${pskFile}`]);
    expect(await served.stop()).toBe(0);
    expect(served.stderr).not.toMatch(/no authentication/);
    for (const member of ['m1', 'm2']) {
      const image = await readFile(join(home, `${member}.img`));
      expect(image.subarray(0, MiB).equals(data), member).toBe(true);
    }
  }, 120_000);

  it('--tls-certs --tls-verify-peer serves a client with a certificate and refuses a plain one', async () => {
    const served = serveWith(home, [
      '--nbd',
      '127.0.0.1:0',
      '--tls-certs',
      x509.serverDir,
      '--tls-verify-peer',
    ]);
    try {
      const port = await served.port;
      const info = await run('nbdinfo', [
        '--json',
        `nbds://127.0.0.1:${port}/DSA1?tls-certificates=${x509.clientDir}`,
      ]);
      expect(JSON.parse(info.stdout).exports[0]['export-size']).toBe(4 * MiB);
      await expect(run('nbdinfo', ['--list', `nbd://127.0.0.1:${port}`])).rejects.toThrow();
      // The control API serves https with the same certificates; local commands trust the CA
      // named in server.json, and plain http is not answered.
      const info2 = JSON.parse(await readFile(join(home, 'DSA1', 'server.json'), 'utf8')) as {
        http: string;
        scheme?: string;
        caCertFile?: string;
      };
      expect(info2.scheme).toBe('https');
      expect(info2.caCertFile).toBe(join(x509.serverDir, 'ca-cert.pem'));
      const show = await shadowlog(['--home', home, 'show', 'DSA1', '--json']);
      expect(show.code, show.stderr).toBe(0);
      expect(JSON.parse(show.stdout).set).toBe('DSA1');
      // A checkpoint must be appended by the server (it holds the log): through https.
      const checkpoint = await shadowlog(['--home', home, 'checkpoint', 'DSA1', 'over-https', '--json']);
      expect(checkpoint.code, checkpoint.stderr).toBe(0);
      expect(JSON.parse(checkpoint.stdout).checkpoint.name).toBe('over-https');
      await expect(fetch(`http://${info2.http}/api/state`)).rejects.toThrow();
    } finally {
      expect(await served.stop()).toBe(0);
    }
  }, 120_000);

  it('a non-loopback --nbd with --tls on still needs --allow-remote', async () => {
    const result = await shadowlog([
      '--home',
      home,
      'serve',
      'DSA1',
      '--nbd',
      '0.0.0.0:0',
      '--tls-psk',
      pskFile,
      '--tls',
      'on',
    ]);
    expect(result.code, result.stderr).toBe(2);
    expect(result.stderr).toContain('non-loopback');
  }, 60_000);

  it('bad credentials exit with the README code, naming the file', async () => {
    const missing = join(home, 'no-such-dir');
    const absent = await shadowlog(['--home', home, 'serve', 'DSA1', '--tls-certs', missing]);
    expect(absent.code, absent.stderr).toBe(3);
    expect(absent.stderr).toContain(join(missing, 'server-key.pem'));
    const badPsk = join(home, 'bad.psk');
    await writeFile(badPsk, 'alice:not-hex\n');
    const malformed = await shadowlog(['--home', home, 'serve', 'DSA1', '--tls-psk', badPsk]);
    expect(malformed.code, malformed.stderr).toBe(2);
    expect(malformed.stderr).toContain(`${badPsk} line 1`);
    const garbled = join(home, 'garbled');
    await run('cp', ['-r', x509.serverDir, garbled]);
    await writeFile(join(garbled, 'server-key.pem'), 'not a key\n');
    const unusable = await shadowlog(['--home', home, 'serve', 'DSA1', '--tls-certs', garbled]);
    expect(unusable.code, unusable.stderr).toBe(2);
    expect(unusable.stderr).toContain(garbled);
    const noCreds = await shadowlog(['--home', home, 'serve', 'DSA1', '--tls', 'require']);
    expect(noCreds.code, noCreds.stderr).toBe(2);
    expect(noCreds.stderr).toContain('--tls-certs');
  }, 90_000);
});
