import { assert } from '../../domain/errors.js';

/**
 * Which logged writes have not yet completed on the members. The engine is the log's single
 * writer and appends in call order, so it knows each write's position when it issues the
 * append; the watermark is then exact: every write at or below it has reached every member.
 * MembersSynced(watermark), after a member flush, bounds the crash merge.
 */
export class WriteTracker {
  private readonly inFlight = new Set<number>();
  private lowest = Number.POSITIVE_INFINITY;
  private last = -1;

  /** A write with this position was issued. Positions are issued in increasing order. */
  begin(position: number): void {
    assert(position > this.last, `write position ${position} issued after ${this.last}`);
    this.last = position;
    this.inFlight.add(position);
    if (position < this.lowest) this.lowest = position;
  }

  /** Another event took a position (control events): advances the watermark when nothing is in flight. */
  skip(position: number): void {
    assert(position > this.last, `position ${position} issued after ${this.last}`);
    this.last = position;
  }

  /** The write at this position reached every member (or failed and was dealt with). */
  end(position: number): void {
    const had = this.inFlight.delete(position);
    assert(had, `write position ${position} ended twice or never began`);
    if (position === this.lowest) {
      this.lowest = Number.POSITIVE_INFINITY;
      for (const p of this.inFlight) if (p < this.lowest) this.lowest = p;
    }
  }

  /**
   * The log ends at `position`: every position issued above it was predicted for an append the
   * store rejected and will be issued again. Only allowed when no write above it is in flight
   * (each rejected write was ended): the watermark then stays exact, and the next position
   * issued is `position + 1`.
   */
  rewind(position: number): void {
    assert(
      Number.isSafeInteger(position) && position >= -1 && position <= this.last,
      `rewind to ${position}: positions were issued only up to ${this.last}`,
    );
    // Bounded by the writes in flight (the engine's write concurrency).
    for (const p of this.inFlight) {
      assert(p <= position, `rewind to ${position} with the write at ${p} still in flight`);
    }
    this.last = position;
  }

  /** The last position issued (-1: none). */
  get issued(): number {
    return this.last;
  }

  /** Highest position such that every write at or below it completed. */
  watermark(): number {
    return this.inFlight.size === 0 ? this.last : this.lowest - 1;
  }

  /** Writes in flight. */
  get size(): number {
    return this.inFlight.size;
  }
}
