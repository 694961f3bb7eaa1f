import type { Socket } from 'node:net';

/** Rejection of a pending read when the peer closed the connection or the reader was stopped. */
export class ConnectionClosedError extends Error {
  constructor(message = 'connection closed') {
    super(message);
    this.name = 'ConnectionClosedError';
  }
}

interface Waiter {
  readonly needBytes: number;
  readonly resolve: () => void;
  readonly reject: (error: Error) => void;
}

/**
 * Turns a socket's 'data' events into exact-length reads for a single sequential parser.
 *
 * Memory is bounded: the reader keeps at most `max(highWaterBytes, bytes the pending read needs)`
 * plus one socket chunk; at that point it pauses the socket, so TCP flow control pushes back on
 * the client instead of the server buffering without limit. That is also how request-level
 * backpressure works: when the connection stops calling `read` (its in-flight budget is spent),
 * the buffer fills and the socket pauses.
 */
export class SocketReader {
  private readonly chunks: Buffer[] = [];
  /** Bytes of `chunks[0]` already consumed. */
  private headOffset = 0;
  private buffered = 0;
  private waiter: Waiter | undefined;
  private closed = false;
  private stopped = false;

  constructor(
    private readonly socket: Socket,
    private readonly highWaterBytes: number,
  ) {
    socket.on('data', this.dataListener);
    socket.on('end', this.closedListener);
    socket.on('close', this.closedListener);
  }

  private readonly dataListener = (chunk: Buffer): void => this.onData(chunk);
  private readonly closedListener = (): void => this.onClosed();

  /**
   * Hand the socket over (STARTTLS wraps it): stop listening and pause it. Returns the bytes
   * received and not consumed, which the caller must treat as a protocol error (the client may
   * send nothing between the STARTTLS request and the server's reply).
   */
  detach(): number {
    this.socket.off('data', this.dataListener);
    this.socket.off('end', this.closedListener);
    this.socket.off('close', this.closedListener);
    const left = this.buffered;
    this.stopped = true;
    this.chunks.length = 0;
    this.buffered = 0;
    this.headOffset = 0;
    return left;
  }

  /** Bytes received and not yet consumed. */
  get bufferedBytes(): number {
    return this.buffered;
  }

  /** True once the peer ended its side or the reader was stopped: no more reads will succeed. */
  get isFinished(): boolean {
    return this.stopped || (this.closed && this.buffered === 0);
  }

  /** Take exactly `lengthBytes` now if they are buffered (no promise on the hot path), else undefined. */
  tryRead(lengthBytes: number): Buffer | undefined {
    if (this.stopped || this.buffered < lengthBytes) return undefined;
    const out = this.take(lengthBytes);
    this.applyBackpressure();
    return out;
  }

  /** Read exactly `lengthBytes` (a fresh buffer the caller owns); rejects if the connection ends first. */
  async read(lengthBytes: number): Promise<Buffer> {
    const ready = this.tryRead(lengthBytes);
    if (ready) return ready;
    await this.waitFor(lengthBytes);
    const out = this.take(lengthBytes);
    this.applyBackpressure();
    return out;
  }

  /** Discard exactly `lengthBytes` without holding more than the usual buffer. */
  async skip(lengthBytes: number): Promise<void> {
    let remaining = lengthBytes;
    // Each pass consumes at least one byte or waits for more; a closed connection rejects the wait.
    while (remaining > 0) {
      if (this.buffered === 0) await this.waitFor(1);
      remaining -= this.discard(Math.min(remaining, this.buffered));
      this.applyBackpressure();
    }
  }

  /**
   * Stop parsing: pending and future reads reject, buffered bytes are dropped and later ones are
   * discarded as they arrive (a client must send nothing after NBD_CMD_DISC; if it does, we do not
   * want its bytes to block its own socket while we finish in-flight replies).
   */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.chunks.length = 0;
    this.buffered = 0;
    this.headOffset = 0;
    this.rejectWaiter(new ConnectionClosedError('reader stopped'));
    if (!this.socket.destroyed) this.socket.resume();
  }

  private waitFor(needBytes: number): Promise<void> {
    if (this.stopped) return Promise.reject(new ConnectionClosedError('reader stopped'));
    if (this.closed) return Promise.reject(new ConnectionClosedError());
    if (this.waiter) return Promise.reject(new Error('SocketReader supports one pending read at a time'));
    return new Promise<void>((resolve, reject) => {
      this.waiter = { needBytes, resolve, reject };
      this.applyBackpressure();
    });
  }

  private onData(chunk: Buffer): void {
    if (this.stopped) return;
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    const waiter = this.waiter;
    if (waiter && this.buffered >= waiter.needBytes) {
      this.waiter = undefined;
      waiter.resolve();
    }
    this.applyBackpressure();
  }

  private onClosed(): void {
    this.closed = true;
    this.rejectWaiter(new ConnectionClosedError());
  }

  private rejectWaiter(error: Error): void {
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter?.reject(error);
  }

  private applyBackpressure(): void {
    if (this.stopped || this.socket.destroyed) return;
    const limit = Math.max(this.highWaterBytes, this.waiter?.needBytes ?? 0);
    if (this.buffered >= limit) {
      if (!this.socket.isPaused()) this.socket.pause();
    } else if (this.socket.isPaused()) {
      this.socket.resume();
    }
  }

  private take(lengthBytes: number): Buffer {
    const out = Buffer.allocUnsafe(lengthBytes);
    let filled = 0;
    // Bounded by the number of buffered chunks, itself bounded by the high-water mark.
    while (filled < lengthBytes) {
      const chunk = this.chunks[0]!;
      const count = Math.min(chunk.length - this.headOffset, lengthBytes - filled);
      chunk.copy(out, filled, this.headOffset, this.headOffset + count);
      filled += count;
      this.advance(count);
    }
    return out;
  }

  private discard(lengthBytes: number): number {
    let dropped = 0;
    while (dropped < lengthBytes) {
      const chunk = this.chunks[0]!;
      const count = Math.min(chunk.length - this.headOffset, lengthBytes - dropped);
      dropped += count;
      this.advance(count);
    }
    return dropped;
  }

  private advance(count: number): void {
    this.headOffset += count;
    this.buffered -= count;
    if (this.headOffset === this.chunks[0]!.length) {
      this.chunks.shift();
      this.headOffset = 0;
    }
  }
}

/** Resolves once `socket` has at most `highWaterBytes` queued for writing, or is gone. */
export function whenDrained(socket: Socket, highWaterBytes: number): Promise<void> {
  if (socket.writableLength <= highWaterBytes || socket.destroyed) return Promise.resolve();
  return new Promise<void>((resolve) => {
    const done = () => {
      socket.off('drain', done);
      socket.off('close', done);
      resolve();
    };
    socket.on('drain', done);
    socket.on('close', done);
  });
}
