import { InvalidArgumentError } from '../domain/errors.js';
import type { RecordedEvent } from '../domain/events.js';
import { LbnRangeSet } from '../domain/lbn-range-set.js';
import { WRITE_KIND_WRITTEN, type WriteRun } from '../domain/write-run.js';

/** The window of an audit. Bounds are inclusive; omitted bounds are open. */
export interface AuditWindow {
  /** First position to include. */
  readonly fromPosition?: number;
  /** Last position to include. */
  readonly toPosition?: number;
  /** Earliest recordedAt (ms since the epoch) to include. */
  readonly fromTime?: number;
  /** Latest recordedAt to include. */
  readonly toTime?: number;
  /** Only blocks from this LBN on. */
  readonly lbnStart?: number;
  /** Only blocks up to this LBN (inclusive). */
  readonly lbnEnd?: number;
}

/** One merged range of changed blocks. */
export interface AuditRange {
  /** First block. */
  readonly lbn: number;
  /** Blocks. */
  readonly count: number;
  /** Events that touched the range (writes, trims and zeroes). */
  readonly writes: number;
  /** Of those, trims. */
  readonly trims: number;
  /** Of those, write-zeroes. */
  readonly zeroes: number;
  /** Position of the first event that touched it. */
  readonly firstPosition: number;
  /** Position of the last event that touched it. */
  readonly lastPosition: number;
}

/** An AuditRange while result() fills it in. */
type Mutable<T> = { -readonly [K in keyof T]: T[K] };

const KIND_WRITE = 0;
const KIND_TRIM = 1;
const KIND_ZEROES = 2;
/** Most write events one audit holds: 64 Mi events × 32 bytes = 2 GiB; a larger window must be narrowed. */
export const MAX_AUDITED_WRITES = 64 * 1024 * 1024;

/**
 * The exact write audit: which LBN ranges the application changed in a window, merged into
 * disjoint ranges (overlapping or adjacent writes join), each with how many events touched it
 * and the first and last position. Exact to the block, unlike a chunk bitmap.
 *
 * A fold: `apply` every event of the log in order, then `result`. Event ranges are kept in
 * typed arrays and merged once at the end (sort, then an {@link LbnRangeSet} fed in
 * ascending order), so applying is O(1) per event.
 */
export class WriteAudit {
  private readonly window: AuditWindow;
  private starts = new Float64Array(1024);
  private ends = new Float64Array(1024);
  private positions = new Float64Array(1024);
  private kinds = new Uint8Array(1024);
  private length = 0;

  constructor(window: AuditWindow = {}) {
    if (window.lbnStart !== undefined && window.lbnEnd !== undefined && window.lbnEnd < window.lbnStart) {
      throw new InvalidArgumentError(
        `LBN filter ${window.lbnStart}-${window.lbnEnd} is empty: the end is before the start`,
      );
    }
    this.window = window;
  }

  /** Fold one event; events outside the window and control events are ignored. */
  apply(recorded: RecordedEvent): void {
    const event = recorded.event;
    let kind: number;
    if (event.type === 'BlocksWritten') kind = KIND_WRITE;
    else if (event.type === 'BlocksTrimmed') kind = KIND_TRIM;
    else if (event.type === 'ZeroesWritten') kind = KIND_ZEROES;
    else return;
    const w = this.window;
    if (w.fromPosition !== undefined && recorded.position < w.fromPosition) return;
    if (w.toPosition !== undefined && recorded.position > w.toPosition) return;
    if (w.fromTime !== undefined && recorded.recordedAt < w.fromTime) return;
    if (w.toTime !== undefined && recorded.recordedAt > w.toTime) return;
    let start = event.lbn;
    let end = event.lbn + event.count;
    if (w.lbnStart !== undefined && start < w.lbnStart) start = w.lbnStart;
    if (w.lbnEnd !== undefined && end > w.lbnEnd + 1) end = w.lbnEnd + 1;
    if (end <= start) return;
    if (this.length === this.starts.length) this.grow();
    const i = this.length++;
    this.starts[i] = start;
    this.ends[i] = end;
    this.positions[i] = recorded.position;
    this.kinds[i] = kind;
  }

