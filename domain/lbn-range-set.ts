import { assert, InvalidArgumentError } from './errors.js';

/** A run of logical blocks: `count` blocks starting at `lbn`. */
export interface LbnRange {
  /** First LBN of the run. */
  readonly lbn: number;
  /** Number of blocks in the run; always >= 1 in ranges a set hands out. */
  readonly count: number;
}

/** Throw unless `[lbn, lbn + count)` is a non-empty range of whole, non-negative, safe LBNs. */
function checkRange(lbn: number, count: number): void {
  if (
    !Number.isSafeInteger(lbn) ||
    !Number.isSafeInteger(count) ||
    lbn < 0 ||
    count <= 0 ||
    !Number.isSafeInteger(lbn + count)
  ) {
    throw new InvalidArgumentError(
      `LBN range ${lbn}+${count} is invalid: LBN must be a whole number >= 0 and count a whole number >= 1`,
    );
  }
}

/** First index `i` with `values[i] >= x` (values ascending); `values.length` when none. */
function lowerBound(values: readonly number[], x: number): number {
  let lo = 0;
  let hi = values.length;
  while (lo < hi) {
    // Math.floor, not `>>> 1`: lengths are small, but keep LBN code free of 32-bit ops.
    const mid = Math.floor((lo + hi) / 2);
    if (values[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** First index `i` with `values[i] > x` (values ascending); `values.length` when none. */
function upperBound(values: readonly number[], x: number): number {
  let lo = 0;
  let hi = values.length;
  while (lo < hi) {
    const mid = Math.floor((lo + hi) / 2);
    if (values[mid]! <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * An exact set of LBNs, the backing store of the exact write audit: where the chunk bitmap
 * says "something in these 127 blocks changed", this says exactly which blocks.
 *
 * Kept as sorted, disjoint, non-adjacent half-open ranges in two parallel number arrays
 * (`starts`, `ends`), because writes arrive as ranges and mostly coalesce: a sequential
 * writer leaves one range however many events it logs. Parallel arrays of plain numbers
 * stay compact and let binary search find the affected ranges in O(log n); LBNs are never
 * put through bitwise operators, so volumes past 2^32 blocks work.
 */
export class LbnRangeSet implements Iterable<LbnRange> {
  /** Start LBN of each range, ascending. */
  private starts: number[] = [];
  /** End LBN (exclusive) of each range; `ends[i] < starts[i + 1]` keeps ranges non-adjacent. */
  private ends: number[] = [];
  /** Blocks covered, kept up to date by every mutation so `blockCount` is O(1). */
  private total = 0;

  /** Build a set holding the union of `ranges` (which may overlap and come in any order). */
  static from(ranges: Iterable<LbnRange>): LbnRangeSet {
    const sorted: LbnRange[] = [];
    for (const range of ranges) {
      checkRange(range.lbn, range.count);
      sorted.push(range);
    }
    // Sorting first makes building O(n log n) rather than O(n^2) splicing for unordered input.
    sorted.sort((a, b) => a.lbn - b.lbn);
    const set = new LbnRangeSet();
    for (const range of sorted) set.append(range.lbn, range.lbn + range.count);
    return set;
  }

  /** Add `[lbn, lbn + count)`, merging with every range it overlaps or touches. */
  add(lbn: number, count: number): void {
    checkRange(lbn, count);
    const end = lbn + count;
    // Ranges i..j-1 overlap or are adjacent to the new one: their end >= lbn and start <= end.
    const i = lowerBound(this.ends, lbn);
    const j = upperBound(this.starts, end);
    if (i === j) {
      this.starts.splice(i, 0, lbn);
      this.ends.splice(i, 0, end);
      this.total += count;
      return;
    }
    const start = Math.min(lbn, this.starts[i]!);
    const merged = Math.max(end, this.ends[j - 1]!);
    const removed = this.blocksIn(i, j);
    this.starts.splice(i, j - i, start);
    this.ends.splice(i, j - i, merged);
    this.total += merged - start - removed;
  }

  /**
   * Add `[lbn, lbn + count)`, which must not start before the last range does (ranges added
   * in ascending LBN order): O(1), no search, merging with the last range if it overlaps or
   * touches it. Returns the index of the range that now holds it, so a caller sweeping sorted
   * ranges (the write audit) can tell which ranges joined into one.
   */
  addAscending(lbn: number, count: number): number {
    checkRange(lbn, count);
    this.append(lbn, lbn + count);
    return this.starts.length - 1;
  }

  /** Remove `[lbn, lbn + count)`; blocks not in the set are ignored. */
  subtract(lbn: number, count: number): void {
    checkRange(lbn, count);
    const end = lbn + count;
    // Ranges i..j-1 share at least one block with the removed one (adjacency does not count).
    const i = upperBound(this.ends, lbn);
    const j = lowerBound(this.starts, end);
    if (i >= j) return;
    const newStarts: number[] = [];
    const newEnds: number[] = [];
    const firstStart = this.starts[i]!;
    const lastEnd = this.ends[j - 1]!;
    if (firstStart < lbn) {
      newStarts.push(firstStart);
      newEnds.push(lbn);
    }
    if (lastEnd > end) {
      newStarts.push(end);
      newEnds.push(lastEnd);
    }
    const removed = this.blocksIn(i, j);
    let kept = 0;
    for (let k = 0; k < newStarts.length; k++) kept += newEnds[k]! - newStarts[k]!;
    this.starts.splice(i, j - i, ...newStarts);
    this.ends.splice(i, j - i, ...newEnds);
    this.total -= removed - kept;
  }

  /** A new set holding every LBN in this set or `other`. */
  union(other: LbnRangeSet): LbnRangeSet {
    const result = new LbnRangeSet();
    let a = 0;
    let b = 0;
    // Merge the two sorted lists by start: O(n + m), no binary searches or splices.
    while (a < this.starts.length || b < other.starts.length) {
      const takeThis =
        b >= other.starts.length || (a < this.starts.length && this.starts[a]! <= other.starts[b]!);
      if (takeThis) {
        result.append(this.starts[a]!, this.ends[a]!);
        a++;
      } else {
        result.append(other.starts[b]!, other.ends[b]!);
        b++;
      }
    }
    return result;
  }

  /** A new set holding every LBN in both this set and `other`. */
  intersect(other: LbnRangeSet): LbnRangeSet {
    const result = new LbnRangeSet();
    let a = 0;
    let b = 0;
    while (a < this.starts.length && b < other.starts.length) {
      const start = Math.max(this.starts[a]!, other.starts[b]!);
      const end = Math.min(this.ends[a]!, other.ends[b]!);
      if (start < end) result.append(start, end);
      // Advance whichever range ends first: it cannot meet anything further in the other list.
      if (this.ends[a]! <= other.ends[b]!) a++;
      else b++;
    }
    return result;
  }

  /** A new set holding every LBN in this set but not in `other`. */
  difference(other: LbnRangeSet): LbnRangeSet {
    const result = new LbnRangeSet();
    let b = 0;
    for (let a = 0; a < this.starts.length; a++) {
      let start = this.starts[a]!;
      const end = this.ends[a]!;
      // Skip ranges of `other` wholly before this one; they cannot affect later ranges either.
      while (b < other.starts.length && other.ends[b]! <= start) b++;
      let k = b;
      while (k < other.starts.length && other.starts[k]! < end) {
        if (other.starts[k]! > start) result.append(start, other.starts[k]!);
        start = Math.max(start, other.ends[k]!);
        k++;
      }
      if (start < end) result.append(start, end);
    }
    return result;
  }

  /** Whether `lbn` is in the set. */
  has(lbn: number): boolean {
    const i = upperBound(this.starts, lbn) - 1;
    return i >= 0 && lbn < this.ends[i]!;
  }

  /** Total blocks covered by the set. */
  get blockCount(): number {
    return this.total;
  }

  /** Number of maximal ranges in the set. */
  get rangeCount(): number {
    return this.starts.length;
  }

  /** The maximal ranges, ascending by LBN. */
  *[Symbol.iterator](): Iterator<LbnRange> {
    for (let i = 0; i < this.starts.length; i++) {
      yield { lbn: this.starts[i]!, count: this.ends[i]! - this.starts[i]! };
    }
  }

  /** Blocks in the `index`-th maximal range (ascending by LBN); no iterator, for loops over many ranges. */
  countAt(index: number): number {
    if (!(index >= 0 && index < this.starts.length))
      assert(false, `no range ${index} of ${this.starts.length}`);
    return this.ends[index]! - this.starts[index]!;
  }

  /** The maximal ranges, ascending by LBN, as an array. */
  toArray(): LbnRange[] {
    return [...this];
  }

  /** An independent copy of the set. */
  clone(): LbnRangeSet {
    const copy = new LbnRangeSet();
    // slice, not push(...spread): spreading a huge array overflows the call stack.
    copy.starts = this.starts.slice();
    copy.ends = this.ends.slice();
    copy.total = this.total;
    return copy;
  }

  /** Whether both sets hold exactly the same LBNs. */
  equals(other: LbnRangeSet): boolean {
    // Ranges are canonical (sorted, disjoint, non-adjacent), so equal sets have equal arrays.
    if (this.total !== other.total || this.starts.length !== other.starts.length) return false;
    for (let i = 0; i < this.starts.length; i++) {
      if (this.starts[i] !== other.starts[i] || this.ends[i] !== other.ends[i]) return false;
    }
    return true;
  }

  /** Blocks covered by ranges `i..j-1`. */
  private blocksIn(i: number, j: number): number {
    let blocks = 0;
    for (let k = i; k < j; k++) blocks += this.ends[k]! - this.starts[k]!;
    return blocks;
  }

  /**
   * Append `[start, end)`, which must not start before the last range does: the O(1) building
   * block of `from` and the set operations, which all produce ranges in ascending order.
   */
  private append(start: number, end: number): void {
    const last = this.starts.length - 1;
    // Checked before calling assert: building the message on every append would cost a string each.
    if (last >= 0 && start < this.starts[last]!) assert(false, `range ${start} appended out of order`);
    if (last >= 0 && start <= this.ends[last]!) {
      const lastEnd = this.ends[last]!;
      if (end > lastEnd) {
        this.ends[last] = end;
        this.total += end - lastEnd;
      }
      return;
    }
    this.starts.push(start);
    this.ends.push(end);
    this.total += end - start;
  }
}
