import { assert } from '../../domain/errors.js';

/** One in-memory snapshot: the encoded projections and the minimerge bitmap after `position`. */
export interface MemorySnapshot {
  /** The position the snapshot holds the state after. */
  readonly position: number;
  /** encodeProjectedState of the state (projections/state-snapshot.ts). */
  readonly state: Uint8Array;
  /** First position whose writes the minimerge bitmap holds; -1 with no geometry yet. */
  readonly minimergeFrom: number;
  /** The minimerge bitmap's serialised bits, null with no geometry yet. */
  readonly minimerge: Uint8Array | null;
}

/** Bounds of {@link MemorySnapshots}. */
export interface MemorySnapshotBounds {
  /** Events between snapshots at first; doubles each time the bounds thin the list. */
  readonly everyEvents: number;
  /** Most snapshots kept. */
  readonly maxCount: number;
  /** Most bytes kept over all snapshots. */
  readonly maxBytes: number;
}

/**
 * Snapshots of the dashboard's own fold, kept in memory so that any slider position is at most
 * `every` events of replay away, on a log the engine never snapshotted (a bundle, a bench log)
 * as on one it did. Bounded in count and bytes: past a bound every other snapshot goes and the
 * interval doubles, so the spacing stays even and the replay bound grows only as log / maxCount.
 */
export class MemorySnapshots {
  private readonly list: MemorySnapshot[] = [];
  private bytes = 0;
  private every: number;

  constructor(private readonly bounds: MemorySnapshotBounds) {
    assert(bounds.everyEvents >= 1 && bounds.maxCount >= 2, 'memory snapshot bounds too small');
    this.every = bounds.everyEvents;
  }

  /** True when a snapshot is due after the event at `position` (counted from `first`). */
  due(position: number, first: number): boolean {
    return (position - first + 1) % this.every === 0;
  }

  /** The first position at or after `position` at which a snapshot is due (see {@link due}). */
  nextDue(position: number, first: number): number {
    const counted = position - first + 1;
    return position + ((this.every - (counted % this.every)) % this.every);
  }

  /** Keep a snapshot (positions ascending). */
  add(snapshot: MemorySnapshot): void {
    const previous = this.list[this.list.length - 1];
    assert(previous === undefined || previous.position < snapshot.position, 'snapshots out of order');
    this.list.push(snapshot);
    this.bytes += sizeOf(snapshot);
    // Bounded: each pass halves the list.
    while (
      this.list.length > 1 &&
      (this.list.length > this.bounds.maxCount || this.bytes > this.bounds.maxBytes)
    ) {
      this.thin();
    }
  }

  /** The newest snapshot at or below `position`, or null. */
  latest(position: number): MemorySnapshot | null {
    let low = 0;
    let high = this.list.length - 1;
    let found: MemorySnapshot | null = null;
    while (low <= high) {
      const mid = (low + high) >>> 1;
      const s = this.list[mid]!;
      if (s.position <= position) {
        found = s;
        low = mid + 1;
      } else {
        high = mid - 1;
      }
    }
    return found;
  }

  /** Snapshots kept and their bytes (for diagnostics and the bench). */
  stats(): { count: number; bytes: number; everyEvents: number } {
    return { count: this.list.length, bytes: this.bytes, everyEvents: this.every };
  }

  private thin(): void {
    const kept = this.list.filter((_, i) => i % 2 === 1);
    this.list.length = 0;
    this.list.push(...kept);
    this.bytes = kept.reduce((n, s) => n + sizeOf(s), 0);
    this.every *= 2;
  }
}

function sizeOf(snapshot: MemorySnapshot): number {
  return snapshot.state.byteLength + (snapshot.minimerge?.byteLength ?? 0);
}
