import {
  MAX_LISTED_EXPORTS,
  MAX_OPTION_DATA_BYTES,
  MAX_OPTIONS_PER_HANDSHAKE,
  MAX_PAYLOAD_BYTES,
  MAX_SELECTED_META_CONTEXTS,
  MAX_SKIPPABLE_OPTION_BYTES,
  MAX_STRING_BYTES,
  MIN_BLOCK_SIZE_BYTES,
  NBD_INIT_MAGIC,
  NBD_OPTS_MAGIC,
  NbdClientFlag,
  NbdHandshakeFlag,
  NbdInfo,
  NbdOption,
  NbdOptionReply,
  NbdTransmissionFlag,
  OPTION_HEADER_BYTES,
  PREFERRED_BLOCK_SIZE_BYTES,
} from './nbd-constants.js';
import { clipUtf8, describeError } from './nbd-error-mapping.js';
import type { NbdExport } from './nbd-export.js';
import {
  availableContexts,
  MetaContextIds,
  matchListQuery,
  matchSetQuery,
  resolveQueries,
  type SelectedMetaContext,
} from './nbd-meta-contexts.js';
import {
  encodeExportNameReply,
  encodeInfoBlockSize,
  encodeInfoExport,
  encodeInfoString,
  encodeMetaContext,
  encodeOptionReply,
  encodeServerEntry,
  isOptionParseError,
  type MetaContextRequest,
  type OptionParseError,
  parseInfoRequest,
  parseMetaContextRequest,
} from './nbd-option-codec.js';
import type { HandshakeExports, HandshakeIo, HandshakeResult, NegotiatedSession } from './nbd-session.js';
import { decodeProtocolString } from './nbd-wire.js';

/** Transmission flags for an export. SEND_DF only with structured replies, as the spec requires. */
export function transmissionFlagsFor(readOnly: boolean, structuredReplies: boolean): number {
  const F = NbdTransmissionFlag;
  let flags =
    F.HAS_FLAGS |
    F.SEND_FLUSH |
    F.SEND_FUA |
    F.SEND_TRIM |
    F.SEND_WRITE_ZEROES |
    F.SEND_FAST_ZERO |
    // The backend makes flush and FUA visible to every connection when they resolve.
    F.CAN_MULTI_CONN;
  if (structuredReplies) flags |= F.SEND_DF;
  if (readOnly) flags |= F.READ_ONLY;
  return flags;
}

/** The size a backend advertises: whole 512-byte blocks only, undefined if the backend's value is bogus. */
function advertisedSize(exp: NbdExport): number | undefined {
  const size = exp.sizeBytes;
  if (!Number.isSafeInteger(size) || size < 0) return undefined;
  return size - (size % MIN_BLOCK_SIZE_BYTES);
}

interface SelectedForExport {
  readonly exportName: string;
  readonly contexts: readonly SelectedMetaContext[];
}

/** Sentinel for "end the handshake by closing the connection". */
class CloseConnection {
  constructor(readonly reason: string) {}
}

/**
 * Fixed newstyle option haggling for one connection, from the server greeting to transmission.
 * Unknown options get NBD_REP_ERR_UNSUP and haggling goes on; only framing errors (bad magic, bad
 * client flags, an absurd option length) and the cases the spec mandates (unknown export after
 * NBD_OPT_EXPORT_NAME, NBD_OPT_ABORT) close the connection.
 */
export class NbdHandshake {
  private structuredReplies = false;
  private selected: SelectedForExport | undefined;
  private readonly contextIds = new MetaContextIds();
  private fixedNewstyle = false;

  constructor(
    private readonly io: HandshakeIo,
    private readonly exports: HandshakeExports,
    private readonly warn: (message: string) => void,
  ) {}

  /** Run the handshake to its end. Never throws: read failures become a 'closed' result. */
  async run(): Promise<HandshakeResult> {
    try {
      return await this.negotiate();
    } catch (error) {
      if (error instanceof CloseConnection) return { kind: 'closed', reason: error.reason };
      return { kind: 'closed', reason: describeError(error) };
    }
  }

