import type { Socket } from 'node:net';
import type { RangeLock } from '../../primitives/range-lock.js';
import { InFlightBudget } from './in-flight-budget.js';
import { type CommandOutcome, executeCommand } from './nbd-command-executor.js';
import {
  HANDSHAKE_WRITE_HIGH_WATER_BYTES,
  MAX_IN_FLIGHT_REQUESTS_PER_CONNECTION,
  MAX_SKIPPABLE_WRITE_BYTES,
  NbdCommand,
  NbdErrno,
  READER_HIGH_WATER_BYTES,
  REQUEST_HEADER_BYTES,
} from './nbd-constants.js';
import { describeError } from './nbd-error-mapping.js';
import type { NbdExport } from './nbd-export.js';
import { NbdHandshake } from './nbd-handshake.js';
import type { NbdLog } from './nbd-log.js';
import {
  hasPayload,
  type NbdRequest,
  parseRequestHeader,
  type RequestRejection,
  validateRequest,
} from './nbd-request.js';
import { type HandshakeExports, type NegotiatedSession, sessionTerms } from './nbd-session.js';
import type { NbdTlsUpgrader } from './nbd-tls.js';
import { replyParts } from './reply-parts.js';
import { ReplyWriter } from './reply-writer.js';
import { costOf } from './request-cost.js';
import type { SharedBudget } from './shared-budget.js';
import { SocketReader, whenDrained } from './socket-reader.js';

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
  /** The server-wide byte bound every connection's requests are also admitted by. */
  readonly sharedBudget: SharedBudget;
  /** Time allowed for option haggling. */
  readonly handshakeTimeoutMs: number;
  /** After the handshake, a connection with nothing in flight and no traffic this long is closed (0: never). */
  readonly idleTimeoutMs: number;
  /** Where to report. */
  readonly log: NbdLog;
  /** STARTTLS, when the server has TLS credentials. */
  readonly tls?: NbdTlsUpgrader;
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
  /** The TCP socket until STARTTLS, then the TLS socket over it. */
  private socket: Socket;
  private reader: SocketReader;
  private tlsActive = false;
  private readonly budget: InFlightBudget;
  private session: NegotiatedSession | undefined;
  private lockName: string | undefined;
  /** Release callbacks of replies written but not yet flushed; run on close so the budget drains. */
  private readonly replies: ReplyWriter;
  private holdOpenForShutdown = false;
  private loopEnded: Promise<void> | undefined;
  private readonly socketClosed: Promise<void>;
  /** When the last request arrived or the last one in flight completed (performance.now()). */
  private lastActiveMs = performance.now();

  constructor(
    private readonly raw: Socket,
    private readonly services: ConnectionServices,
    /** Label for log lines, e.g. the peer address. */
    readonly label: string,
  ) {
    const socket = raw;
    this.socket = raw;
    socket.setNoDelay(true);
    this.reader = new SocketReader(socket, READER_HIGH_WATER_BYTES);
    this.replies = new ReplyWriter(socket);
    this.budget = new InFlightBudget(services.maxInFlightBytes, MAX_IN_FLIGHT_REQUESTS_PER_CONNECTION);
    socket.on('error', (error) =>
      this.services.log('debug', `${label}: socket error: ${describeError(error)}`),
    );
    this.socketClosed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    void this.socketClosed.then(() => {
      this.services.sharedBudget.cancel(this);
      this.replies.releaseUnflushed();
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

  /** Requests admitted and not yet answered: a connection with any is never idle. */
  get inFlightRequests(): number {
    return this.budget.inFlightRequests;
  }

  /** Milliseconds since the last request arrived or the last one in flight completed; 0 while busy. */
  idleForMs(nowMs: number): number {
    return this.budget.inFlightRequests > 0 ? 0 : nowMs - this.lastActiveMs;
  }

  /** True once the socket is gone (closed, destroyed or being destroyed). */
  get gone(): boolean {
    return this.socket.destroyed;
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
    this.services.sharedBudget.cancel(this);
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
    const connection = this;
    const tls = this.services.tls;
    const handshake = new NbdHandshake(
      {
        get reader() {
          return connection.reader;
        },
        write: (data) => this.write(data),
        waitForWritable: () => this.waitForWritable(),
        isShuttingDown: () => this.holdOpenForShutdown,
        tls: tls && {
          required: tls.required,
          get active() {
            return connection.tlsActive;
          },
          start: (ack) => this.startTls(tls, ack),
        },
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
    this.armIdleTimeout();
    const ending = await this.transmit(session, lock);
    if (ending === 'protocol-error') {
      this.socket.destroy();
      return;
    }
    this.reader.stop();
    await Promise.race([this.budget.whenIdle(), this.socketClosed]);
    if (!this.holdOpenForShutdown) this.close();
  }

  /**
   * STARTTLS: the reader lets go of the TCP socket, the ACK goes out in plain, and the TLS socket
   * over it becomes the connection's socket. The handshake timer still bounds the TLS handshake.
   */
  private async startTls(tls: NbdTlsUpgrader, ack: Buffer): Promise<void> {
    if (this.reader.detach() !== 0) {
      throw new Error('the client sent data before the reply to NBD_OPT_STARTTLS');
    }
    this.raw.write(ack);
    const secure = await tls.upgrade(this.raw, (error) =>
      this.services.log('debug', `${this.label}: TLS socket error: ${describeError(error)}`),
    );
    this.socket = secure;
    this.replies.useSocket(secure);
    this.reader = new SocketReader(secure, READER_HIGH_WATER_BYTES);
    this.tlsActive = true;
    this.services.log('debug', `${this.label}: ${secure.getProtocol() ?? '?'} ${secure.getCipher().name}`);
  }

  /** The request loop; returns why it ended. */
  private async transmit(
    session: NegotiatedSession,
    lock: RangeLock,
  ): Promise<'disconnect' | 'protocol-error'> {
    const { limits, context } = sessionTerms(session, lock);
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
      const admission = this.admit(cost);
      const admitted = admission === true || (await admission);
      const release = this.releaser(cost, admitted);
      if (!admitted) {
        if (!(await this.refuseBusy(request, rejection, release))) return 'disconnect';
        continue;
      }
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

  /**
   * Admit a request costing `cost` by this connection's budget, then the server's. True, or a
   * promise of whether the server's admitted it (false: it stayed spent for the whole wait).
   * Allocates no promise when both admit at once (the hot path).
   */
  private admit(cost: number): true | Promise<boolean> {
    this.lastActiveMs = performance.now();
    const own = this.budget.admit(cost);
    if (own) return own.then(() => this.services.sharedBudget.admit(cost, this) ?? true);
    return this.services.sharedBudget.admit(cost, this) ?? true;
  }

  /**
   * The server's budget stayed spent for the whole bounded wait: answer the request with
   * ENOMEM (its payload read and dropped) instead of allocating for it. False: the peer left.
   */
  private async refuseBusy(
    request: NbdRequest,
    rejection: RequestRejection | undefined,
    release: () => void,
  ): Promise<boolean> {
    if (hasPayload(request.type) && !rejection) {
      try {
        await this.reader.skip(request.length);
      } catch {
        release();
        return false;
      }
    }
    const { maxBytes, maxWaitMs } = this.services.sharedBudget;
    this.services.log('debug', `${this.label}: request refused, the server's in-flight budget stayed spent`);
    this.sendOutcome(
      request,
      {
        kind: 'error',
        errno: NbdErrno.ENOMEM,
        message: `server busy: its ${maxBytes >> 20} MiB in-flight budget stayed spent for ${maxWaitMs} ms; retry`,
      },
      release,
    );
    return true;
  }

  /** After the handshake: close the connection once it is idle for the idle timeout. */
  private armIdleTimeout(): void {
    const { idleTimeoutMs } = this.services;
    if (idleTimeoutMs <= 0) return;
    // Node re-arms the socket timer on every read and write; a request in flight with no
    // traffic (a slow flush) fires it too, and is not idle.
    this.socket.setTimeout(idleTimeoutMs);
    this.socket.on('timeout', () => {
      if (this.budget.inFlightRequests > 0 || this.holdOpenForShutdown) return;
      this.services.log('debug', `${this.label}: idle for ${idleTimeoutMs} ms, closing`);
      this.close();
    });
  }

  /** A once-only release of a request's budget charge (and its share of the server's, when charged). */
  private releaser(cost: number, shared: boolean): () => void {
    let released = false;
    const release = (): void => {
      if (released) return;
      released = true;
      this.replies.forget(release);
      this.budget.release(cost);
      if (shared) this.services.sharedBudget.release(cost);
      if (this.budget.inFlightRequests === 0) this.lastActiveMs = performance.now();
    };
    return release;
  }

  private sendOutcome(request: NbdRequest, outcome: CommandOutcome, release: () => void): void {
    this.replies.write(
      replyParts(request.cookie, outcome, this.session?.structuredReplies ?? false),
      release,
    );
  }

  private write(data: Buffer): void {
    if (!this.socket.destroyed && this.socket.writable) this.socket.write(data);
  }

  private waitForWritable(): Promise<void> {
    return whenDrained(this.socket, HANDSHAKE_WRITE_HIGH_WATER_BYTES);
  }
}
