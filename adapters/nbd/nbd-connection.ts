import type { Socket } from 'node:net';
import type { RangeLock } from '../../primitives/range-lock.js';
import { InFlightBudget } from './in-flight-budget.js';
import { type CommandOutcome, type ExecutionContext, executeCommand } from './nbd-command-executor.js';
import {
  HANDSHAKE_WRITE_HIGH_WATER_BYTES,
  MAX_BLOCK_STATUS_EXTENTS,
  MAX_ERROR_MESSAGE_BYTES,
  MAX_IN_FLIGHT_REQUESTS_PER_CONNECTION,
  MAX_SKIPPABLE_WRITE_BYTES,
  MIN_BLOCK_SIZE_BYTES,
  NBD_REPLY_FLAG_DONE,
  NbdCommand,
  READER_HIGH_WATER_BYTES,
  REQUEST_HEADER_BYTES,
  REQUEST_OVERHEAD_BYTES,
} from './nbd-constants.js';
import { describeError } from './nbd-error-mapping.js';
import type { NbdExport } from './nbd-export.js';
import { type HandshakeExports, NbdHandshake, type NegotiatedSession } from './nbd-handshake.js';
import type { NbdLog } from './nbd-log.js';
import {
  encodeBlockStatusChunk,
  encodeErrorChunk,
  encodeNoneChunk,
  encodeOffsetDataHeader,
  encodeSimpleReply,
} from './nbd-reply-encoder.js';
import {
  hasPayload,
  type NbdRequest,
  parseRequestHeader,
  type RequestLimits,
  type RequestRejection,
  validateRequest,
} from './nbd-request.js';
import { SocketReader } from './socket-reader.js';

/** What a connection needs from its server. */
export interface ConnectionServices {
  /** Export lookup for the handshake. */
  readonly exports: HandshakeExports;
  /** The range lock of an export, shared by every connection using it (reference-counted). */
  acquireExportLock(name: string): RangeLock;
  /** Drop one reference taken with {@link acquireExportLock}. */
  releaseExportLock(name: string): void;
  /** Byte bound on payloads and replies in flight on this connection. */
  readonly maxInFlightBytes: number;
  /** Time allowed for option haggling. */
  readonly handshakeTimeoutMs: number;
  /** Where to report. */
  readonly log: NbdLog;
}

/** After our FIN, a peer that neither reads nor closes is cut off after this long. */
const CLOSE_LINGER_MS = 5_000;

/**
 * One client connection: handshake, then the transmission loop.
 *
 * The loop reads requests one after another and starts each without waiting for earlier ones, so
 * requests are pipelined and replies go out in completion order, tagged with the client's cookie.
 * Before a request's payload is read it must be admitted by the {@link InFlightBudget}; while it
 * waits, nothing is read and the socket reader pauses the socket, so a fast client against a slow
 * backend is held back by TCP rather than by server memory.
 */
export class NbdConnection {
  /** Resolves when the socket is closed and nothing is in flight any more. */
  readonly finished: Promise<void>;
  private readonly reader: SocketReader;
  private readonly budget: InFlightBudget;
  private session: NegotiatedSession | undefined;
  private lockName: string | undefined;
  /** Release callbacks of replies written but not yet flushed; run on close so the budget drains. */
  private readonly unflushed = new Set<() => void>();
  private holdOpenForShutdown = false;
  private loopEnded: Promise<void> | undefined;
  private readonly socketClosed: Promise<void>;

  constructor(
    private readonly socket: Socket,
    private readonly services: ConnectionServices,
    /** Label for log lines, e.g. the peer address. */
    readonly label: string,
  ) {
    socket.setNoDelay(true);
    this.reader = new SocketReader(socket, READER_HIGH_WATER_BYTES);
    this.budget = new InFlightBudget(services.maxInFlightBytes, MAX_IN_FLIGHT_REQUESTS_PER_CONNECTION);
    socket.on('error', (error) =>
      this.services.log('debug', `${label}: socket error: ${describeError(error)}`),
    );
    this.socketClosed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    void this.socketClosed.then(() => {
      for (const release of [...this.unflushed]) release();
    });
    this.finished = this.socketClosed.then(async () => {
      await this.budget.whenIdle();
      if (this.lockName !== undefined) this.services.releaseExportLock(this.lockName);
    });
  }

  /** The export in transmission, if the handshake is over. */
  get export(): NbdExport | undefined {
    return this.session?.export;
  }

  /** Highest number of payload and reply bytes this connection has held at once. */
  get peakInFlightBytes(): number {
    return this.budget.peakInFlightBytes;
  }

