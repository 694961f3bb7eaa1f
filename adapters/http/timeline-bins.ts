import { assert } from '../../domain/errors.js';
import { isWriteEvent, type RecordedEvent } from '../../domain/events.js';
import type { WriteRun } from '../../domain/write-run.js';
import { eventLine } from '../../projections/event-view.js';
import type { TimelineAnswer, TimelineBin, TimelineMarker } from './read-api.js';

/** Most bins `GET /api/timeline` answers with. */
export const MAX_TIMELINE_BINS = 4096;
/** Most markers kept (the most recent). */
export const MAX_TIMELINE_MARKERS = 10_000;
/** Fine bins kept: twice the most asked for, so any answer aggregates whole fine bins. */
const FINE_BINS = 2 * MAX_TIMELINE_BINS;

/**
 * The log's write density and markers, folded once and then event by event as the log grows:
 * `GET /api/timeline` answers from here without reading the log. Fine bins of `width`
 * positions each live in typed arrays; when they fill, pairs merge and the width doubles, so
 * memory stays FINE_BINS bins whatever the log's length. Markers are a bounded ring.
 */
export class TimelineBins {
  private width = 1;
  private used = 0;
  private readonly writes = new Float64Array(FINE_BINS);
  private readonly times = new Float64Array(FINE_BINS);
  private readonly markers: TimelineMarker[] = [];
  private markersDropped = 0;
  private last = -1;

  /** @param firstPosition the first position of the log (bin 0 starts there) */
  constructor(readonly firstPosition: number) {}

  /** Fold the next event (positions must come in order, without gaps). */
  apply(recorded: RecordedEvent): void {
    const position = recorded.position;
    // The message is built only on failure: this runs once per event of the log.
    if (this.last === -1 ? position !== this.firstPosition : position !== this.last + 1) {
      assert(false, `timeline got position ${position} after ${this.last}`);
    }
    this.last = position;
    let bin = Math.floor((position - this.firstPosition) / this.width);
    if (bin >= FINE_BINS) {
      this.halve();
      bin = Math.floor((position - this.firstPosition) / this.width);
    }
    if (bin >= this.used) {
      this.used = bin + 1;
      this.times[bin] = recorded.recordedAt;
    }
    if (isWriteEvent(recorded.event)) {
      this.writes[bin]! += 1;
      return;
    }
    this.markers.push({
      position,
      time: new Date(recorded.recordedAt).toISOString(),
      type: recorded.event.type,
      member: (recorded.event as { member?: string }).member ?? null,
      text: eventLine(recorded).trim(),
    });
    // Dropped in blocks, not one by one: a shift per event past the bound would be quadratic.
    if (this.markers.length > MAX_TIMELINE_MARKERS + 1024) {
      const excess = this.markers.length - MAX_TIMELINE_MARKERS;
      this.markers.splice(0, excess);
      this.markersDropped += excess;
    }
  }

  /**
   * Fold entries `start .. end - 1` of a run of writes (domain/write-run.ts): the same as
   * {@link apply} of each, a bin's stretch of the run counted at once.
   */
  applyWrites(run: WriteRun, start: number, end: number): void {
    const base = this.firstPosition;
    // Bounded: each round consumes at least one entry.
    for (let i = start; i < end; ) {
      const position = run.firstPosition + i;
      if (this.last === -1 ? position !== base : position !== this.last + 1) {
        assert(false, `timeline got position ${position} after ${this.last}`);
      }
      let bin = Math.floor((position - base) / this.width);
      if (bin >= FINE_BINS) {
        this.halve();
        bin = Math.floor((position - base) / this.width);
      }
      if (bin >= this.used) {
        this.used = bin + 1;
        this.times[bin] = run.recordedAts[i]!;
      }
      // The entries up to the bin's last position.
      const stop = Math.min(end, i + (base + (bin + 1) * this.width - position));
      this.writes[bin]! += stop - i;
      this.last = run.firstPosition + stop - 1;
      i = stop;
    }
  }

  /** The answer for `bins` bins (1..MAX_TIMELINE_BINS), each a whole number of fine bins. */
  answer(bins: number): TimelineAnswer {
    assert(bins >= 1 && bins <= MAX_TIMELINE_BINS, `timeline bins ${bins} out of range`);
    const span = this.last < 0 ? 0 : this.last - this.firstPosition + 1;
    const perBin = Math.max(1, Math.ceil(Math.ceil(span / bins) / this.width));
    const out: TimelineBin[] = [];
    for (let fine = 0; fine < this.used; fine += perBin) {
      let writes = 0;
      const end = Math.min(this.used, fine + perBin);
      for (let f = fine; f < end; f++) writes += this.writes[f]!;
      const from = this.firstPosition + fine * this.width;
      out.push({
        from,
        to: Math.min(this.last, this.firstPosition + end * this.width - 1),
        time: new Date(this.times[fine]!).toISOString(),
        writes,
      });
    }
    const kept = this.markers.length - MAX_TIMELINE_MARKERS;
    return {
      firstPosition: this.firstPosition,
      lastPosition: this.last,
      bins: out,
      markers: kept > 0 ? this.markers.slice(kept) : this.markers.slice(),
      markersDropped: this.markersDropped + Math.max(0, kept),
    };
  }

  /** Merge pairs of fine bins and double the width. */
  private halve(): void {
    const half = FINE_BINS / 2;
    for (let b = 0; b < half; b++) {
      this.writes[b] = this.writes[2 * b]! + this.writes[2 * b + 1]!;
      this.times[b] = this.times[2 * b]!;
    }
    this.writes.fill(0, half);
    this.times.fill(0, half);
    this.used = Math.ceil(this.used / 2);
    this.width *= 2;
  }
}
