import type { RangeLock } from '../../primitives/range-lock.js';
import type { ExecutionContext } from './nbd-command-executor.js';
import type { NbdExport } from './nbd-export.js';
import type { SelectedMetaContext } from './nbd-meta-contexts.js';
import type { RequestLimits } from './nbd-request.js';
import type { SocketReader } from './socket-reader.js';

/** What the handshake needs from the connection. */
export interface HandshakeIo {
  /** Source of the client's bytes. */
  readonly reader: SocketReader;
  /** Queue bytes for the client. */
  write(data: Buffer): void;
  /** Resolves once queued reply bytes are below the handshake high-water mark. */
  waitForWritable(): Promise<void>;
  /** True once the server is closing: the handshake stops at the next option boundary. */
  isShuttingDown(): boolean;
  /** STARTTLS; undefined when the server has no TLS credentials (STARTTLS gets ERR_UNSUP). */
  readonly tls?: HandshakeTls;
}

/** The connection's side of NBD_OPT_STARTTLS. */
export interface HandshakeTls {
  /** FORCEDTLS: before TLS, options other than STARTTLS and ABORT get NBD_REP_ERR_TLS_REQD. */
  readonly required: boolean;
  /** True once the TLS session is up. */
  readonly active: boolean;
  /**
   * Send `ack` in plain, then run the TLS server handshake; afterwards {@link HandshakeIo.reader}
   * and writes go over TLS. Rejects when the handshake fails (the connection is then closed).
   */
  start(ack: Buffer): Promise<void>;
}

/** How the handshake finds exports; both may throw (the handshake answers with an error reply). */
export interface HandshakeExports {
  /** The export a client names ('' = default export), or undefined. */
  lookup(name: string): NbdExport | undefined;
  /** Every export, for NBD_OPT_LIST. */
  list(): readonly NbdExport[];
}

/** Everything agreed in the handshake that the transmission phase needs. */
export interface NegotiatedSession {
  /** The backend. */
  readonly export: NbdExport;
  /** Export size as advertised (the backend size rounded down to 512 bytes). */
  readonly sizeBytes: number;
  /** Transmission flags as advertised. */
  readonly transmissionFlags: number;
  /** NBD_OPT_STRUCTURED_REPLY was acknowledged. */
  readonly structuredReplies: boolean;
  /**
   * The client entered transmission with NBD_OPT_GO asking for NBD_INFO_BLOCK_SIZE, so it promised
   * to honour the 512-byte minimum: unaligned requests are then answered EINVAL. Clients that did
   * not (NBD_OPT_EXPORT_NAME, or GO without the request) get the default minimum of 1 byte.
   */
  readonly blockSizeNegotiated: boolean;
  /** Contexts selected for this export (empty: BLOCK_STATUS is refused with EINVAL). */
  readonly metaContexts: readonly SelectedMetaContext[];
}

/** Outcome of the handshake: transmission, or a closed connection and why (for the log). */
export type HandshakeResult =
  | { readonly kind: 'transmission'; readonly session: NegotiatedSession }
  | { readonly kind: 'closed'; readonly reason: string };

export /** What a request is checked against and executed with, for the session's lifetime. */
function sessionTerms(
  session: NegotiatedSession,
  lock: RangeLock,
): { limits: RequestLimits; context: ExecutionContext } {
  return {
    limits: {
      sizeBytes: session.sizeBytes,
      readOnly: session.export.readOnly,
      structuredReplies: session.structuredReplies,
      blockSizeNegotiated: session.blockSizeNegotiated,
      metaContextCount: session.metaContexts.length,
    },
    context: {
      export: session.export,
      lock,
      sizeBytes: session.sizeBytes,
      metaContexts: session.metaContexts,
    },
  };
}