  private async negotiate(): Promise<HandshakeResult> {
    const greeting = Buffer.allocUnsafe(18);
    greeting.writeBigUInt64BE(NBD_INIT_MAGIC, 0);
    greeting.writeBigUInt64BE(NBD_OPTS_MAGIC, 8);
    greeting.writeUInt16BE(NbdHandshakeFlag.FIXED_NEWSTYLE | NbdHandshakeFlag.NO_ZEROES, 16);
    this.io.write(greeting);

    const clientFlags = (await this.io.reader.read(4)).readUInt32BE(0);
    const known = NbdClientFlag.C_FIXED_NEWSTYLE | NbdClientFlag.C_NO_ZEROES;
    if ((clientFlags & ~known) !== 0) {
      return { kind: 'closed', reason: `unknown client flags 0x${clientFlags.toString(16)}` };
    }
    // A client without C_FIXED_NEWSTYLE is still served fixed newstyle (the spec allows it),
    // but TLS needs fixed newstyle (spec, TLS support): such a client cannot meet FORCEDTLS.
    const noZeroes = (clientFlags & NbdClientFlag.C_NO_ZEROES) !== 0;
    this.fixedNewstyle = (clientFlags & NbdClientFlag.C_FIXED_NEWSTYLE) !== 0;
    if (this.io.tls?.required && !this.fixedNewstyle) {
      return { kind: 'closed', reason: 'TLS is required and the client did not set C_FIXED_NEWSTYLE' };
    }

    for (let count = 0; count < MAX_OPTIONS_PER_HANDSHAKE; count++) {
      if (this.io.isShuttingDown()) return { kind: 'closed', reason: 'server shutting down' };
      const header = await this.io.reader.read(OPTION_HEADER_BYTES);
      if (header.readBigUInt64BE(0) !== NBD_OPTS_MAGIC) return { kind: 'closed', reason: 'bad option magic' };
      const option = header.readUInt32BE(8);
      const lengthBytes = header.readUInt32BE(12);
      if (lengthBytes > MAX_SKIPPABLE_OPTION_BYTES) {
        return { kind: 'closed', reason: `option ${option} announces ${lengthBytes} bytes of data` };
      }
      if (this.tlsPending() && option !== NbdOption.STARTTLS && option !== NbdOption.ABORT) {
        // FORCEDTLS (spec, TLS support): EXPORT_NAME cannot fail, so it ends the session.
        if (option === NbdOption.EXPORT_NAME)
          return { kind: 'closed', reason: 'NBD_OPT_EXPORT_NAME before TLS' };
        await this.io.reader.skip(lengthBytes);
        this.reply(option, NbdOptionReply.ERR_TLS_REQD, 'TLS is required: send NBD_OPT_STARTTLS first');
      } else if (option === NbdOption.EXPORT_NAME) {
        return await this.exportName(lengthBytes, noZeroes);
      } else if (option === NbdOption.STARTTLS && this.io.tls) {
        await this.startTls(lengthBytes);
      } else if (lengthBytes > MAX_OPTION_DATA_BYTES) {
        await this.io.reader.skip(lengthBytes);
        this.reply(option, NbdOptionReply.ERR_TOO_BIG, `option data of ${lengthBytes} bytes is too large`);
      } else {
        const data = await this.io.reader.read(lengthBytes);
        const session = this.handleOption(option, data);
        if (session) return { kind: 'transmission', session };
      }
      await this.io.waitForWritable();
    }
    return { kind: 'closed', reason: `more than ${MAX_OPTIONS_PER_HANDSHAKE} options` };
  }

  /** TLS is required and not up yet. */
  private tlsPending(): boolean {
    const tls = this.io.tls;
    return tls?.required === true && !tls.active;
  }

  /**
   * NBD_OPT_STARTTLS with TLS configured: ACK and upgrade, or an error reply. What was negotiated
   * in plain (structured replies, meta contexts) is forgotten: a man in the middle may have sent it.
   */
  private async startTls(lengthBytes: number): Promise<void> {
    const option = NbdOption.STARTTLS;
    const tls = this.io.tls!;
    if (lengthBytes !== 0) {
      await this.io.reader.skip(lengthBytes);
      return this.reply(option, NbdOptionReply.ERR_INVALID, 'NBD_OPT_STARTTLS takes no data');
    }
    if (tls.active) return this.reply(option, NbdOptionReply.ERR_INVALID, 'TLS is already active');
    if (!this.fixedNewstyle) {
      return this.reply(option, NbdOptionReply.ERR_POLICY, 'TLS needs the client flag C_FIXED_NEWSTYLE');
    }
    this.structuredReplies = false;
    this.selected = undefined;
    try {
      await tls.start(encodeOptionReply(option, NbdOptionReply.ACK));
    } catch (error) {
      throw new CloseConnection(`TLS handshake failed: ${describeError(error)}`);
    }
  }

