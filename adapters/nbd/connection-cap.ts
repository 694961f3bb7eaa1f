import type { NbdLog } from './nbd-log.js';

/** What the connection cap looks at in a connection. */
export interface CappedConnection {
  /** Milliseconds idle at `nowMs` (0 while a request is in flight). */
  idleForMs(nowMs: number): number;
  /** Requests in flight: a connection with any is busy and never cut. */
  readonly inFlightRequests: number;
  /** Already closed or being destroyed: does not count. */
  readonly gone: boolean;
  /** Cut it now. */
  destroy(): void;
}

/** Fewest milliseconds between two reports of the cap: a flood of connections must not flood the log. */
const REPORT_INTERVAL_MS = 10_000;

/**
 * The policy at the connection cap. Refusing new connections at the cap (what the server did)
 * let 256 idle connections lock every new client out until they went away by themselves. Here
 * a new connection at the cap is served, and the connection idle the longest (handshake
 * included) is cut to make room: busy connections are never cut, an idle client that is cut
 * only has to reconnect, and a flood of connections ends up cutting its own. Only when every
 * connection has a request in flight is the new one refused. Both are reported, at most once
 * every 10 s, with counts.
 */
export class ConnectionCap {
  /** Idle connections cut to make room, since start. */
  evictions = 0;
  /** New connections refused because every connection was busy, since start. */
  refusals = 0;
  private unreportedEvictions = 0;
  private unreportedRefusals = 0;
  private longestIdleMs = 0;
  private lastReportMs = Number.NEGATIVE_INFINITY;

  constructor(
    /** Most connections served at once. */
    readonly max: number,
    private readonly log: NbdLog,
  ) {}

  /** Make room for one more connection among `open`; false: refuse it (every connection is busy). */
  admit(open: Iterable<CappedConnection>): boolean {
    const now = performance.now();
    let live = 0;
    let victim: CappedConnection | null = null;
    let victimIdleMs = -1;
    // Bounded by the cap (connections beyond it are cut or refused here).
    for (const c of open) {
      if (c.gone) continue;
      live++;
      if (c.inFlightRequests > 0) continue;
      const idle = c.idleForMs(now);
      if (idle > victimIdleMs) {
        victim = c;
        victimIdleMs = idle;
      }
    }
    if (live < this.max) return true;
    if (victim !== null) {
      victim.destroy();
      this.evictions++;
      this.unreportedEvictions++;
      this.longestIdleMs = Math.max(this.longestIdleMs, victimIdleMs);
    } else {
      this.refusals++;
      this.unreportedRefusals++;
    }
    this.report(now);
    return victim !== null;
  }

  private report(now: number): void {
    if (now - this.lastReportMs < REPORT_INTERVAL_MS) return;
    this.lastReportMs = now;
    const parts: string[] = [];
    if (this.unreportedEvictions > 0) {
      parts.push(
        `closed ${this.unreportedEvictions} idle connection(s) to serve new ones (idle up to ${Math.round(this.longestIdleMs / 1000)} s)`,
      );
    }
    if (this.unreportedRefusals > 0) {
      parts.push(
        `refused ${this.unreportedRefusals} new connection(s): every connection had requests in flight`,
      );
    }
    this.log(
      'warn',
      `NBD connection cap of ${this.max} reached: ${parts.join('; ')}. Raise --max-connections or lower --idle-timeout if clients need more`,
    );
    this.unreportedEvictions = 0;
    this.unreportedRefusals = 0;
    this.longestIdleMs = 0;
  }
}
