import { ChunkBitmap } from '../domain/chunk-bitmap.js';
import type { RecordedEvent } from '../domain/events.js';
import { chunkOf, type Geometry } from '../domain/geometry.js';
import type { ReplayVisitor } from '../domain/ports/event-store.js';
import type { WriteRun } from '../domain/write-run.js';

/**
 * The minimerge bitmap: chunks written at or after `fromPosition` (the last MembersSynced
 * position + 1). After a crash these are the only chunks whose members may disagree, so a
 * merge visits only them. It is a fold over the tail of the log, not part of the replayed
 * state: it needs only the events since the last sync, which the sparse index reaches fast.
 */
export class MinimergeBitmap {
  /** The marked chunks. */
  readonly chunks: ChunkBitmap;
  /** Write events folded. */
  writes = 0;

  constructor(
    private readonly geometry: Geometry,
    /** First position whose writes count. */
    readonly fromPosition: number,
  ) {
    this.chunks = new ChunkBitmap(geometry.chunks);
  }

  /** Fold one event. */
  apply(recorded: RecordedEvent): void {
    const event = recorded.event;
    if (recorded.position < this.fromPosition) return;
    if (event.type !== 'BlocksWritten' && event.type !== 'BlocksTrimmed' && event.type !== 'ZeroesWritten')
      return;
    const first = chunkOf(this.geometry, event.lbn);
    const last = chunkOf(this.geometry, event.lbn + event.count - 1);
    this.chunks.set(first, last);
    this.writes++;
  }

  /** Fold a run of consecutive write events: the same as {@link apply} of each. */
  applyWrites(run: WriteRun): void {
    const skip = Math.max(0, Math.min(run.length, this.fromPosition - run.firstPosition));
    this.chunks.setWrites(run.lbns, run.counts, skip, run.length, this.geometry.chunkBlocks);
    this.writes += run.length - skip;
  }
}

/** A replay visitor (domain/ports/event-store.ts) that folds into `bitmap`. */
export function minimergeVisitor(bitmap: MinimergeBitmap): ReplayVisitor {
  return { onWrites: (run) => bitmap.applyWrites(run), onEvent: (recorded) => bitmap.apply(recorded) };
}
