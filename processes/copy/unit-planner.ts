import type { ChunkRun } from '../../domain/chunk-bitmap.js';
import { chunkRunBlocks, type Geometry } from '../../domain/geometry.js';
import { mayHoldData, type WrittenChunks } from '../../projections/written-chunks.js';
import type { CopyUnit } from './copy-progress.js';

/** A unit spans at most this many units' worth of chunks (64 MiB at the default tuning). */
export const UNIT_SPAN_UNITS = 64;

/**
 * Cuts a copy's planned runs into units of up to `unitChunks` chunks that may hold data. A unit
 * takes the planned chunks of several runs (a minicopy's scattered marked chunks) and, on a set
 * whose log vouches for never-written chunks, the holes between data (a sparse full copy), up to
 * UNIT_SPAN_UNITS units' span: its data pieces then go out together (processes/copy/unit-copier.ts)
 * instead of one unit, and so one thread-pool round trip at a time, per chunk.
 * `written` is read here only to size units; the copy decides again under the range lock.
 */
export class UnitPlanner {
  private readonly iterator: Iterator<ChunkRun>;
  /** The rest of the current run, or null when the next one must be taken. */
  private current: ChunkRun | null = null;
  private readonly spanChunks: number;
  private readonly chunkBytes: number;

  constructor(
    runs: Iterable<ChunkRun>,
    private readonly geometry: Geometry,
    private readonly unitChunks: number,
    private readonly written: () => WrittenChunks | undefined,
  ) {
    this.iterator = runs[Symbol.iterator]();
    this.spanChunks = unitChunks * UNIT_SPAN_UNITS;
    this.chunkBytes = geometry.chunkBlocks * geometry.blockSize;
  }

  /** The next unit, or null when every planned chunk has been handed out. */
  next(): CopyUnit | null {
    const written = this.written();
    const vouches = written?.vouches === true;
    const runs: ChunkRun[] = [];
    let data = 0;
    let start = -1;
    // Bounded: each step consumes at least one chunk of a run, or ends the unit.
    for (let run = this.peek(); run !== null; run = this.peek()) {
      if (start === -1) start = run.first;
      const limit = Math.min(run.first + run.count, start + this.spanChunks);
      if (run.first >= limit) break;
      let at = run.first;
      while (at < limit && data < this.unitChunks) {
        if (!vouches || mayHoldData(written!, at)) data++;
        at++;
      }
      runs.push({ first: run.first, count: at - run.first });
      this.consume(at - run.first);
      if (data >= this.unitChunks || at < run.first + run.count) break;
    }
    if (runs.length === 0) return null;
    return this.unit(runs, Math.max(1, data) * this.chunkBytes);
  }

  /** A unit of `runs` (ascending, disjoint); `ioBytes` defaults to their bytes. */
  unit(runs: readonly ChunkRun[], ioBytes?: number): CopyUnit {
    const g = this.geometry;
    let count = 0;
    let bytes = 0;
    for (const r of runs) {
      count += r.count;
      bytes += chunkRunBlocks(g, r.first, r.count) * g.blockSize;
    }
    const last = runs[runs.length - 1]!;
    return {
      first: runs[0]!.first,
      end: last.first + last.count,
      runs,
      count,
      bytes,
      ioBytes: ioBytes ?? bytes,
      done: false,
    };
  }

  private peek(): ChunkRun | null {
    if (this.current === null) {
      // Bounded: empty runs are skipped, and the iterator is finite.
      for (let r = this.iterator.next(); !r.done; r = this.iterator.next()) {
        if (r.value.count > 0) {
          this.current = r.value;
          break;
        }
      }
    }
    return this.current;
  }

  private consume(chunks: number): void {
    const c = this.current!;
    this.current = chunks >= c.count ? null : { first: c.first + chunks, count: c.count - chunks };
  }
}