  /** Start serving; errors are contained (logged, the socket destroyed). */
  start(): void {
    this.loopEnded = this.main().catch((error: unknown) => {
      this.services.log('error', `${this.label}: connection failed: ${describeError(error)}`);
      this.socket.destroy();
    });
  }

  /**
   * Graceful shutdown, step one: stop reading (a request half read is dropped), wait until every
   * admitted request has completed and its reply is flushed. The socket stays open until
   * {@link close}, so the server can flush exports first.
   */
  async quiesce(): Promise<void> {
    this.holdOpenForShutdown = true;
    this.reader.stop();
    await this.loopEnded;
    await Promise.race([this.budget.whenIdle(), this.socketClosed]);
  }

  /** End the connection after queued replies are flushed (hard close after a linger bound). */
  close(): void {
    if (this.socket.destroyed) return;
    const linger = setTimeout(() => this.socket.destroy(), CLOSE_LINGER_MS);
    linger.unref();
    this.socket.once('close', () => clearTimeout(linger));
    this.socket.end(() => this.socket.destroy());
  }

  /** Hard disconnect now. */
  destroy(): void {
    this.socket.destroy();
  }

  private async main(): Promise<void> {
    const timer = setTimeout(() => {
      this.services.log('debug', `${this.label}: handshake timed out`);
      this.socket.destroy();
    }, this.services.handshakeTimeoutMs);
    timer.unref();
    const handshake = new NbdHandshake(
      {
        reader: this.reader,
        write: (data) => this.write(data),
        waitForWritable: () => this.waitForWritable(),
        isShuttingDown: () => this.holdOpenForShutdown,
      },
      this.services.exports,
      (message) => this.services.log('warn', message),
    );
    const result = await handshake.run();
    clearTimeout(timer);
    if (result.kind === 'closed') {
      this.services.log('debug', `${this.label}: closed during handshake: ${result.reason}`);
      this.close();
      return;
    }
    const session = result.session;
    this.session = session;
    this.lockName = session.export.name;
    const lock = this.services.acquireExportLock(this.lockName);
    this.services.log('debug', `${this.label}: serving export '${session.export.name}'`);
    const ending = await this.transmit(session, lock);
    if (ending === 'protocol-error') {
      this.socket.destroy();
      return;
    }
    this.reader.stop();
    await Promise.race([this.budget.whenIdle(), this.socketClosed]);
    if (!this.holdOpenForShutdown) this.close();
  }

  /** The request loop; returns why it ended. */
  private async transmit(
    session: NegotiatedSession,
    lock: RangeLock,
  ): Promise<'disconnect' | 'protocol-error'> {
    const limits: RequestLimits = {
      sizeBytes: session.sizeBytes,
      readOnly: session.export.readOnly,
      structuredReplies: session.structuredReplies,
      blockSizeNegotiated: session.blockSizeNegotiated,
      metaContextCount: session.metaContexts.length,
    };
    const context: ExecutionContext = {
      export: session.export,
      lock,
      sizeBytes: session.sizeBytes,
      metaContexts: session.metaContexts,
    };
    // Each pass consumes one request (at least 28 bytes) or ends: bounded by the client's bytes.
    for (;;) {
      let header: Buffer;
      try {
        header = this.reader.tryRead(REQUEST_HEADER_BYTES) ?? (await this.reader.read(REQUEST_HEADER_BYTES));
      } catch {
        return 'disconnect';
      }
      const request = parseRequestHeader(header);
      if (!request) {
        this.services.log('debug', `${this.label}: bad request magic, closing`);
        return 'protocol-error';
      }
      if (request.type === NbdCommand.DISC) return 'disconnect';
      const rejection = validateRequest(request, limits);
      if (hasPayload(request.type) && rejection) {
        if (request.length > MAX_SKIPPABLE_WRITE_BYTES) {
          this.services.log('debug', `${this.label}: write payload of ${request.length} bytes, closing`);
          return 'protocol-error';
        }
        try {
          await this.reader.skip(request.length);
        } catch {
          return 'disconnect';
        }
      }
      const cost = costOf(request, rejection, session.metaContexts.length);
      const admission = this.budget.admit(cost);
      if (admission) await admission;
      const release = this.releaser(cost);
      if (rejection) {
        this.sendOutcome(request, { kind: 'error', ...rejection }, release);
        continue;
      }
      let payload: Buffer | undefined;
      if (hasPayload(request.type)) {
        try {
          payload = this.reader.tryRead(request.length) ?? (await this.reader.read(request.length));
        } catch {
          release();
          return 'disconnect';
        }
      }
      void executeCommand(context, request, payload)
        .then((outcome) => this.sendOutcome(request, outcome, release))
        .catch((error: unknown) => {
          this.services.log('error', `${this.label}: reply failed: ${describeError(error)}`);
          release();
          this.socket.destroy();
        });
    }
  }

