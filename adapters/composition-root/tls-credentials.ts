import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createSecureContext } from 'node:tls';
import { InvalidArgumentError, IoError, NotFoundError } from '../../domain/errors.js';
import type { NbdTlsOptions } from '../nbd/index.js';

/** `serve --tls`: required (FORCEDTLS), offered (SELECTIVETLS) or off. */
export type TlsMode = 'require' | 'on' | 'off';

/** What `serve` asks for: where the credentials are and how TLS is used. */
export interface TlsRequest {
  /** `--tls-certs DIR`: ca-cert.pem, server-cert.pem, server-key.pem. */
  readonly certsDir?: string;
  /** `--tls-verify-peer`: clients must present a certificate signed by ca-cert.pem. */
  readonly verifyPeer: boolean;
  /** `--tls-psk FILE`: `username:hexkey` lines (psktool, nbdkit). */
  readonly pskFile?: string;
  /** `--tls`; undefined: 'require' when credentials are given, else 'off'. */
  readonly mode?: TlsMode;
}

/** Credentials read from disk and checked. */
export interface TlsCredentials {
  /** The mode in effect ('off' only when nothing was asked for, or `--tls off`). */
  readonly mode: TlsMode;
  /** x509 files, when `--tls-certs` was given. */
  readonly x509?: {
    /** server-key.pem. */
    readonly key: Buffer;
    /** server-cert.pem. */
    readonly cert: Buffer;
    /** ca-cert.pem, if present (required with verifyPeer). */
    readonly ca?: Buffer;
    /** Client certificates are required. */
    readonly verifyPeer: boolean;
    /**
     * The file local commands trust for the https control API: ca-cert.pem, or server-cert.pem
     * itself (a self-signed certificate) when there is no CA file.
     */
    readonly trustFile: string;
  };
  /** Keys by user name, when `--tls-psk` was given. */
  readonly psk?: ReadonlyMap<string, Buffer>;
}

/** Longest PSK file we read: thousands of users, far beyond any operator's file. */
const MAX_PSK_FILE_BYTES = 1 << 20;

async function readCredentialFile(path: string, what: string, optional = false): Promise<Buffer | undefined> {
  try {
    return await readFile(path);
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (code === 'ENOENT') {
      if (optional) return undefined;
      throw new NotFoundError(`TLS ${what} ${path} does not exist`);
    }
    throw new IoError(`cannot read TLS ${what} ${path}: ${(error as Error).message}`, { cause: error });
  }
}

/** Parse a psktool file: `username:hexkey` per line; blank lines and `#` comments skipped. */
export function parsePskFile(path: string, text: string): Map<string, Buffer> {
  const keys = new Map<string, Buffer>();
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '' || line.startsWith('#')) continue;
    const colon = line.lastIndexOf(':');
    const user = line.slice(0, colon);
    const hex = line.slice(colon + 1);
    if (colon <= 0 || !/^(?:[0-9a-fA-F]{2})+$/.test(hex)) {
      throw new InvalidArgumentError(
        `TLS PSK file ${path} line ${i + 1} is not 'username:hexkey' (make one with: psktool -u NAME -p ${path})`,
      );
    }
    keys.set(user, Buffer.from(hex, 'hex'));
  }
  if (keys.size === 0) throw new InvalidArgumentError(`TLS PSK file ${path} holds no keys`);
  return keys;
}

async function loadX509(dir: string, verifyPeer: boolean): Promise<NonNullable<TlsCredentials['x509']>> {
  const key = (await readCredentialFile(join(dir, 'server-key.pem'), 'key'))!;
  const cert = (await readCredentialFile(join(dir, 'server-cert.pem'), 'certificate'))!;
  const ca = await readCredentialFile(join(dir, 'ca-cert.pem'), 'CA certificate', !verifyPeer);
  try {
    createSecureContext({ key, cert, ca });
  } catch (error) {
    throw new InvalidArgumentError(
      `TLS credentials in ${dir} are unusable (server-key.pem, server-cert.pem, ca-cert.pem): ${(error as Error).message}`,
    );
  }
  const trustFile = join(dir, ca ? 'ca-cert.pem' : 'server-cert.pem');
  return { key, cert, ...(ca ? { ca } : {}), verifyPeer, trustFile };
}

/**
 * Read and check the credentials `serve` was given. A missing file is a NotFoundError (exit 3),
 * a malformed one an InvalidArgumentError (exit 2), each naming the file.
 */
export async function loadTlsCredentials(request: TlsRequest): Promise<TlsCredentials> {
  const given = request.certsDir !== undefined || request.pskFile !== undefined;
  const mode = request.mode ?? (given ? 'require' : 'off');
  if (mode !== 'off' && !given) {
    throw new InvalidArgumentError(`--tls ${mode} needs credentials: give --tls-certs DIR or --tls-psk FILE`);
  }
  if (request.verifyPeer && request.certsDir === undefined) {
    throw new InvalidArgumentError(
      '--tls-verify-peer needs --tls-certs DIR (its ca-cert.pem checks clients)',
    );
  }
  if (mode === 'off') return { mode };
  const x509 =
    request.certsDir === undefined ? undefined : await loadX509(request.certsDir, request.verifyPeer);
  let psk: Map<string, Buffer> | undefined;
  if (request.pskFile !== undefined) {
    const data = (await readCredentialFile(request.pskFile, 'PSK file'))!;
    if (data.length > MAX_PSK_FILE_BYTES) {
      throw new InvalidArgumentError(
        `TLS PSK file ${request.pskFile} is larger than ${MAX_PSK_FILE_BYTES} bytes`,
      );
    }
    psk = parsePskFile(request.pskFile, data.toString('utf8'));
  }
  return { mode, ...(x509 ? { x509 } : {}), ...(psk ? { psk } : {}) };
}

/** The NBD server's TLS options, or undefined when TLS is off. */
export function nbdTlsOptions(credentials: TlsCredentials): NbdTlsOptions | undefined {
  if (credentials.mode === 'off') return undefined;
  return { mode: credentials.mode, x509: credentials.x509, psk: credentials.psk };
}

/** HTTPS options for the control API and dashboard: the x509 files, when given and TLS is not off. */
export function httpTlsOptions(
  credentials: TlsCredentials,
): { key: Buffer; cert: Buffer; ca?: Buffer; requestCert?: boolean } | undefined {
  const x509 = credentials.x509;
  if (credentials.mode === 'off' || !x509) return undefined;
  return { key: x509.key, cert: x509.cert, ...(x509.ca ? { ca: x509.ca } : {}) };
}
