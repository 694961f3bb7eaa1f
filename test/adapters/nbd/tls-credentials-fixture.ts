import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const exec = promisify(execFile);

/** Files of one generated x509 setup: a CA, a server and a client signed by it. */
export interface X509Fixture {
  /** Server directory: ca-cert.pem, server-cert.pem, server-key.pem (qemu/nbdkit layout). */
  readonly serverDir: string;
  /** Client directory: ca-cert.pem, client-cert.pem, client-key.pem (qemu endpoint=client, libnbd). */
  readonly clientDir: string;
  /** A client directory whose client certificate is signed by another CA. */
  readonly strangerDir: string;
}

async function certtool(args: readonly string[]): Promise<void> {
  await exec('certtool', [...args], { timeout: 60_000 });
}

async function template(dir: string, name: string, lines: readonly string[]): Promise<string> {
  const path = join(dir, `${name}.info`);
  await writeFile(path, `${lines.join('\n')}\n`);
  return path;
}

async function makeCa(dir: string, cn: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  await certtool(['--generate-privkey', '--outfile', join(dir, 'ca-key.pem')]);
  const info = await template(dir, 'ca', [`cn = ${cn}`, 'ca', 'cert_signing_key', 'expiration_days = 30']);
  await certtool([
    '--generate-self-signed',
    '--load-privkey',
    join(dir, 'ca-key.pem'),
    '--template',
    info,
    '--outfile',
    join(dir, 'ca-cert.pem'),
  ]);
}

async function signed(caDir: string, outDir: string, role: 'server' | 'client'): Promise<void> {
  await mkdir(outDir, { recursive: true });
  const key = join(outDir, `${role}-key.pem`);
  await certtool(['--generate-privkey', '--outfile', key]);
  const usage =
    role === 'server'
      ? ['cn = localhost', 'dns_name = localhost', 'ip_address = 127.0.0.1', 'tls_www_server']
      : ['cn = shadowlog-test-client', 'tls_www_client'];
  const info = await template(outDir, role, [
    ...usage,
    'encryption_key',
    'signing_key',
    'expiration_days = 30',
  ]);
  await certtool([
    '--generate-certificate',
    '--load-privkey',
    key,
    '--load-ca-certificate',
    join(caDir, 'ca-cert.pem'),
    '--load-ca-privkey',
    join(caDir, 'ca-key.pem'),
    '--template',
    info,
    '--outfile',
    join(outDir, `${role}-cert.pem`),
  ]);
}

/** Generate a CA, server and client certificates (and a stranger's) under `root` with certtool. */
export async function makeX509(root: string): Promise<X509Fixture> {
  const caDir = join(root, 'ca');
  const otherCaDir = join(root, 'other-ca');
  const serverDir = join(root, 'server');
  const clientDir = join(root, 'client');
  const strangerDir = join(root, 'stranger');
  await makeCa(caDir, 'shadowlog test CA');
  await makeCa(otherCaDir, 'some other CA');
  await signed(caDir, serverDir, 'server');
  await signed(caDir, clientDir, 'client');
  await signed(otherCaDir, strangerDir, 'client');
  const ca = await readFile(join(caDir, 'ca-cert.pem'));
  await writeFile(join(serverDir, 'ca-cert.pem'), ca);
  await writeFile(join(clientDir, 'ca-cert.pem'), ca);
  // The stranger trusts our server (so only the server's verdict on its certificate counts).
  await writeFile(join(strangerDir, 'ca-cert.pem'), ca);
  return { serverDir, clientDir, strangerDir };
}

/** A psktool-format key file (`username:hexkey`) with a fresh 32-byte key; returns its path. */
export async function makePskFile(dir: string, name: string, username: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  const path = join(dir, name);
  await writeFile(path, `${username}:${randomBytes(32).toString('hex')}\n`, { mode: 0o600 });
  return path;
}