  /** A once-only release of a request's budget charge. */
  private releaser(cost: number): () => void {
    let released = false;
    const release = (): void => {
      if (released) return;
      released = true;
      this.unflushed.delete(release);
      this.budget.release(cost);
    };
    return release;
  }

  private sendOutcome(request: NbdRequest, outcome: CommandOutcome, release: () => void): void {
    const structured = this.session?.structuredReplies ?? false;
    const cookie = request.cookie;
    const parts: Buffer[] = [];
    switch (outcome.kind) {
      case 'error':
        parts.push(
          structured
            ? encodeErrorChunk(cookie, outcome.errno, outcome.message)
            : encodeSimpleReply(cookie, outcome.errno),
        );
        break;
      case 'done':
        // Allowed for every command but READ even with structured replies, and the cheapest.
        parts.push(encodeSimpleReply(cookie, 0));
        break;
      case 'data':
        if (!structured) {
          parts.push(encodeSimpleReply(cookie, 0));
          if (outcome.data.length > 0) parts.push(outcome.data);
        } else if (outcome.data.length === 0) {
          parts.push(encodeNoneChunk(cookie));
        } else {
          // The data is all in hand before the chunk starts, so no error can follow: DONE on the data chunk.
          parts.push(
            encodeOffsetDataHeader(cookie, NBD_REPLY_FLAG_DONE, outcome.offset, outcome.data.length),
            outcome.data,
          );
        }
        break;
      case 'extents':
        outcome.contexts.forEach((context, index) => {
          const flags = index === outcome.contexts.length - 1 ? NBD_REPLY_FLAG_DONE : 0;
          parts.push(encodeBlockStatusChunk(cookie, flags, context.contextId, context.extents));
        });
        if (outcome.contexts.length === 0) parts.push(encodeNoneChunk(cookie));
        break;
    }
    this.writeReply(parts, release);
  }

  /** Write one reply's parts back to back (corked: one writev), then release its charge once flushed. */
  private writeReply(parts: readonly Buffer[], release: () => void): void {
    if (this.socket.destroyed || !this.socket.writable) {
      release();
      return;
    }
    this.unflushed.add(release);
    this.socket.cork();
    for (let i = 0; i < parts.length - 1; i++) this.socket.write(parts[i]!);
    this.socket.write(parts[parts.length - 1]!, () => release());
    this.socket.uncork();
  }

  private write(data: Buffer): void {
    if (!this.socket.destroyed && this.socket.writable) this.socket.write(data);
  }

  private waitForWritable(): Promise<void> {
    if (this.socket.writableLength <= HANDSHAKE_WRITE_HIGH_WATER_BYTES || this.socket.destroyed) {
      return Promise.resolve();
    }
    return new Promise<void>((resolve) => {
      const done = () => {
        this.socket.off('drain', done);
        this.socket.off('close', done);
        resolve();
      };
      this.socket.on('drain', done);
      this.socket.on('close', done);
    });
  }
}

/**
 * Bytes a request may hold until its reply is flushed: its payload or reply data (reads are
 * charged a block of widening at each end), block-status descriptors, a fixed overhead.
 */
function costOf(request: NbdRequest, rejection: RequestRejection | undefined, contexts: number): number {
  if (rejection) return REQUEST_OVERHEAD_BYTES + MAX_ERROR_MESSAGE_BYTES;
  switch (request.type) {
    case NbdCommand.READ:
      return REQUEST_OVERHEAD_BYTES + request.length + 2 * MIN_BLOCK_SIZE_BYTES;
    case NbdCommand.WRITE:
      return REQUEST_OVERHEAD_BYTES + request.length;
    case NbdCommand.BLOCK_STATUS: {
      const extents = Math.min(
        MAX_BLOCK_STATUS_EXTENTS,
        Math.ceil(request.length / MIN_BLOCK_SIZE_BYTES) + 1,
      );
      return REQUEST_OVERHEAD_BYTES + contexts * (24 + 8 * extents) + MAX_ERROR_MESSAGE_BYTES;
    }
    default:
      return REQUEST_OVERHEAD_BYTES + MAX_ERROR_MESSAGE_BYTES;
  }
}
