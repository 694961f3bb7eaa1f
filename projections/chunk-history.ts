import { OutOfRangeError } from '../domain/errors.js';
import type { RecordedEvent, WriteEventType } from '../domain/events.js';
import { chunkOf } from '../domain/geometry.js';
import { evolve, initialState, isMarking, type ShadowSetState } from '../domain/shadow-set-state.js';
import { evolveWrites } from '../domain/write-fold.js';
import { WRITE_KIND_WRITTEN, type WriteRun } from '../domain/write-run.js';

/** Event types by run kind − WRITE_KIND_WRITTEN (domain/write-run.ts). */
const WRITE_TYPES: readonly WriteEventType[] = ['BlocksWritten', 'BlocksTrimmed', 'ZeroesWritten'];

/** A write event that marked the chunk in a bitmap. */
export interface ChunkMark {
  /** Position of the write event. */
  readonly position: number;
  /** recordedAt of the write event. */
  readonly recordedAt: number;
  /** Write, trim or zeroes. */
  readonly type: WriteEventType;
  /** First block written. */
  readonly lbn: number;
  /** Blocks written. */
  readonly count: number;
}

/** One bitmap (one absence of one member) in which the chunk was marked. */
export interface ChunkBitmapHistory {
  /** The member the bitmap belongs to. */
  readonly member: string;
  /** Position of the MemberDismounted that started the bitmap. */
  readonly sincePosition: number;
  /** Position at which the bitmap ended (cleared by a completed copy, deleted, dropped); null while it lives. */
  endPosition: number | null;
  /** The event that ended it. */
  endedBy: string | null;
  /** The writes that marked the chunk, oldest first (at most `maxMarks`). */
  readonly marks: ChunkMark[];
  /** Marks not kept because of the bound. */
  marksNotKept: number;
}

/**
 * For one chunk: which write events marked it, in each bitmap that contains it
 * (`shadowlog explain --chunk N`). Folds the set state alongside so that "which bitmaps
 * are marking now" follows exactly the rules of `evolve`, not a second copy of them.
 */
export class ChunkHistory {
  private readonly state: ShadowSetState = initialState();
  private readonly open = new Map<string, ChunkBitmapHistory>();
  private readonly done: ChunkBitmapHistory[] = [];

  /**
   * @param chunk the chunk to follow
   * @param maxMarks most marks kept per bitmap: a hot chunk can be written millions of times
   */
  constructor(
    readonly chunk: number,
    private readonly maxMarks = 1000,
  ) {}

  /** Fold one event. */
  apply(recorded: RecordedEvent): void {
    const event = recorded.event;
    const geometry = this.state.geometry;
    if (geometry !== null) this.checkChunk(geometry.chunks);
    if (
      geometry !== null &&
      (event.type === 'BlocksWritten' || event.type === 'BlocksTrimmed' || event.type === 'ZeroesWritten')
    ) {
      const first = chunkOf(geometry, event.lbn);
      const last = chunkOf(geometry, event.lbn + event.count - 1);
      if (this.chunk >= first && this.chunk <= last) {
        this.mark(recorded.position, recorded.recordedAt, event.type, event.lbn, event.count);
      }
      evolve(this.state, recorded);
      return;
    }
    evolve(this.state, recorded);
    if (this.open.size === 0) return;
    for (const [key, history] of this.open) {
      const m = this.state.members.find((x) => x.id === history.member);
      if (m?.bitmap?.sincePosition === history.sincePosition) continue;
      history.endPosition = recorded.position;
      history.endedBy = event.type;
      this.open.delete(key);
      this.done.push(history);
    }
  }

  /**
   * Fold a run of consecutive write events (replay's fast path, domain/write-run.ts): the same
   * as {@link apply} of each (test/projections/projected-replay.test.ts). Writes do not change
   * which bitmaps mark, so the members are looked at only for a write that touches the chunk.
   */
  applyWrites(run: WriteRun): void {
    const geometry = this.state.geometry;
    if (geometry !== null) {
      this.checkChunk(geometry.chunks);
      const chunkBlocks = geometry.chunkBlocks;
      const { kinds, lbns, counts } = run;
      // The chunk's first and last block: a write touches it when it overlaps them.
      const low = this.chunk * chunkBlocks;
      const high = low + chunkBlocks;
      for (let i = 0; i < run.length; i++) {
        const lbn = lbns[i]!;
        if (lbn >= high || lbn + counts[i]! <= low) continue;
        const type = WRITE_TYPES[kinds[i]! - WRITE_KIND_WRITTEN]!;
        this.mark(run.firstPosition + i, run.recordedAts[i]!, type, lbn, counts[i]!);
      }
    }
    evolveWrites(this.state, run);
  }

  private checkChunk(chunks: number): void {
    if (this.chunk >= chunks) {
      throw new OutOfRangeError(`chunk ${this.chunk} is outside the volume (chunks 0-${chunks - 1})`);
    }
  }

  /** Record a write that touched the chunk in every bitmap marking now. */
  private mark(position: number, recordedAt: number, type: WriteEventType, lbn: number, count: number): void {
    for (const m of this.state.members) {
      if (!isMarking(m)) continue;
      const key = `${m.id}@${m.bitmap.sincePosition}`;
      let history = this.open.get(key);
      if (history === undefined) {
        history = {
          member: m.id,
          sincePosition: m.bitmap.sincePosition,
          endPosition: null,
          endedBy: null,
          marks: [],
          marksNotKept: 0,
        };
        this.open.set(key, history);
      }
      if (history.marks.length < this.maxMarks) {
        history.marks.push({ position, recordedAt, type, lbn, count });
      } else {
        history.marksNotKept++;
      }
    }
  }

  /** Every bitmap in which the chunk was marked, ended ones first, in order. */
  result(): ChunkBitmapHistory[] {
    return [...this.done, ...this.open.values()];
  }
}
