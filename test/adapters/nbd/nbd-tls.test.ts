import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NbdOption, NbdOptionReply } from '../../../adapters/nbd/nbd-constants.js';
import type { NbdTlsOptions } from '../../../adapters/nbd/nbd-tls.js';
import { type Harness, haveTools, run, startHarness } from './nbd-harness.js';
import { RawNbdClient } from './raw-nbd-client.js';
import { makePskFile, makeX509, type X509Fixture } from './tls-credentials-fixture.js';

const MiB = 1024 * 1024;
const available = haveTools('NBD TLS tests', ['qemu-io', 'nbdinfo', 'nbdcopy', 'certtool']);

async function x509Options(fixture: X509Fixture, verifyPeer: boolean): Promise<NbdTlsOptions['x509']> {
  const file = (name: string) => readFile(join(fixture.serverDir, name));
  return {
    key: await file('server-key.pem'),
    cert: await file('server-cert.pem'),
    ca: await file('ca-cert.pem'),
    verifyPeer,
  };
}

async function pskMap(path: string): Promise<Map<string, Buffer>> {
  const [user, hex] = (await readFile(path, 'utf8')).trim().split(':');
  return new Map([[user!, Buffer.from(hex!, 'hex')]]);
}

/** A failing tool run's error text (the test asserts it failed, and why). */
async function failure(tool: string, args: readonly string[]): Promise<string> {
  try {
    await run(tool, args, 60_000);
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error(`${tool} ${args.join(' ')} succeeded but should have been refused`);
}

describe.skipIf(!available)('NBD over TLS with real clients', () => {
  let root: string;
  let x509: X509Fixture;
  let pskDir: string;
  let pskFile: string;
  let wrongPskFile: string;
  let certs: Harness;
  let psk: Harness;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'shadowlog-nbd-tls-'));
    x509 = await makeX509(root);
    pskDir = join(root, 'psk');
    // qemu's tls-creds-psk reads DIR/keys.psk.
    pskFile = await makePskFile(pskDir, 'keys.psk', 'alice');
    wrongPskFile = await makePskFile(join(root, 'wrong-psk'), 'keys.psk', 'alice');
    certs = await startHarness([{ name: 'disk', sizeBytes: 8 * MiB, description: 'tls disk' }], {
      tls: { mode: 'require', x509: await x509Options(x509, true) },
    });
    psk = await startHarness([{ name: 'disk', sizeBytes: 8 * MiB }], {
      tls: { mode: 'require', psk: await pskMap(pskFile) },
    });
  }, 120_000);

  afterAll(async () => {
    await certs?.close();
    await psk?.close();
    if (root) await rm(root, { recursive: true, force: true });
  });

  const port = (h: Harness) => h.server.address.port;
  const backing = (h: Harness) => readFile(join(h.dir, 'disk.img'));

  it('qemu-io with tls-creds-x509 writes over TLS, and the backing file has it', async () => {
    await run('qemu-io', [
      '--object',
      `tls-creds-x509,id=tls0,dir=${x509.clientDir},endpoint=client`,
      '--image-opts',
      `driver=nbd,host=127.0.0.1,port=${port(certs)},export=disk,tls-creds=tls0`,
      '-c',
      'write -P 0x5a 1m 256k',
      '-c',
      'read -P 0x5a 1m 256k',
      '-c',
      'flush',
    ]);
    const image = await backing(certs);
    expect(image.subarray(MiB, MiB + 256 * 1024).every((b) => b === 0x5a)).toBe(true);
  }, 90_000);

  it('qemu-io with tls-creds-psk writes over TLS 1.2 PSK', async () => {
    await run('qemu-io', [
      '--object',
      `tls-creds-psk,id=tls0,dir=${pskDir},username=alice,endpoint=client`,
      '--image-opts',
      `driver=nbd,host=127.0.0.1,port=${port(psk)},export=disk,tls-creds=tls0`,
      '-c',
      'write -P 0x77 0 128k',
      '-c',
      'flush',
    ]);
    const image = await backing(psk);
    expect(image.subarray(0, 128 * 1024).every((b) => b === 0x77)).toBe(true);
  }, 90_000);

  it('nbdinfo and nbdcopy over nbds:// with a PSK file and with certificates', async () => {
    const pskUri = `nbds://alice@127.0.0.1:${port(psk)}/disk?tls-psk-file=${pskFile}`;
    const info = await run('nbdinfo', ['--json', pskUri]);
    expect(JSON.parse(info.stdout).exports[0]['export-size']).toBe(8 * MiB);
    const certUri = `nbds://127.0.0.1:${port(certs)}/disk?tls-certificates=${x509.clientDir}`;
    const listed = await run('nbdinfo', ['--list', '--json', certUri]);
    expect(JSON.parse(listed.stdout).exports.map((e: { 'export-name': string }) => e['export-name'])).toEqual(
      ['disk'],
    );
    const source = join(root, 'source.img');
    const data = Buffer.alloc(2 * MiB, 0xc3);
    await writeFile(source, data);
    await run('nbdcopy', [source, certUri]);
    await run('nbdcopy', [source, pskUri]);
    expect((await backing(certs)).subarray(0, 2 * MiB).equals(data)).toBe(true);
    expect((await backing(psk)).subarray(0, 2 * MiB).equals(data)).toBe(true);
  }, 120_000);

  it('a client without credentials learns nothing: nbdinfo --list fails, options get ERR_TLS_REQD', async () => {
    const listed = await failure('nbdinfo', ['--list', `nbd://127.0.0.1:${port(certs)}`]);
    expect(listed).not.toContain('tls disk');
    const client = await RawNbdClient.connect(port(certs));
    await client.greet();
    for (const option of [NbdOption.LIST, NbdOption.GO, NbdOption.INFO, NbdOption.STRUCTURED_REPLY]) {
      const [reply] = await client.option(
        option,
        option === NbdOption.LIST ? Buffer.alloc(0) : Buffer.alloc(6),
      );
      expect(reply!.type).toBe(NbdOptionReply.ERR_TLS_REQD);
    }
    // NBD_OPT_EXPORT_NAME cannot be refused: the server closes.
    client.sendOption(NbdOption.EXPORT_NAME, Buffer.from('disk'));
    await client.closed();
    client.socket.destroy();
    // TLS needs fixed newstyle (spec): a client without C_FIXED_NEWSTYLE is closed at once.
    const old = await RawNbdClient.connect(port(certs));
    await old.greet(2);
    await old.closed();
  }, 60_000);

  it('a wrong PSK, a certificate from another CA and no client certificate are refused', async () => {
    const wrong = await failure('nbdinfo', [
      `nbds://alice@127.0.0.1:${port(psk)}/disk?tls-psk-file=${wrongPskFile}`,
    ]);
    expect(wrong).toMatch(/tls|handshake|gnutls/i);
    const stranger = await failure('nbdinfo', [
      `nbds://127.0.0.1:${port(certs)}/disk?tls-certificates=${x509.strangerDir}`,
    ]);
    expect(stranger).toMatch(/tls|handshake|gnutls/i);
    const noCertDir = join(root, 'no-client-cert');
    await mkdir(noCertDir, { recursive: true });
    await writeFile(join(noCertDir, 'ca-cert.pem'), await readFile(join(x509.clientDir, 'ca-cert.pem')));
    const noCert = await failure('qemu-io', [
      '--object',
      `tls-creds-x509,id=tls0,dir=${noCertDir},endpoint=client`,
      '--image-opts',
      `driver=nbd,host=127.0.0.1,port=${port(certs)},export=disk,tls-creds=tls0`,
      '-c',
      'read 0 4k',
    ]);
    expect(noCert).toMatch(/tls|handshake/i);
    // The server is still up and serves a good client after the refusals.
    await run('nbdinfo', [`nbds://alice@127.0.0.1:${port(psk)}/disk?tls-psk-file=${pskFile}`]);
  }, 120_000);

  it('garbage after STARTTLS closes that connection; the server goes on', async () => {
    const client = await RawNbdClient.connect(port(psk));
    await client.greet();
    const [ack] = await client.option(NbdOption.STARTTLS);
    expect(ack!.type).toBe(NbdOptionReply.ACK);
    client.send(Buffer.alloc(4096, 0x41));
    await client.closed();
    await run('nbdinfo', [`nbds://alice@127.0.0.1:${port(psk)}/disk?tls-psk-file=${pskFile}`]);
  }, 60_000);

  it('a client that never does the TLS handshake is closed by the handshake timeout', async () => {
    const slow = await startHarness([{ name: 'disk', sizeBytes: MiB }], {
      tls: { mode: 'require', psk: await pskMap(pskFile) },
      handshakeTimeoutMs: 500,
    });
    try {
      const client = await RawNbdClient.connect(port(slow));
      await client.greet();
      const [ack] = await client.option(NbdOption.STARTTLS);
      expect(ack!.type).toBe(NbdOptionReply.ACK);
      await client.closed();
      // Bytes pipelined behind STARTTLS (before its reply) break the protocol: closed too.
      const eager = await RawNbdClient.connect(port(slow));
      await eager.greet();
      const header = Buffer.alloc(16);
      header.writeBigUInt64BE(0x49484156454f5054n, 0);
      header.writeUInt32BE(NbdOption.STARTTLS, 8);
      eager.send(Buffer.concat([header, Buffer.from('\x16\x03\x01 not a client hello')]));
      await eager.closed();
    } finally {
      await slow.close();
    }
  }, 60_000);

  it('--tls on: a plain client is served, a TLS client too', async () => {
    const on = await startHarness([{ name: 'disk', sizeBytes: 1 * MiB }], {
      tls: { mode: 'on', psk: await pskMap(pskFile) },
    });
    try {
      const plain = await run('nbdinfo', ['--json', `nbd://127.0.0.1:${port(on)}/disk`]);
      expect(JSON.parse(plain.stdout).exports[0]['export-size']).toBe(MiB);
      const secure = await run('nbdinfo', [
        `nbds://alice@127.0.0.1:${port(on)}/disk?tls-psk-file=${pskFile}`,
      ]);
      expect(secure.stdout).toContain('with TLS');
      const client = await RawNbdClient.connect(port(on));
      await client.greet();
      const [first] = await client.option(NbdOption.STARTTLS, Buffer.from('x'));
      expect(first!.type).toBe(NbdOptionReply.ERR_INVALID);
      client.socket.destroy();
    } finally {
      await on.close();
    }
  }, 90_000);

  it('without TLS a non-loopback address is refused; with required TLS it is not', async () => {
    await expect(startHarness([{ name: 'disk', sizeBytes: MiB }], { host: '0.0.0.0' })).rejects.toThrow(
      /non-loopback/,
    );
    const remote = await startHarness([{ name: 'disk', sizeBytes: MiB }], {
      host: '0.0.0.0',
      tls: { mode: 'require', psk: await pskMap(pskFile) },
    });
    await remote.close();
  }, 60_000);
});
