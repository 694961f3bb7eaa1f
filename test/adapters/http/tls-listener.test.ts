import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSet } from '../../../adapters/composition-root/create-set.js';
import {
  type OwnedLogReader,
  openSetLogReader,
} from '../../../adapters/composition-root/dashboard-source.js';
import { setPaths } from '../../../adapters/composition-root/set-home.js';
import { startDashboardServer } from '../../../adapters/http/dashboard-server.js';
import { haveTools } from '../nbd/nbd-harness.js';

const TIMEOUT_MS = 60_000;

/** GET over https trusting `ca`; resolves with status and body. */
function httpsGet(url: string, ca: Buffer | undefined): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { ca, rejectUnauthorized: true }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => {
        body += d.toString();
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe.runIf(haveTools('dashboard over TLS', ['openssl']))('the dashboard over https', () => {
  let dir: string;
  let key: Buffer;
  let cert: Buffer;
  let reader: OwnedLogReader;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'shadowlog-tls-'));
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-days',
        '1',
        '-subj',
        '/CN=localhost',
        '-addext',
        'subjectAltName=IP:127.0.0.1,DNS:localhost',
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'cert.pem'),
      ],
      { stdio: 'ignore' },
    );
    key = await readFile(join(dir, 'key.pem'));
    cert = await readFile(join(dir, 'cert.pem'));
    const paths = setPaths(dir, 'TLS1');
    await createSet(paths, dir, {
      sizeBytes: 1024 * 1024,
      memberPaths: [join(dir, 'a.img'), join(dir, 'b.img')],
    });
    reader = await openSetLogReader(paths, dir);
  }, TIMEOUT_MS);

  afterAll(async () => {
    await reader?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it(
    'serves the read API over https with the given certificate; a client that does not trust it is refused',
    async () => {
      const server = await startDashboardServer({
        reader,
        host: '127.0.0.1',
        port: 0,
        token: 'T',
        tls: { key, cert },
      });
      try {
        expect(server.url).toBe(`https://${server.address}/#token=T`);
        const ok = await httpsGet(`https://${server.address}/api/info?token=T`, cert);
        expect(ok.status).toBe(200);
        expect(JSON.parse(ok.body)).toMatchObject({ set: 'TLS1', readOnly: true });
        expect((await httpsGet(`https://${server.address}/api/info`, cert)).status).toBe(401);
        await expect(httpsGet(`https://${server.address}/api/info?token=T`, undefined)).rejects.toThrow(
          /self[- ]signed|certificate/i,
        );
      } finally {
        await server.close();
      }
    },
    TIMEOUT_MS,
  );
});
