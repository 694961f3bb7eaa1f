import { ChunkBitmap } from '../../domain/chunk-bitmap.js';
import { OutOfRangeError } from '../../domain/errors.js';
import { chunkOf, type Geometry } from '../../domain/geometry.js';
import type { EventStore } from '../../domain/ports/event-store.js';
import { replayRange } from '../queries/replay-range.js';

/** Most "since" bitmaps kept folded at once; the least recently asked for is dropped first. */
const MAX_CACHED_BITMAPS = 32;

/** A bitmap of the chunks written after `since`, folded up to `foldedTo`. */
interface FoldedBitmap {
  readonly chunks: ChunkBitmap;
  foldedTo: number;
}

/**
 * The chunks written since any past position (a checkpoint, or `since-<position>` over NBD),
 * computed from the log itself, so a crash can never make one inconsistent (QEMU's persistent
 * bitmaps can be). Each bitmap is folded incrementally: the first request reads the log after
 * the position once, later requests read only what was appended since the last one.
 */
export class ChangedChunks {
  private readonly cache = new Map<number, FoldedBitmap>();

  constructor(
    private readonly store: EventStore,
    private readonly geometry: Geometry,
  ) {}

  /**
   * Chunks written by events at positions after `position`, up to the last durable event (so
   * every acknowledged write is in, even one the engine's projections have not folded yet).
   * OutOfRangeError for a position before 0 or past the end. The returned bitmap is the cached
   * one: callers read it and never change it.
   */
  async since(position: number): Promise<ChunkBitmap> {
    const end = await this.store.lastPosition();
    if (!Number.isSafeInteger(position) || position < 0 || position > end) {
      throw new OutOfRangeError(`position ${position} is not in the log: it holds positions 0 to ${end}`);
    }
    let entry = this.cache.get(position);
    if (entry) {
      this.cache.delete(position);
    } else {
      entry = { chunks: new ChunkBitmap(this.geometry.chunks), foldedTo: position };
      if (this.cache.size >= MAX_CACHED_BITMAPS) this.cache.delete(this.cache.keys().next().value!);
    }
    // Map order is insertion order: re-inserting makes this the most recently used.
    this.cache.set(position, entry);
    if (entry.foldedTo < end) await this.foldTo(entry, end);
    return entry.chunks;
  }

  private async foldTo(entry: FoldedBitmap, end: number): Promise<void> {
    const g = this.geometry;
    const chunks = entry.chunks;
    // Through the store's replay: writes arrive as typed-array runs, no event object per write.
    // Bounded by the log between the two positions; a plain loop over each run.
    await replayRange(this.store, entry.foldedTo + 1, end + 1, {
      onWrites: (run) => {
        for (let i = 0; i < run.length; i++) {
          const lbn = run.lbns[i]!;
          chunks.set(chunkOf(g, lbn), chunkOf(g, lbn + run.counts[i]! - 1));
        }
      },
      onEvent: () => undefined,
    });
    // Marking is idempotent, so two requests folding the same range at once only cost time.
    entry.foldedTo = Math.max(entry.foldedTo, end);
  }
}
