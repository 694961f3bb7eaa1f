/** A held or queued byte range. */
interface RangeEntry {
  readonly startBytes: number;
  readonly endBytes: number;
  readonly done: Promise<void>;
  readonly resolve: () => void;
}

/**
 * Exclusive byte-range lock shared by all connections to one export. The NBD layer turns
 * unaligned writes into read-modify-write of whole 512-byte blocks; without the lock, an aligned
 * write landing between the read and the write-back of an RMW would be silently undone. Every
 * mutating request takes the lock on its block-aligned range, so RMWs and plain writes of the
 * same blocks are serialised, and requests on disjoint ranges never wait.
 *
 * Fairness: a request waits only for overlapping requests that arrived before it, so waits always
 * point backwards in time and cannot deadlock. The set is bounded by the requests in flight on all
 * connections (each connection's budget bounds its share).
 */
export class RangeLock {
  private readonly entries = new Set<RangeEntry>();

  /** Ranges held or queued now. */
  get size(): number {
    return this.entries.size;
  }

  /** Wait for overlapping earlier holders, then hold `[startBytes, endBytes)`; call the result to release. */
  async acquire(startBytes: number, endBytes: number): Promise<() => void> {
    const earlier: Promise<void>[] = [];
    for (const entry of this.entries) {
      if (entry.startBytes < endBytes && startBytes < entry.endBytes) earlier.push(entry.done);
    }
    let resolve!: () => void;
    const done = new Promise<void>((r) => {
      resolve = r;
    });
    const entry: RangeEntry = { startBytes, endBytes, done, resolve };
    this.entries.add(entry);
    if (earlier.length > 0) await Promise.all(earlier);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.entries.delete(entry);
      entry.resolve();
    };
  }
}
