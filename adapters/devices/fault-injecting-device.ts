import { setTimeout as sleep } from 'node:timers/promises';
import { InvalidArgumentError, IoError } from '../../domain/errors.js';
import type { BlockDevice } from '../../domain/ports/block-device.js';
import { checkDeviceAccess } from './device-range.js';
import { seededRandom } from './seeded-random.js';

/** A byte range `[offset, offset + length)` of a device. */
export interface ByteRange {
  /** First byte. */
  readonly offset: number;
  /** Bytes in the range. */
  readonly length: number;
}

/**
 * When reads or writes fail. All given conditions must hold for an operation to fail:
 * - `ranges`: only operations overlapping one of these byte ranges are affected (default: all);
 * - `afterOps`: the first `afterOps` affected operations, counted from when the rule is set,
 *   still succeed (default 0);
 * - `times`: the rule fails this many operations, then removes itself (default: until healed),
 *   for transient errors.
 */
export interface IoFaultRule {
  /** Affect only operations overlapping one of these ranges. */
  readonly ranges?: readonly ByteRange[];
  /** Let this many affected operations through first. */
  readonly afterOps?: number;
  /** Fail this many operations, then stop failing. */
  readonly times?: number;
}

/** When flushes fail: as {@link IoFaultRule}, without ranges (a flush covers the whole device). */
export type FlushFaultRule = Omit<IoFaultRule, 'ranges'>;

/**
 * Delay added before every read, write and flush: a fixed number of milliseconds, or a uniform
 * random delay in `[minMs, maxMs]` drawn from a generator seeded with `seed`, so a failing
 * timing-dependent test replays with the same delays.
 */
export type Latency = number | { readonly minMs: number; readonly maxMs: number; readonly seed: number };

/** Operations of one kind that reached the wrapped device, and those failed on purpose. */
export interface KindCounters {
  /** Operations the wrapped device completed. */
  readonly ops: number;
  /** Bytes those operations moved (always 0 for flushes). */
  readonly bytes: number;
  /** Operations failed by a rule; they never reached the wrapped device. */
  readonly failed: number;
}

/** Per-kind counters of a {@link FaultInjectingDevice}. */
export interface FaultCounters {
  /** Reads. */
  readonly read: KindCounters;
  /** Writes. */
  readonly write: KindCounters;
  /** Flushes. */
  readonly flush: KindCounters;
}

/** Options of a {@link FaultInjectingDevice}. */
export interface FaultInjectingOptions {
  /** Delay added to every operation; default none. */
  readonly latency?: Latency;
}

type Kind = keyof FaultCounters;

/** A rule as it runs: its allowance and remaining failures count down. */
interface ActiveRule {
  readonly ranges: readonly ByteRange[] | null;
  allowance: number;
  remaining: number;
}

/**
 * A test double wrapping a real {@link BlockDevice}: fails chosen reads, writes or flushes with
 * an EIO {@link IoError} (as a dying disk would), adds latency, and counts what reached the
 * wrapped device so a test can prove, say, that no write reached a dismounted member. Rules
 * can be changed at any time; one rule per kind, a new one replaces the old.
 */
export class FaultInjectingDevice implements BlockDevice {
  /** The wrapped device's name. */
  readonly name: string;
  /** The wrapped device. */
  readonly inner: BlockDevice;

  private readonly rules: Record<Kind, ActiveRule | null> = { read: null, write: null, flush: null };
  private readonly counts: Record<Kind, { ops: number; bytes: number; failed: number }> = freshCounts();
  private delay: () => number = () => 0;

  /** Wrap `inner`; it starts with no faults. */
  constructor(inner: BlockDevice, options: FaultInjectingOptions = {}) {
    this.inner = inner;
    this.name = inner.name;
    if (options.latency !== undefined) this.setLatency(options.latency);
  }

  /** Fail reads as `rule` says (default: every read) until {@link heal} or another `failReads`. */
  failReads(rule: IoFaultRule = {}): this {
    this.rules.read = activate(this.name, rule, rule.ranges ?? null);
    return this;
  }

  /** Fail writes as `rule` says (default: every write) until {@link heal} or another `failWrites`. */
  failWrites(rule: IoFaultRule = {}): this {
    this.rules.write = activate(this.name, rule, rule.ranges ?? null);
    return this;
  }

  /** Fail flushes as `rule` says (default: every flush) until {@link heal} or another `failFlushes`. */
  failFlushes(rule: FlushFaultRule = {}): this {
    this.rules.flush = activate(this.name, rule, null);
    return this;
  }

  /** Remove every failure rule; latency is kept (set it to 0 to remove it). */
  heal(): this {
    this.rules.read = null;
    this.rules.write = null;
    this.rules.flush = null;
    return this;
  }

  /** Replace the added latency. */
  setLatency(latency: Latency): this {
    this.delay = delayFunction(this.name, latency);
    return this;
  }

