import type { Socket } from 'node:net';
import { createSecureContext, type SecureContext, TLSSocket } from 'node:tls';
import { InvalidArgumentError } from '../../domain/errors.js';

/** x509 credentials of the server (the qemu tls-creds-x509 / nbdkit --tls-certificates files). */
export interface NbdTlsX509 {
  /** server-key.pem. */
  readonly key: Buffer;
  /** server-cert.pem (with any intermediate certificates). */
  readonly cert: Buffer;
  /** ca-cert.pem: the CA client certificates must chain to when {@link verifyPeer}. */
  readonly ca?: Buffer;
  /** Require a client certificate signed by {@link ca}. */
  readonly verifyPeer: boolean;
}

/** TLS settings of an NBD server. */
export interface NbdTlsOptions {
  /**
   * 'require': every option but NBD_OPT_STARTTLS before TLS is answered NBD_REP_ERR_TLS_REQD
   * (NBD_OPT_EXPORT_NAME closes). 'on': TLS is offered; plain clients are served too.
   */
  readonly mode: 'require' | 'on';
  /** Certificate credentials; at least one of x509 and psk is given. */
  readonly x509?: NbdTlsX509;
  /** Pre-shared keys by user name (the psktool `username:hexkey` file). */
  readonly psk?: ReadonlyMap<string, Buffer>;
}

/**
 * The TLS 1.2 PSK suites gnutls (qemu, libnbd, nbd-client) and OpenSSL share; qemu-io and nbdinfo
 * negotiate ECDHE-PSK-CHACHA20-POLY1305 here. Node cannot do PSK over TLS 1.3.
 */
const PSK_CIPHERS = [
  'ECDHE-PSK-CHACHA20-POLY1305',
  'DHE-PSK-AES256-GCM-SHA384',
  'DHE-PSK-AES128-GCM-SHA256',
  'DHE-PSK-CHACHA20-POLY1305',
  'ECDHE-PSK-AES256-CBC-SHA384',
  'ECDHE-PSK-AES128-CBC-SHA256',
  'PSK-AES256-GCM-SHA384',
  'PSK-AES128-GCM-SHA256',
  'PSK-CHACHA20-POLY1305',
].join(':');

/** The server side of STARTTLS, built once per server from checked credentials. */
export class NbdTlsUpgrader {
  private readonly context: SecureContext;

  constructor(private readonly options: NbdTlsOptions) {
    const { x509, psk } = options;
    if (!x509 && (!psk || psk.size === 0)) {
      throw new InvalidArgumentError('NBD TLS needs x509 credentials or at least one pre-shared key');
    }
    if (x509?.verifyPeer && !x509.ca) {
      throw new InvalidArgumentError('NBD TLS peer verification needs a CA certificate (ca-cert.pem)');
    }
    try {
      this.context = createSecureContext({
        key: x509?.key,
        cert: x509?.cert,
        ca: x509?.ca,
        // With PSK: TLS 1.2 for everyone. Node has no TLS 1.3 PSK, and a gnutls PSK client offered
        // 1.3 would fail ("insufficient credentials") instead of falling back.
        ...(psk ? { maxVersion: 'TLSv1.2' as const } : {}),
        ...(psk ? { ciphers: `${x509 ? 'DEFAULT:' : ''}${PSK_CIPHERS}` } : {}),
      });
    } catch (error) {
      const why = error instanceof Error ? error.message : String(error);
      throw new InvalidArgumentError(`NBD TLS credentials are unusable: ${why}`);
    }
  }

  /** True when plain clients may not negotiate anything but STARTTLS. */
  get required(): boolean {
    return this.options.mode === 'require';
  }

  /**
   * Wrap the raw socket (no reader attached, nothing buffered) and finish the server handshake.
   * Rejects on a failed handshake (bad key, untrusted certificate, garbage); the caller's
   * handshake timer bounds the wait. Later socket errors go to `onError`; a TLS close destroys
   * the TCP socket, whose 'close' the connection's bookkeeping listens for.
   */
  upgrade(raw: Socket, onError: (error: Error) => void): Promise<TLSSocket> {
    const x509 = this.options.x509;
    const psk = this.options.psk;
    const secure = new TLSSocket(raw, {
      isServer: true,
      secureContext: this.context,
      requestCert: x509?.verifyPeer === true,
      rejectUnauthorized: x509?.verifyPeer === true,
      ...(psk ? { pskCallback: (_socket: TLSSocket, identity: string) => psk.get(identity) ?? null } : {}),
    } as ConstructorParameters<typeof TLSSocket>[1]);
    return new Promise<TLSSocket>((resolve, reject) => {
      const fail = (error: Error) => {
        secure.destroy();
        reject(error);
      };
      secure.once('error', fail);
      secure.once('close', () => reject(new Error('connection closed during the TLS handshake')));
      secure.once('secure', () => {
        // A PSK suite authenticated the client by its key; certificates are for the others.
        const byKey = secure.getCipher().name.includes('PSK');
        const why = x509?.verifyPeer && !byKey ? peerRejection(secure) : undefined;
        if (why) return fail(new Error(why));
        secure.off('error', fail);
        secure.on('error', onError);
        secure.once('close', () => raw.destroy());
        resolve(secure);
      });
    });
  }
}

/**
 * Why a client certificate is not accepted, or undefined. A TLSSocket outside a tls.Server does
 * not check the verdict itself (Node's _tls_wrap onServerSocketSecure does that for servers).
 */
function peerRejection(secure: TLSSocket): string | undefined {
  const peer = secure.getPeerCertificate();
  if (!peer || Object.keys(peer).length === 0) return 'the client sent no certificate';
  const handle = (secure as unknown as { _handle?: { verifyError(): Error | null } })._handle;
  const error = handle?.verifyError();
  if (error === undefined) return 'the client certificate could not be checked';
  return error ? `the client certificate is not trusted: ${error.message}` : undefined;
}
