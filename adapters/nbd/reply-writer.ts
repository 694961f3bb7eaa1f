import type { Socket } from 'node:net';

/**
 * Writes a connection's replies. Replies are corked until the end of the event-loop turn:
 * every reply that completes in one turn (a group-commit batch resolves its writes together;
 * the thread pool hands back its finished member writes in one callback round) leaves in one
 * writev. On loopback the sender's write syscall also runs the receiver's TCP path, so one
 * syscall per 4 KiB write reply was the largest cost of the NBD write path in the CPU profile
 * (bench/nbd-bench.ts); a turn adds no waiting beyond the turn.
 *
 * Each reply carries a release (its budget charge), called once the reply is flushed, or when
 * the socket closes with it unflushed.
 */
export class ReplyWriter {
  /** Releases of replies written but not yet flushed. */
  private readonly unflushed = new Set<() => void>();
  /** Replies are corked until the end of this event-loop turn. */
  private corked = false;
  private socket: Socket;

  constructor(socket: Socket) {
    this.socket = socket;
  }

  /** Write replies to `socket` from now on (STARTTLS swapped the connection's socket). */
  useSocket(socket: Socket): void {
    this.socket = socket;
  }

  /** Write one reply's parts; `release` runs once they are flushed (or the socket is gone). */
  write(parts: readonly Buffer[], release: () => void): void {
    if (this.socket.destroyed || !this.socket.writable) {
      release();
      return;
    }
    this.unflushed.add(release);
    if (!this.corked) {
      this.corked = true;
      this.socket.cork();
      setImmediate(this.uncork);
    }
    for (let i = 0; i < parts.length - 1; i++) this.socket.write(parts[i]!);
    this.socket.write(parts[parts.length - 1]!, () => release());
  }

  /** A release ran on its own (a release is once-only): stop tracking it. */
  forget(release: () => void): void {
    this.unflushed.delete(release);
  }

  /** The socket closed: release every reply it did not flush. */
  releaseUnflushed(): void {
    for (const release of [...this.unflushed]) release();
  }

  /** End of the turn: send every reply corked in it. Bound: one pending uncork per connection. */
  private readonly uncork = (): void => {
    this.corked = false;
    this.socket.uncork();
  };
}
