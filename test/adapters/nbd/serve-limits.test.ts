import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { NbdCommand } from '../../../adapters/nbd/nbd-constants.js';
import { SHADOWLOG_BIN, shadowlog } from '../../support/run-cli.js';
import { RawNbdClient } from './raw-nbd-client.js';

/**
 * Issue 11, item 8, through `shadowlog serve`: a port in use is an operator fault (exit 7 with
 * the address and the fix, not 70), and `--max-connections` / `--idle-timeout` reach the server.
 */
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function occupy(): Promise<{ server: Server; port: number }> {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      resolve({ server, port: typeof address === 'object' && address ? address.port : 0 });
    });
  });
}

/** `shadowlog serve` with extra options; resolves with its NBD port once it serves. */
function serveWith(home: string, args: readonly string[]) {
  const child = spawn(
    process.execPath,
    [SHADOWLOG_BIN, '--home', home, 'serve', 'DSA1', '--nbd', '127.0.0.1:0', ...args],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stderr = '';
  const exited = new Promise<number>((r) => child.on('exit', (code) => r(code ?? -1)));
  const port = new Promise<number>((resolve, reject) => {
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      const match = /NBD nbd:\/\/127\.0\.0\.1:(\d+)\//.exec(stderr);
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

describe('serve: listen faults and connection limits', () => {
  let home: string;

  beforeEach(async () => {
    home = await mkdtemp(join(tmpdir(), 'shadowlog-serve-limits-'));
    const members = ['m1', 'm2'].flatMap((m) => ['--member', join(home, `${m}.img`)]);
    const created = await shadowlog(['--home', home, 'create', 'DSA1', '--size', '4M', ...members]);
    expect(created.code, created.stderr).toBe(0);
  });

  afterEach(async () => {
    await rm(home, { recursive: true, force: true });
  });

  it('a port in use exits 7 naming the address and the fix', async () => {
    const { server, port } = await occupy();
    try {
      const result = await shadowlog(['--home', home, 'serve', 'DSA1', '--nbd', `127.0.0.1:${port}`]);
      expect(result.code, result.stderr).toBe(7);
      expect(result.stderr).toContain(
        `another program listens on 127.0.0.1:${port}; choose another --nbd address`,
      );
      // The set is left as it was: another serve works at once.
      const shown = await shadowlog(['--home', home, 'show', 'DSA1']);
      expect(shown.code, shown.stderr).toBe(0);
    } finally {
      server.close();
    }
  }, 60_000);

  it('refuses a zero connection cap as a usage error', async () => {
    const result = await shadowlog(['--home', home, 'serve', 'DSA1', '--max-connections', '0']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/--max-connections '0' is invalid/);
  }, 60_000);

  it('--max-connections and --idle-timeout reach the NBD server', async () => {
    const served = serveWith(home, ['--max-connections', '2', '--idle-timeout', '1']);
    const port = await served.port;
    const clients: RawNbdClient[] = [];
    try {
      for (let i = 0; i < 3; i++) {
        const c = await RawNbdClient.connect(port);
        await c.go('DSA1', { structured: true });
        clients.push(c);
        await sleep(20);
      }
      // At the cap of 2, the first (idle longest) was closed for the third.
      await Promise.race([clients[0]!.closed(), sleep(10_000)]);
      expect(clients[0]!.socket.destroyed).toBe(true);
      expect(await clients[2]!.errorOf(NbdCommand.FLUSH, 0, 0)).toBe(0);
      // Idle for more than a second: closed by the server.
      await Promise.race([clients[2]!.closed(), sleep(10_000)]);
      expect(clients[2]!.socket.destroyed).toBe(true);
      expect(served.stderr).toMatch(/NBD connection cap of 2 reached: closed 1 idle connection/);
    } finally {
      for (const c of clients) c.destroy();
      expect(await served.stop()).toBe(0);
    }
  }, 60_000);
});
