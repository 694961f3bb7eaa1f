import { connect, type Socket } from 'node:net';
import {
  NBD_OPTS_MAGIC,
  NBD_REQUEST_MAGIC,
  NBD_SIMPLE_REPLY_MAGIC,
  NBD_STRUCTURED_REPLY_MAGIC,
  NbdCommand,
  NbdInfo,
  NbdOption,
  NbdOptionReply,
} from '../../../adapters/nbd/nbd-constants.js';
import { readUint64, writeUint64 } from '../../../adapters/nbd/nbd-wire.js';
import { SocketReader } from '../../../adapters/nbd/socket-reader.js';

/** One option reply. */
export interface OptionReply {
  readonly option: number;
  readonly type: number;
  readonly data: Buffer;
}

/** One reply message: a simple reply or a structured chunk. */
export interface ReplyMessage {
  readonly cookie: bigint;
  readonly structured: boolean;
  /** Simple: the error; structured: 0 unless an error chunk. */
  readonly error: number;
  /** Structured chunk flags and type. */
  readonly flags: number;
  readonly type: number;
  /** Simple read data or structured payload. */
  readonly data: Buffer;
}

/** Options of {@link RawNbdClient.go}. */
export interface GoOptions {
  readonly structured?: boolean;
  readonly blockSize?: boolean;
  readonly contexts?: readonly string[];
  readonly clientFlags?: number;
}

/** Session parameters after GO / EXPORT_NAME. */
export interface Session {
  readonly sizeBytes: number;
  readonly flags: number;
  readonly contextIds: ReadonlyMap<string, number>;
  readonly infos: readonly Buffer[];
}

/** Encode a string with a u32 length prefix. */
export function lengthPrefixed(text: string): Buffer {
  const bytes = Buffer.from(text, 'utf8');
  const out = Buffer.alloc(4 + bytes.length);
  out.writeUInt32BE(bytes.length, 0);
  bytes.copy(out, 4);
  return out;
}

/** Data of NBD_OPT_{LIST,SET}_META_CONTEXT. */
export function metaContextData(exportName: string, queries: readonly string[]): Buffer {
  const count = Buffer.alloc(4);
  count.writeUInt32BE(queries.length, 0);
  return Buffer.concat([lengthPrefixed(exportName), count, ...queries.map(lengthPrefixed)]);
}

/** Data of NBD_OPT_INFO / NBD_OPT_GO. */
export function infoData(exportName: string, infos: readonly number[]): Buffer {
  const list = Buffer.alloc(2 + 2 * infos.length);
  list.writeUInt16BE(infos.length, 0);
  for (const [i, info] of infos.entries()) list.writeUInt16BE(info, 2 + 2 * i);
  return Buffer.concat([lengthPrefixed(exportName), list]);
}

/** Encode a request header (and payload). */
export function encodeRequest(
  type: number,
  flags: number,
  cookie: bigint,
  offset: number,
  length: number,
): Buffer {
  const out = Buffer.alloc(28);
  out.writeUInt32BE(NBD_REQUEST_MAGIC, 0);
  out.writeUInt16BE(flags, 4);
  out.writeUInt16BE(type, 6);
  out.writeBigUInt64BE(cookie, 8);
  writeUint64(out, offset, 16);
  out.writeUInt32BE(length, 24);
  return out;
}

/**
 * A deliberately small NBD client over a raw socket, for tests that need to send exactly what a
 * real client would not (pipelining patterns, bad flags, unaligned offsets).
 */
export class RawNbdClient {
  private readonly reader: SocketReader;
  private nextCookie = 1n;
  /** Cookies of simple-reply reads in flight and their lengths (a simple reply does not carry one). */
  private readonly pendingReads = new Map<bigint, number>();
  private structured = false;

  private constructor(readonly socket: Socket) {
    this.reader = new SocketReader(socket, 64 * 1024 * 1024);
    socket.on('error', () => {});
  }

