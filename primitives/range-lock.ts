import { assert } from '../domain/errors.js';

/** Releases a held range. Idempotent. */
export type Release = () => void;

interface Entry {
  readonly start: number;
  readonly end: number;
  readonly released: Promise<void>;
  release: () => void;
}

/**
 * Block range locks: an application write and the copy or merge of the chunks under it are
 * serialised (docs/design.md invariant 3). Locks are granted in the order requested: a request
 * waits for every earlier request whose range overlaps, so there is no starvation and no
 * deadlock (each waits only on older entries). Ranges are half-open `[start, end)`.
 *
 * Entries are few (bounded by the I/O queue depth and the copy's in-flight I/Os), so a linear
 * scan beats a tree here.
 */
export class RangeLock {
  private entries: Entry[] = [];
  /** Most entries held or waiting at once; callers bound their queue depth, this catches a leak. */
  static readonly MAX_ENTRIES = 65_536;

  /** Wait until `[start, end)` is free of earlier requests, then hold it. */
  async acquire(start: number, end: number): Promise<Release> {
    assert(end > start, `range lock of empty range ${start}-${end}`);
    assert(
      this.entries.length < RangeLock.MAX_ENTRIES,
      'range lock table is full: an I/O queue is unbounded',
    );
    const waitFor: Promise<void>[] = [];
    for (const e of this.entries) if (e.start < end && start < e.end) waitFor.push(e.released);
    let resolve!: () => void;
    const released = new Promise<void>((r) => {
      resolve = r;
    });
    const entry: Entry = { start, end, released, release: resolve };
    this.entries.push(entry);
    if (waitFor.length > 0) await Promise.all(waitFor);
    let done = false;
    return () => {
      if (done) return;
      done = true;
      const i = this.entries.indexOf(entry);
      if (i >= 0) this.entries.splice(i, 1);
      entry.release();
    };
  }

  /** Entries held or waiting (for tests and metrics). */
  get size(): number {
    return this.entries.length;
  }
}