  /** A copy of the counters since construction or the last {@link resetCounters}. */
  counters(): FaultCounters {
    return {
      read: { ...this.counts.read },
      write: { ...this.counts.write },
      flush: { ...this.counts.flush },
    };
  }

  /** Zero every counter. */
  resetCounters(): void {
    Object.assign(this.counts, freshCounts());
  }

  /** The wrapped device's size. */
  size(): number {
    return this.inner.size();
  }

  /** Read through, unless a read rule fails it. */
  async read(buffer: Uint8Array, offset: number): Promise<void> {
    await this.run('read', offset, buffer.length, () => this.inner.read(buffer, offset));
  }

  /** Write through, unless a write rule fails it (then nothing is written). */
  async write(buffer: Uint8Array, offset: number): Promise<void> {
    await this.run('write', offset, buffer.length, () => this.inner.write(buffer, offset));
  }

  /** Flush through, unless a flush rule fails it. */
  async flush(): Promise<void> {
    await this.run('flush', 0, 0, () => this.inner.flush());
  }

  /** Close the wrapped device. */
  close(): Promise<void> {
    return this.inner.close();
  }

  /** Delay, decide, then forward or fail one operation. */
  private async run(kind: Kind, offset: number, length: number, forward: () => Promise<void>): Promise<void> {
    // Validate first so a bad request gets the same error with or without faults.
    if (kind !== 'flush') checkDeviceAccess(this.name, this.inner.size(), offset, length);
    const ms = this.delay();
    if (ms > 0) await sleep(ms);
    if (this.shouldFail(kind, offset, length)) {
      this.counts[kind].failed++;
      const where = kind === 'flush' ? '' : ` at bytes ${offset}-${offset + length - 1}`;
      const cause = Object.assign(new Error(`EIO: i/o error, ${kind}`), { code: 'EIO', errno: -5 });
      throw new IoError(
        `EIO: injected ${kind} failure on ${this.name}${where} (FaultInjectingDevice rule; heal() stops it)`,
        { cause },
      );
    }
    await forward();
    this.counts[kind].ops++;
    this.counts[kind].bytes += length;
  }

  /** Apply the kind's rule to one operation, counting down its allowance and failures. */
  private shouldFail(kind: Kind, offset: number, length: number): boolean {
    const rule = this.rules[kind];
    if (rule === null) return false;
    if (
      rule.ranges !== null &&
      !rule.ranges.some((r) => offset < r.offset + r.length && r.offset < offset + length)
    ) {
      return false;
    }
    if (rule.allowance > 0) {
      rule.allowance--;
      return false;
    }
    rule.remaining--;
    if (rule.remaining <= 0) this.rules[kind] = null;
    return true;
  }
}

/** Check a rule and turn it into its running form. */
function activate(name: string, rule: IoFaultRule, ranges: readonly ByteRange[] | null): ActiveRule {
  const { afterOps = 0, times = Number.POSITIVE_INFINITY } = rule;
  if (!Number.isSafeInteger(afterOps) || afterOps < 0) {
    throw new InvalidArgumentError(`${name}: afterOps ${afterOps} is invalid: give a whole number >= 0`);
  }
  if (times !== Number.POSITIVE_INFINITY && (!Number.isSafeInteger(times) || times < 1)) {
    throw new InvalidArgumentError(
      `${name}: times ${times} is invalid: give a whole number >= 1, or omit it`,
    );
  }
  for (const r of ranges ?? []) {
    if (!Number.isSafeInteger(r.offset) || !Number.isSafeInteger(r.length) || r.offset < 0 || r.length < 1) {
      throw new InvalidArgumentError(
        `${name}: fault range ${r.offset}+${r.length} is invalid: give offset >= 0 and length >= 1 bytes`,
      );
    }
  }
  // Copy the ranges: a caller mutating its array later must not change a running rule.
  return {
    ranges: ranges === null ? null : ranges.map((r) => ({ ...r })),
    allowance: afterOps,
    remaining: times,
  };
}

/** Build the per-operation delay, checking the latency. */
function delayFunction(name: string, latency: Latency): () => number {
  if (typeof latency === 'number') {
    if (!Number.isFinite(latency) || latency < 0) {
      throw new InvalidArgumentError(`${name}: latency ${latency} ms is invalid: give a number >= 0`);
    }
    return () => latency;
  }
  const { minMs, maxMs, seed } = latency;
  if (!Number.isFinite(minMs) || !Number.isFinite(maxMs) || minMs < 0 || maxMs < minMs) {
    throw new InvalidArgumentError(
      `${name}: latency range ${minMs}-${maxMs} ms is invalid: give 0 <= minMs <= maxMs`,
    );
  }
  const random = seededRandom(seed);
  return () => minMs + random() * (maxMs - minMs);
}

/** All counters at zero. */
function freshCounts(): Record<Kind, { ops: number; bytes: number; failed: number }> {
  return {
    read: { ops: 0, bytes: 0, failed: 0 },
    write: { ops: 0, bytes: 0, failed: 0 },
    flush: { ops: 0, bytes: 0, failed: 0 },
  };
}