  /** NBD_OPT_EXPORT_NAME cannot return an error: an unknown export closes the connection. */
  private async exportName(lengthBytes: number, noZeroes: boolean): Promise<HandshakeResult> {
    if (lengthBytes > MAX_STRING_BYTES) return { kind: 'closed', reason: 'export name too long' };
    const name = decodeProtocolString(await this.io.reader.read(lengthBytes), MAX_STRING_BYTES);
    if (name === undefined) return { kind: 'closed', reason: 'export name is not a valid string' };
    const exp = this.lookup(name);
    const sizeBytes = exp && advertisedSize(exp);
    if (!exp || sizeBytes === undefined) return { kind: 'closed', reason: `unknown export '${name}'` };
    const flags = transmissionFlagsFor(exp.readOnly, this.structuredReplies);
    const reply = encodeExportNameReply(sizeBytes, flags, noZeroes);
    this.io.write(reply);
    return { kind: 'transmission', session: this.session(exp, sizeBytes, flags, false) };
  }

  /** Handle one option; returns a session when NBD_OPT_GO succeeded. */
  private handleOption(option: number, data: Buffer): NegotiatedSession | undefined {
    switch (option) {
      case NbdOption.ABORT:
        // The spec: reply ACK, then the client drops the connection; we close our side too.
        this.reply(option, NbdOptionReply.ACK);
        throw new CloseConnection('client aborted negotiation');
      case NbdOption.LIST:
        this.list(data);
        return undefined;
      case NbdOption.INFO:
      case NbdOption.GO:
        return this.infoOrGo(option, data);
      case NbdOption.STRUCTURED_REPLY:
        if (data.length !== 0) return this.replyNone(option, NbdOptionReply.ERR_INVALID, 'no data allowed');
        if (this.structuredReplies) {
          return this.replyNone(option, NbdOptionReply.ERR_INVALID, 'structured replies already negotiated');
        }
        this.structuredReplies = true;
        this.reply(option, NbdOptionReply.ACK);
        return undefined;
      case NbdOption.LIST_META_CONTEXT:
        this.listMetaContext(data);
        return undefined;
      case NbdOption.SET_META_CONTEXT:
        this.setMetaContext(data);
        return undefined;
      default:
        // STARTTLS without credentials, EXTENDED_HEADERS and anything unknown: not supported.
        this.reply(option, NbdOptionReply.ERR_UNSUP, `option ${option} is not supported by this server`);
        return undefined;
    }
  }

  private list(data: Buffer): undefined {
    const option = NbdOption.LIST;
    if (data.length !== 0) return this.replyNone(option, NbdOptionReply.ERR_INVALID, 'no data allowed');
    let exports: readonly NbdExport[];
    try {
      exports = this.exports.list();
    } catch (error) {
      const message = `listing exports failed: ${describeError(error)}`;
      this.warn(`NBD_OPT_LIST: ${message}`);
      return this.replyNone(option, NbdOptionReply.ERR_POLICY, message);
    }
    for (const exp of exports.slice(0, MAX_LISTED_EXPORTS)) {
      const entry = encodeServerEntry(clipUtf8(exp.name, MAX_STRING_BYTES), clipUtf8(exp.description, 1024));
      this.io.write(encodeOptionReply(option, NbdOptionReply.SERVER, entry));
    }
    this.reply(option, NbdOptionReply.ACK);
  }

  private infoOrGo(option: number, data: Buffer): NegotiatedSession | undefined {
    const request = parseInfoRequest(data);
    if (isOptionParseError(request)) return this.replyParseError(option, request);
    const exp = this.lookup(request.exportName);
    if (!exp) {
      return this.replyNone(option, NbdOptionReply.ERR_UNKNOWN, `export '${request.exportName}' not found`);
    }
    const sizeBytes = advertisedSize(exp);
    if (sizeBytes === undefined) {
      return this.replyNone(
        option,
        NbdOptionReply.ERR_UNKNOWN,
        `export '${exp.name}' reports an invalid size`,
      );
    }
    const flags = transmissionFlagsFor(exp.readOnly, this.structuredReplies);
    const info = (payload: Buffer) => this.io.write(encodeOptionReply(option, NbdOptionReply.INFO, payload));
    info(encodeInfoExport(sizeBytes, flags));
    if (request.infoTypes.includes(NbdInfo.NAME) || request.exportName !== exp.name) {
      info(encodeInfoString(NbdInfo.NAME, clipUtf8(exp.name, MAX_STRING_BYTES)));
    }
    if (request.infoTypes.includes(NbdInfo.DESCRIPTION) && exp.description !== '') {
      info(encodeInfoString(NbdInfo.DESCRIPTION, clipUtf8(exp.description, MAX_STRING_BYTES)));
    }
    // Always sent: the spec lets a server send information it was not asked for.
    info(encodeInfoBlockSize(MIN_BLOCK_SIZE_BYTES, PREFERRED_BLOCK_SIZE_BYTES, MAX_PAYLOAD_BYTES));
    this.reply(option, NbdOptionReply.ACK);
    if (option !== NbdOption.GO) return undefined;
    return this.session(exp, sizeBytes, flags, request.infoTypes.includes(NbdInfo.BLOCK_SIZE));
  }

