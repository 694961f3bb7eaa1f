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

  /** Highest position such that every write at or below it completed. */
  watermark(): number {
    return this.inFlight.size === 0 ? this.last : this.lowest - 1;
  }

  /** Writes in flight. */
  get size(): number {
    return this.inFlight.size;
  }
}