  /**
   * Fold a run of consecutive write events: the same as {@link apply} of each, as a plain
   * loop over the run's columns with the window's bounds in locals.
   */
  applyWrites(run: WriteRun): void {
    const w = this.window;
    const fromPosition = w.fromPosition ?? Number.NEGATIVE_INFINITY;
    const toPosition = w.toPosition ?? Number.POSITIVE_INFINITY;
    const fromTime = w.fromTime ?? Number.NEGATIVE_INFINITY;
    const toTime = w.toTime ?? Number.POSITIVE_INFINITY;
    const lbnStart = w.lbnStart ?? Number.NEGATIVE_INFINITY;
    const lbnEnd = w.lbnEnd === undefined ? Number.POSITIVE_INFINITY : w.lbnEnd + 1;
    const { kinds, lbns, counts, recordedAts } = run;
    for (let i = 0; i < run.length; i++) {
      const position = run.firstPosition + i;
      if (position < fromPosition || position > toPosition) continue;
      const recordedAt = recordedAts[i]!;
      if (recordedAt < fromTime || recordedAt > toTime) continue;
      const lbn = lbns[i]!;
      const start = Math.max(lbn, lbnStart);
      const stop = Math.min(lbn + counts[i]!, lbnEnd);
      if (stop <= start) continue;
      if (this.length === this.starts.length) this.grow();
      const k = this.length++;
      this.starts[k] = start;
      this.ends[k] = stop;
      this.positions[k] = position;
      // Run kinds are 1..3 in the order of KIND_WRITE, KIND_TRIM, KIND_ZEROES.
      this.kinds[k] = kinds[i]! - WRITE_KIND_WRITTEN;
    }
  }

  /** Write events in the window so far. */
  get events(): number {
    return this.length;
  }

  /** The merged ranges, ascending by LBN. */
  result(): AuditRange[] {
    const n = this.length;
    const order = new Uint32Array(n);
    for (let i = 0; i < n; i++) order[i] = i;
    const starts = this.starts;
    const ends = this.ends;
    order.sort((a, b) => starts[a]! - starts[b]!);
    // The range set does the merging (adjacent ranges join too: the audit reports the exact set
    // of changed blocks); fed in ascending order it merges in O(1) per event and says which
    // merged range each event joined, so the counts follow along in one sweep.
    const merged = new LbnRangeSet();
    const out: Mutable<AuditRange>[] = [];
    // Counts of the range being swept, in locals (this loop runs once per event).
    let writes = 0;
    let trims = 0;
    let zeroes = 0;
    let firstPosition = Number.POSITIVE_INFINITY;
    let lastPosition = -1;
    for (let k = 0; k < n; k++) {
      const i = order[k]!;
      const lbn = starts[i]!;
      // Ascending input only ever joins the last range or starts a new one.
      if (merged.addAscending(lbn, ends[i]! - lbn) === out.length) {
        if (k > 0) flush(out, writes, trims, zeroes, firstPosition, lastPosition);
        out.push({ lbn, count: 0, writes: 0, trims: 0, zeroes: 0, firstPosition: 0, lastPosition: 0 });
        writes = trims = zeroes = 0;
        firstPosition = Number.POSITIVE_INFINITY;
        lastPosition = -1;
      }
      writes++;
      if (this.kinds[i] === KIND_TRIM) trims++;
      else if (this.kinds[i] === KIND_ZEROES) zeroes++;
      const position = this.positions[i]!;
      if (position < firstPosition) firstPosition = position;
      if (position > lastPosition) lastPosition = position;
    }
    if (n > 0) flush(out, writes, trims, zeroes, firstPosition, lastPosition);
    // The lengths are known once every event joined: take them from the set.
    for (let r = 0; r < out.length; r++) out[r]!.count = merged.countAt(r);
    return out;
  }

  private grow(): void {
    const size = this.starts.length * 2;
    if (size > MAX_AUDITED_WRITES) {
      throw new InvalidArgumentError(
        `audit window holds more than ${MAX_AUDITED_WRITES} write events; narrow it with --from/--to or --lbn`,
      );
    }
    const grown = (a: Float64Array) => {
      const b = new Float64Array(size);
      b.set(a);
      return b;
    };
    this.starts = grown(this.starts);
    this.ends = grown(this.ends);
    this.positions = grown(this.positions);
    const kinds = new Uint8Array(size);
    kinds.set(this.kinds);
    this.kinds = kinds;
  }
}

/** Store the counts of the range last started in `out`. */
function flush(
  out: Mutable<AuditRange>[],
  writes: number,
  trims: number,
  zeroes: number,
  firstPosition: number,
  lastPosition: number,
): void {
  const range = out[out.length - 1]!;
  range.writes = writes;
  range.trims = trims;
  range.zeroes = zeroes;
  range.firstPosition = firstPosition;
  range.lastPosition = lastPosition;
}