  private listMetaContext(data: Buffer): undefined {
    const option = NbdOption.LIST_META_CONTEXT;
    const found = this.metaContextRequest(option, data);
    if (!found) return undefined;
    const { request, available } = found;
    const names =
      request.queries.length === 0
        ? available
        : resolveQueries(request.queries, available, matchListQuery, Number.POSITIVE_INFINITY);
    if (isOptionParseError(names)) return this.replyParseError(option, names);
    // The spec: ids in LIST replies are reserved and SHOULD be zero.
    this.replyContexts(
      option,
      names.map((name) => ({ id: 0, name })),
    );
  }

  private setMetaContext(data: Buffer): undefined {
    const option = NbdOption.SET_META_CONTEXT;
    // The spec: SET replaces the previous selection even when it fails.
    this.selected = undefined;
    if (!this.structuredReplies) {
      return this.replyNone(option, NbdOptionReply.ERR_INVALID, 'negotiate structured replies first');
    }
    const found = this.metaContextRequest(option, data);
    if (!found) return undefined;
    const { request, exp, available } = found;
    const names = resolveQueries(request.queries, available, matchSetQuery, MAX_SELECTED_META_CONTEXTS);
    if (isOptionParseError(names)) return this.replyParseError(option, names);
    const contexts = names.map((name) => ({ id: this.contextIds.idFor(name), name }));
    this.replyContexts(option, contexts);
    this.selected = { exportName: exp.name, contexts };
  }

  /** One NBD_REP_META_CONTEXT per context, then the ACK. */
  private replyContexts(option: number, contexts: readonly SelectedMetaContext[]): void {
    for (const context of contexts) {
      this.io.write(
        encodeOptionReply(option, NbdOptionReply.META_CONTEXT, encodeMetaContext(context.id, context.name)),
      );
    }
    this.reply(option, NbdOptionReply.ACK);
  }

  private session(exp: NbdExport, sizeBytes: number, flags: number, blockSize: boolean): NegotiatedSession {
    // Contexts count only if the final SET_META_CONTEXT named this export (spec, BLOCK_STATUS).
    const contexts = this.selected && this.selected.exportName === exp.name ? this.selected.contexts : [];
    return {
      export: exp,
      sizeBytes,
      transmissionFlags: flags,
      structuredReplies: this.structuredReplies,
      blockSizeNegotiated: blockSize,
      metaContexts: contexts,
    };
  }

  private lookup(name: string): NbdExport | undefined {
    try {
      return this.exports.lookup(name);
    } catch (error) {
      this.warn(`looking up NBD export '${name}' failed: ${describeError(error)}`);
      return undefined;
    }
  }

  /**
   * The request of a LIST or SET_META_CONTEXT with its export and that export's contexts; on a
   * malformed request or an unknown export, replies with the error and returns undefined.
   */
  private metaContextRequest(
    option: number,
    data: Buffer,
  ): { request: MetaContextRequest; exp: NbdExport; available: string[] } | undefined {
    const request = parseMetaContextRequest(data);
    if (isOptionParseError(request)) return this.replyParseError(option, request);
    const exp = this.lookup(request.exportName);
    if (!exp)
      return this.replyNone(option, NbdOptionReply.ERR_UNKNOWN, `export '${request.exportName}' not found`);
    return { request, exp, available: this.contextsOf(exp, request.queries) };
  }

  private contextsOf(exp: NbdExport, queries: readonly string[]): string[] {
    try {
      return availableContexts(exp.metaContexts(), queries, (name) => exp.acceptsContext?.(name) === true);
    } catch (error) {
      this.warn(
        `export '${exp.name}': metaContexts() failed, offering base:allocation only: ${describeError(error)}`,
      );
      return availableContexts([]);
    }
  }

  private replyParseError(option: number, error: OptionParseError): undefined {
    const type = error.error === 'too-big' ? NbdOptionReply.ERR_TOO_BIG : NbdOptionReply.ERR_INVALID;
    this.reply(option, type, error.message);
  }

  /** Same as {@link reply}, typed to end a handler that returns nothing or no session. */
  private replyNone(option: number, replyType: number, message: string): undefined {
    this.reply(option, replyType, message);
    return undefined;
  }

  private reply(option: number, replyType: number, message?: string): void {
    const data = message === undefined ? undefined : Buffer.from(clipUtf8(message, 1024), 'utf8');
    this.io.write(encodeOptionReply(option, replyType, data));
  }
}