  /** Connect to 127.0.0.1:port. */
  static connect(port: number): Promise<RawNbdClient> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port, noDelay: true }, () =>
        resolve(new RawNbdClient(socket)),
      );
      socket.once('error', reject);
    });
  }

  /** Send raw bytes. */
  send(data: Buffer): void {
    this.socket.write(data);
  }

  /** Read exactly n bytes. */
  read(n: number): Promise<Buffer> {
    return this.reader.read(n);
  }

  /** Resolves when the server closed the connection. */
  closed(): Promise<void> {
    if (this.socket.destroyed) return Promise.resolve();
    return new Promise((resolve) => this.socket.once('close', () => resolve()));
  }

  /** Read the 18-byte greeting and send client flags. */
  async greet(clientFlags = 3): Promise<number> {
    const greeting = await this.read(18);
    const flags = greeting.readUInt16BE(16);
    const out = Buffer.alloc(4);
    out.writeUInt32BE(clientFlags >>> 0, 0);
    this.send(out);
    return flags;
  }

  /** Send an option header and data. */
  sendOption(option: number, data: Buffer = Buffer.alloc(0)): void {
    const header = Buffer.alloc(16);
    header.writeBigUInt64BE(NBD_OPTS_MAGIC, 0);
    header.writeUInt32BE(option, 8);
    header.writeUInt32BE(data.length, 12);
    this.send(Buffer.concat([header, data]));
  }

  /** Read one option reply. */
  async readOptionReply(): Promise<OptionReply> {
    const header = await this.read(20);
    const length = header.readUInt32BE(16);
    return { option: header.readUInt32BE(8), type: header.readUInt32BE(12), data: await this.read(length) };
  }

  /** Send an option and collect replies up to the final one (ACK or an error). */
  async option(option: number, data: Buffer = Buffer.alloc(0)): Promise<OptionReply[]> {
    this.sendOption(option, data);
    const replies: OptionReply[] = [];
    for (let i = 0; i < 10_000; i++) {
      const reply = await this.readOptionReply();
      replies.push(reply);
      const intermediate =
        reply.type === NbdOptionReply.SERVER ||
        reply.type === NbdOptionReply.INFO ||
        reply.type === NbdOptionReply.META_CONTEXT;
      if (!intermediate) return replies;
    }
    throw new Error('too many option replies');
  }

  /** Full handshake ending with NBD_OPT_GO. */
  async go(exportName: string, options: GoOptions = {}): Promise<Session> {
    await this.greet(options.clientFlags ?? 3);
    if (options.structured) {
      const [ack] = await this.option(NbdOption.STRUCTURED_REPLY);
      if (ack?.type !== NbdOptionReply.ACK) throw new Error('structured replies refused');
      this.structured = true;
    }
    const contextIds = new Map<string, number>();
    if (options.contexts) {
      const replies = await this.option(
        NbdOption.SET_META_CONTEXT,
        metaContextData(exportName, options.contexts),
      );
      for (const reply of replies) {
        if (reply.type === NbdOptionReply.META_CONTEXT) {
          contextIds.set(reply.data.subarray(4).toString('utf8'), reply.data.readUInt32BE(0));
        }
      }
    }
    const infos = options.blockSize ? [NbdInfo.BLOCK_SIZE] : [];
    const replies = await this.option(NbdOption.GO, infoData(exportName, infos));
    const final = replies[replies.length - 1]!;
    if (final.type !== NbdOptionReply.ACK) {
      throw new Error(`GO failed: 0x${final.type.toString(16)} ${final.data.toString('utf8')}`);
    }
    const info = replies.find(
      (r) => r.type === NbdOptionReply.INFO && r.data.readUInt16BE(0) === NbdInfo.EXPORT,
    )!;
    return {
      sizeBytes: readUint64(info.data, 2),
      flags: info.data.readUInt16BE(10),
      contextIds,
      infos: replies.filter((r) => r.type === NbdOptionReply.INFO).map((r) => r.data),
    };
  }

  /** Handshake ending with NBD_OPT_EXPORT_NAME (no block size agreed: byte granularity allowed). */
  async exportName(exportName: string, clientFlags = 3): Promise<Session> {
    await this.greet(clientFlags);
    this.sendOption(NbdOption.EXPORT_NAME, Buffer.from(exportName, 'utf8'));
    const reply = await this.read((clientFlags & 2) !== 0 ? 10 : 134);
    return {
      sizeBytes: readUint64(reply, 0),
      flags: reply.readUInt16BE(8),
      contextIds: new Map(),
      infos: [],
    };
  }

  /** Send a request without waiting; returns its cookie. */
  request(
    type: number,
    offset: number,
    length: number,
    options: { flags?: number; payload?: Buffer } = {},
  ): bigint {
    const cookie = this.nextCookie++;
    if (type === NbdCommand.READ && !this.structured) this.pendingReads.set(cookie, length);
    const header = encodeRequest(type, options.flags ?? 0, cookie, offset, length);
    this.send(options.payload ? Buffer.concat([header, options.payload]) : header);
    return cookie;
  }

  /** Read the next reply message. */
  async readReply(): Promise<ReplyMessage> {
    const magic = (await this.read(4)).readUInt32BE(0);
    if (magic === NBD_SIMPLE_REPLY_MAGIC) {
      const rest = await this.read(12);
      const error = rest.readUInt32BE(0);
      const cookie = rest.readBigUInt64BE(4);
      const readLength = this.pendingReads.get(cookie);
      this.pendingReads.delete(cookie);
      const data = readLength !== undefined && error === 0 ? await this.read(readLength) : Buffer.alloc(0);
      return { cookie, structured: false, error, flags: 1, type: 0, data };
    }
    if (magic === NBD_STRUCTURED_REPLY_MAGIC) {
      const rest = await this.read(16);
      const flags = rest.readUInt16BE(0);
      const type = rest.readUInt16BE(2);
      const cookie = rest.readBigUInt64BE(4);
      const data = await this.read(rest.readUInt32BE(12));
      const error = (type & 0x8000) !== 0 ? data.readUInt32BE(0) : 0;
      return { cookie, structured: true, error, flags, type, data };
    }
    throw new Error(`bad reply magic 0x${magic.toString(16)}`);
  }

  /** Send a request and collect every message of its reply (other cookies' replies are an error here). */
  async call(
    type: number,
    offset: number,
    length: number,
    options: { flags?: number; payload?: Buffer } = {},
  ): Promise<ReplyMessage[]> {
    const cookie = this.request(type, offset, length, options);
    const messages: ReplyMessage[] = [];
    for (let i = 0; i < 10_000; i++) {
      const message = await this.readReply();
      if (message.cookie !== cookie) throw new Error(`unexpected cookie ${message.cookie}`);
      messages.push(message);
      if (!message.structured || (message.flags & 1) !== 0) return messages;
    }
    throw new Error('reply never finished');
  }

  /** Error of a single-message reply (0 on success). */
  async errorOf(
    type: number,
    offset: number,
    length: number,
    options: { flags?: number; payload?: Buffer } = {},
  ): Promise<number> {
    const messages = await this.call(type, offset, length, options);
    return messages.find((m) => m.error !== 0)?.error ?? 0;
  }

  /** Read data (simple or structured OFFSET_DATA chunks reassembled). */
  async readData(offset: number, length: number): Promise<Buffer> {
    const messages = await this.call(NbdCommand.READ, offset, length);
    const out = Buffer.alloc(length);
    for (const message of messages) {
      if (message.error !== 0) throw new Error(`read failed with ${message.error}`);
      if (!message.structured) message.data.copy(out, 0);
      else if (message.type === 1) message.data.copy(out, readUint64(message.data, 0) - offset, 8);
    }
    return out;
  }

  /** Send NBD_CMD_DISC. */
  disconnect(): void {
    this.send(encodeRequest(NbdCommand.DISC, 0, 0n, 0, 0));
  }

  /** Drop the connection. */
  destroy(): void {
    this.socket.destroy();
  }
}
