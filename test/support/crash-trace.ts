/**
 * One global, ordered trace of everything that decides what a power loss leaves behind, as
 * dm-log-writes records it for a file system: log durable points, member writes issued and
 * completed, member flushes issued and completed, and application writes issued and
 * acknowledged. Every entry's index is its place in time; a crash "at index i" keeps exactly the
 * effects of entries `0 .. i-1`.
 */

/** The log directory as it stood durably at one durable point. */
export interface LogSnapshot {
  /** Trace index of the durable point. */
  readonly at: number;
  /** Every file of the log directory (segments as their durable bytes), by name; no lock, no temp files. */
  readonly files: ReadonlyMap<string, Uint8Array>;
  /** The segment whose bytes became durable. */
  readonly segment: string;
  /** Durable length of that segment. */
  readonly endOffsetBytes: number;
  /** Last durable position (-1 for a log without records). */
  lastPosition: number;
}

/** One write to a member device. */
export interface MemberWrite {
  /** Index in {@link CrashTrace.writes}. */
  readonly index: number;
  /** Member path. */
  readonly member: string;
  /** Byte offset. */
  readonly offset: number;
  /** The bytes (a copy taken at issue: the caller may reuse its buffer once the write completes). */
  readonly data: Uint8Array;
  /** Trace index of the issue. */
  readonly issuedAt: number;
  /** Trace index of the completion; -1 while in flight. */
  completedAt: number;
}

/** One flush of a member device. */
export interface MemberFlush {
  /** Index in {@link CrashTrace.flushes}. */
  readonly index: number;
  /** Member path. */
  readonly member: string;
  /** Trace index of the issue: writes completed before it are durable once it completes. */
  readonly issuedAt: number;
  /** Trace index of the completion; -1 while in flight. */
  completedAt: number;
}

/** One application write through the virtual unit. */
export interface AppWrite {
  /** Write id, from 1; block contents carry it (see crash-blocks.ts). */
  readonly id: number;
  /** First block. */
  readonly lbn: number;
  /** Blocks. */
  readonly count: number;
  /** Forced unit access: durable on every member when acknowledged. */
  readonly fua: boolean;
  /** Trace index of the call. */
  readonly issuedAt: number;
  /** Trace index of the acknowledgement; -1 until acknowledged. */
  ackedAt: number;
}

/** One application flush (or close, which flushes too). */
export interface AppFlush {
  /** Index in {@link CrashTrace.appFlushes}. */
  readonly index: number;
  /** Trace index of the call: writes acknowledged before it are durable once it completes. */
  readonly issuedAt: number;
  /** Trace index of its completion; -1 until it completed. */
  completedAt: number;
}

/** A trace entry; the index arrays below point into the records. */
export type TraceEntry =
  | { readonly kind: 'log-durable'; readonly snapshot: number }
  | { readonly kind: 'write-issued' | 'write-completed'; readonly write: number }
  | { readonly kind: 'flush-issued' | 'flush-completed'; readonly flush: number }
  | { readonly kind: 'app-issued' | 'app-acked'; readonly app: number }
  | { readonly kind: 'app-flush-issued' | 'app-flush-completed'; readonly flush: number }
  | { readonly kind: 'control'; readonly what: string };

/** Most trace entries of one run: a bound on the recording, far above a few hundred writes. */
const MAX_TRACE_ENTRIES = 1_000_000;

/** The trace and the records its entries point to. */
export class CrashTrace {
  readonly entries: TraceEntry[] = [];
  readonly snapshots: LogSnapshot[] = [];
  readonly writes: MemberWrite[] = [];
  readonly flushes: MemberFlush[] = [];
  readonly apps: AppWrite[] = [];
  readonly appFlushes: AppFlush[] = [];

  /** Index the next entry will get. */
  get length(): number {
    return this.entries.length;
  }

  private push(entry: TraceEntry): number {
    if (this.entries.length >= MAX_TRACE_ENTRIES)
      throw new Error(`crash trace passed ${MAX_TRACE_ENTRIES} entries`);
    this.entries.push(entry);
    return this.entries.length - 1;
  }

  /** A log durable point; returns the snapshot. */
  logDurable(snapshot: Omit<LogSnapshot, 'at'>): LogSnapshot {
    const at = this.push({ kind: 'log-durable', snapshot: this.snapshots.length });
    const recorded = { ...snapshot, at };
    this.snapshots.push(recorded);
    return recorded;
  }

  writeIssued(member: string, offset: number, data: Uint8Array): MemberWrite {
    const index = this.writes.length;
    const issuedAt = this.push({ kind: 'write-issued', write: index });
    const write: MemberWrite = {
      index,
      member,
      offset,
      data: new Uint8Array(data),
      issuedAt,
      completedAt: -1,
    };
    this.writes.push(write);
    return write;
  }

  writeCompleted(write: MemberWrite): void {
    write.completedAt = this.push({ kind: 'write-completed', write: write.index });
  }

  flushIssued(member: string): MemberFlush {
    const index = this.flushes.length;
    const issuedAt = this.push({ kind: 'flush-issued', flush: index });
    const flush: MemberFlush = { index, member, issuedAt, completedAt: -1 };
    this.flushes.push(flush);
    return flush;
  }

  flushCompleted(flush: MemberFlush): void {
    flush.completedAt = this.push({ kind: 'flush-completed', flush: flush.index });
  }

  appIssued(lbn: number, count: number, fua: boolean): AppWrite {
    const issuedAt = this.push({ kind: 'app-issued', app: this.apps.length });
    const app: AppWrite = { id: this.apps.length + 1, lbn, count, fua, issuedAt, ackedAt: -1 };
    this.apps.push(app);
    return app;
  }

  appAcked(app: AppWrite): void {
    app.ackedAt = this.push({ kind: 'app-acked', app: app.id - 1 });
  }

  appFlushIssued(): AppFlush {
    const index = this.appFlushes.length;
    const flush: AppFlush = {
      index,
      issuedAt: this.push({ kind: 'app-flush-issued', flush: index }),
      completedAt: -1,
    };
    this.appFlushes.push(flush);
    return flush;
  }

  appFlushCompleted(flush: AppFlush): void {
    flush.completedAt = this.push({ kind: 'app-flush-completed', flush: flush.index });
  }

  /** A control operation began or ended (for reading a failing trace; no effect on disk state). */
  control(what: string): void {
    this.push({ kind: 'control', what });
  }

  /** The last snapshot durable before trace index `i`, or null when none is. */
  snapshotBefore(i: number): LogSnapshot | null {
    let found: LogSnapshot | null = null;
    for (const s of this.snapshots) {
      if (s.at >= i) break;
      found = s;
    }
    return found;
  }
}
