import { promises as fs } from 'node:fs';
import { assert, InvariantViolationError } from '../../../domain/errors.js';
import type { RecordedEvent, ShadowEvent, WriteEventType } from '../../../domain/events.js';
import type { ReplayVisitor } from '../../../domain/ports/event-store.js';
import { createWriteRun, type WriteRun } from '../../../domain/write-run.js';
import { ioError } from './durable-file.js';
import { corruptAt, type LogState, type SegmentState, segmentIndexOf } from './log-state.js';
import {
  checkFrame,
  decodeEvent,
  FRAME_PARTIAL,
  frameProblem,
  KIND_BATCH_SEAL,
  KIND_BLOCKS_WRITTEN,
  KIND_MASK,
  KIND_ZEROES_WRITTEN,
  MAX_RECORD_BYTES,
  RECORD_HEADER_BYTES,
  readU32,
  SEAL_FRAME_BYTES,
  WRITE_BODY_BYTES,
  WRITE_RECORD_BYTES,
  WRITE_TYPE_BY_KIND,
  writeCountOf,
  writeLbnOf,
} from './record-codec.js';
import { SEGMENT_HEADER_BYTES } from './segment-format.js';
import { writeFrameCrc } from './write-frame-crc.js';

/**
 * Sequential reading of committed records `[from, to)`: locate `from` through the sparse
 * index, then walk frames in a window buffer read from the segment file, verifying every
 * record's CRC -- a record that does not check throws LogCorruptError naming segment and
 * offset, it is never skipped. Decoding is a plain loop over the Buffer that hands records to
 * a {@link RecordVisitor}; write records are passed as numbers, without allocating an event.
 */

/** Receives decoded records in position order. */
export interface RecordVisitor {
  /** A write record (BlocksWritten, BlocksTrimmed, ZeroesWritten) as plain numbers: no object is built. */
  onWrite(position: number, recordedAt: number, type: WriteEventType, lbn: number, count: number): void;
  /** Any other event, decoded and validated with its schema. */
  onEvent(recorded: RecordedEvent): void;
}

/** 2^32, the weight of a write record's lbn high bytes. */
const TWO_POW_32 = 2 ** 32;
/** Bytes of a frame up to and including its kind byte. */
const BODY_KIND_END = RECORD_HEADER_BYTES + 1;
/** Default window size: large enough that the per-read overhead vanishes on replay. */
export const DEFAULT_WINDOW_BYTES = 1024 * 1024;
const MIN_WINDOW_BYTES = 4096;
/** Estimated bytes per record, to size the window of a short read. */
const ESTIMATED_RECORD_BYTES = 32;

/** Cursor over committed records; call {@link close} when done. */
export class RecordCursor {
  /** Position of the record at the cursor (the next handed out once the skip to `from` is done). */
  position: number;
  private readonly state: LogState;
  private readonly to: number;
  private readonly windowBytes: number;
  private segmentIndex: number;
  private segment: SegmentState;
  private handle: fs.FileHandle | null = null;
  private window: Buffer;
  /** DataView over {@link window} for walkRuns; null until first needed. */
  private view: DataView | null = null;
  /** File offset of window[0]. */
  private windowStart = 0;
  private windowLength = 0;
  /** File offset of the next frame. */
  private offset: number;
  /** Index in its segment of the record at `offset`. */
  private recordIndex: number;
  /** Records still to skip (from the index entry up to `from`). */
  private toSkip: number;

  constructor(state: LogState, from: number, to: number, windowBytes = DEFAULT_WINDOW_BYTES) {
    assert(
      from >= 0 && from <= to && to <= state.nextPosition,
      `cursor range ${from}..${to} outside the log`,
    );
    assert(state.segments.length > 0 && from < to, 'cursor over an empty range');
    this.state = state;
    this.to = to;
    const estimate = (to - from) * ESTIMATED_RECORD_BYTES + MIN_WINDOW_BYTES;
    this.windowBytes = Math.max(MIN_WINDOW_BYTES, Math.min(windowBytes, estimate));
    this.window = Buffer.allocUnsafe(0);
    this.segmentIndex = Math.max(0, segmentIndexOf(state.segments, from));
    this.segment = state.segments[this.segmentIndex]!;
    const located = this.segment.index.locate(Math.max(0, from - this.segment.firstPosition));
    this.offset = located.offset;
    this.recordIndex = located.recordIndex;
    // Start at the indexed record and walk (verifying) up to `from`.
    this.position = this.segment.firstPosition + located.recordIndex;
    this.toSkip = from - this.position;
  }

  /** True while records remain in the range. */
  get more(): boolean {
    return this.position < this.to;
  }

  /**
   * Make the next frame readable from the window (reading the file as needed). Returns false
   * when the range is exhausted. Skips to `from` on first use.
   */
  async fill(): Promise<boolean> {
    // Bounded: each round either moves to a later segment, reads a window, or skips records.
    for (let round = 0; round < 1_000_000; round++) {
      if (this.position >= this.to) return false;
      if (this.recordIndex >= this.segment.records) {
        await this.nextSegment();
        continue;
      }
      if (!(await this.ensureFrame())) continue;
      if (this.toSkip === 0) return true;
      this.toSkip -= this.walk(null, this.toSkip);
    }
    throw new InvariantViolationError('record cursor made no progress');
  }

  /**
   * Decode up to `max` records from the window into `visitor`; returns how many. Call after
   * {@link fill} returned true; returns 0 when the next frame needs another fill.
   */
  decode(visitor: RecordVisitor, max: number): number {
    return this.walk(visitor, Math.min(max, this.to - this.position));
  }

  /**
   * Like {@link decode}, but runs of write records go into `run` as columns and reach
   * `visitor.onWrites` (when the run is full, before any other record, and at the end of the
   * window); other records reach `visitor.onEvent`. No object is built per write record.
   */
  decodeRuns(run: WriteRun, visitor: ReplayVisitor, max: number): number {
    return this.walkRuns(run, visitor, Math.min(max, this.to - this.position));
  }

  /** Release the file handle. */
  async close(): Promise<void> {
    const handle = this.handle;
    this.handle = null;
    await handle?.close();
  }

  private walk(visitor: RecordVisitor | null, max: number): number {
    const buf = this.window;
    const segment = this.segment;
    const limit = Math.min(max, segment.records - this.recordIndex);
    const end = this.windowLength;
    let rel = this.offset - this.windowStart;
    let n = 0;
    // Bounded by the window: every round consumes a frame or stops. Seals (formats 2, 3) are
    // verified and skipped, also right after the last record asked for, so a segment's
    // trailing seal is checked before the cursor moves on.
    while (rel + BODY_KIND_END <= end) {
      const kind = buf[rel + 8]! & KIND_MASK;
      if (n >= limit && kind !== KIND_BATCH_SEAL) break;
      const frameBytes = checkFrame(buf, rel, end);
      if (frameBytes === FRAME_PARTIAL) break;
      if (frameBytes < 0) throw corruptAt(segment, this.windowStart + rel, frameProblem(frameBytes));
      if (kind === KIND_BATCH_SEAL) {
        rel += frameBytes;
        continue;
      }
      if (visitor !== null) {
        const position = this.position + n;
        const recordedAt = buf.readDoubleLE(rel + 9);
        if (kind <= KIND_ZEROES_WRITTEN) {
          visitor.onWrite(
            position,
            recordedAt,
            WRITE_TYPE_BY_KIND[kind]!,
            writeLbnOf(buf, rel),
            writeCountOf(buf, rel),
          );
        } else {
          visitor.onEvent({ position, recordedAt, event: this.decodeJson(buf, rel, frameBytes) });
        }
      }
      rel += frameBytes;
      n++;
    }
    this.offset = this.windowStart + rel;
    this.recordIndex += n;
    this.position += n;
    return n;
  }

  /**
   * {@link walk} for {@link decodeRuns}. A whole write frame is checked in line (length and
   * CRC, the same checks as checkFrame) and its fields copied into the run's typed arrays;
   * anything else takes checkFrame's path, which also names a corruption.
   */
  private walkRuns(run: WriteRun, visitor: ReplayVisitor, max: number): number {
    const buf = this.window;
    const view = this.windowView();
    const segment = this.segment;
    const limit = Math.min(max, segment.records - this.recordIndex);
    const end = this.windowLength;
    const { kinds, lbns, counts, recordedAts } = run;
    const capacity = kinds.length;
    let rel = this.offset - this.windowStart;
    let n = 0;
    let k = 0;
    // Bounded by the window: every round consumes a frame or stops. The fields are read
    // through a DataView (one load each, in line) rather than Buffer.read* (checked calls).
    while (rel + BODY_KIND_END <= end) {
      const kind = buf[rel + 8]! & KIND_MASK;
      if (kind >= KIND_BLOCKS_WRITTEN && kind <= KIND_ZEROES_WRITTEN && n < limit) {
        if (rel + WRITE_RECORD_BYTES <= end && view.getUint32(rel + 4, true) === WRITE_BODY_BYTES) {
          if (writeFrameCrc(buf, rel) !== view.getUint32(rel, true)) {
            throw corruptAt(segment, this.windowStart + rel, frameProblem(checkFrame(buf, rel, end)));
          }
          kinds[k] = kind;
          // writeLbnOf / writeCountOf (record-codec.ts): lbn u48, count u32, little-endian.
          lbns[k] = view.getUint32(rel + 17, true) + view.getUint16(rel + 21, true) * TWO_POW_32;
          counts[k] = view.getUint32(rel + 23, true);
          recordedAts[k] = view.getFloat64(rel + 9, true);
          rel += WRITE_RECORD_BYTES;
          n++;
          if (++k === capacity) k = flushRun(run, visitor, this.position + n, k);
          continue;
        }
      }
      if (n >= limit && kind !== KIND_BATCH_SEAL) break;
      const frameBytes = checkFrame(buf, rel, end);
      if (frameBytes === FRAME_PARTIAL) break;
      if (frameBytes < 0) throw corruptAt(segment, this.windowStart + rel, frameProblem(frameBytes));
      if (kind !== KIND_BATCH_SEAL) {
        k = flushRun(run, visitor, this.position + n, k);
        const recordedAt = view.getFloat64(rel + 9, true);
        visitor.onEvent({
          position: this.position + n,
          recordedAt,
          event: this.decodeJson(buf, rel, frameBytes),
        });
        n++;
      }
      rel += frameBytes;
    }
    flushRun(run, visitor, this.position + n, k);
    this.offset = this.windowStart + rel;
    this.recordIndex += n;
    this.position += n;
    return n;
  }

  /** A DataView over the window buffer, made again only when the buffer was replaced. */
  private windowView(): DataView {
    const buf = this.window;
    let view = this.view;
    if (view === null || view.buffer !== buf.buffer || view.byteOffset !== buf.byteOffset) {
      view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
      this.view = view;
    }
    return view;
  }

  private decodeJson(buf: Buffer, rel: number, frameBytes: number): ShadowEvent {
    try {
      return decodeEvent(buf, rel, frameBytes);
    } catch (error) {
      throw corruptAt(
        this.segment,
        this.windowStart + rel,
        `record passes its CRC but its event is invalid: ${(error as Error).message}`,
      );
    }
  }

  private async nextSegment(): Promise<void> {
    const segment = this.segment;
    if (segment.sealed && this.offset < segment.bytes) {
      // The trailing seal was not whole in the last window: read and verify it.
      await this.readWindow(Math.min(SEAL_FRAME_BYTES, segment.bytes - this.offset));
      this.walk(null, 0);
    }
    if (segment.sealed && this.offset !== segment.bytes) {
      throw corruptAt(
        segment,
        this.offset,
        `segment should end here after ${segment.records} records but is ${segment.bytes} bytes`,
      );
    }
    await this.close();
    this.segmentIndex++;
    const next = this.state.segments[this.segmentIndex];
    assert(
      next !== undefined,
      `no segment after ${segment.name} although position ${this.position} < ${this.to}`,
    );
    this.segment = next;
    this.offset = SEGMENT_HEADER_BYTES;
    this.recordIndex = 0;
    this.windowLength = 0;
  }

  /** Make the whole frame at `offset` lie in the window; false when a read happened and the caller should loop. */
  private async ensureFrame(): Promise<boolean> {
    const rel = this.offset - this.windowStart;
    if (rel >= 0 && rel + RECORD_HEADER_BYTES <= this.windowLength) {
      const frameBytes = RECORD_HEADER_BYTES + readU32(this.window, rel + 4);
      if (frameBytes > MAX_RECORD_BYTES) {
        throw corruptAt(
          this.segment,
          this.offset,
          frameProblem(checkFrame(this.window, rel, this.windowLength)),
        );
      }
      if (rel + frameBytes <= this.windowLength) return true;
      if (this.offset + frameBytes > this.segment.bytes) {
        throw corruptAt(this.segment, this.offset, 'record runs past the end of the committed data');
      }
      await this.readWindow(frameBytes);
      return false;
    }
    if (this.offset + RECORD_HEADER_BYTES > this.segment.bytes) {
      throw corruptAt(this.segment, this.offset, 'record runs past the end of the committed data');
    }
    await this.readWindow(RECORD_HEADER_BYTES);
    return false;
  }

  private async readWindow(minBytes: number): Promise<void> {
    const segment = this.segment;
    const size = Math.min(Math.max(this.windowBytes, minBytes), segment.bytes - this.offset);
    if (this.window.length < size) this.window = Buffer.allocUnsafe(Math.max(size, this.windowBytes));
    try {
      this.handle ??= await fs.open(segment.path, 'r');
      let done = 0;
      // Short reads are legal; a read of 0 bytes means the file is shorter than committed.
      while (done < size) {
        const { bytesRead } = await this.handle.read(this.window, done, size - done, this.offset + done);
        if (bytesRead === 0) break;
        done += bytesRead;
      }
      if (done < size) {
        throw corruptAt(
          segment,
          this.offset + done,
          `segment file ends before its committed size of ${segment.bytes} bytes`,
        );
      }
    } catch (error) {
      if ((error as { code?: string }).code === 'LOG_CORRUPT') throw error;
      throw ioError('read segment', segment.path, error);
    }
    this.windowStart = this.offset;
    this.windowLength = size;
  }
}

/** Hand the `k` entries of `run` that end before position `next` to the visitor; returns 0. */
function flushRun(run: WriteRun, visitor: ReplayVisitor, next: number, k: number): number {
  if (k === 0) return 0;
  run.firstPosition = next - k;
  run.length = k;
  visitor.onWrites(run);
  run.length = 0;
  return 0;
}

/**
 * Replay records `[from, to)` of a log into `visitor` through {@link RecordCursor.decodeRuns},
 * with one reused run; resolves with the records visited.
 */
export async function replayRecords(
  state: LogState,
  from: number,
  to: number,
  visitor: ReplayVisitor,
  windowBytes = DEFAULT_WINDOW_BYTES,
): Promise<number> {
  if (from >= to) return 0;
  const cursor = new RecordCursor(state, from, to, windowBytes);
  const run = createWriteRun();
  let visited = 0;
  try {
    // Bounded by the range: fill() returns false at its end.
    while (await cursor.fill()) visited += cursor.decodeRuns(run, visitor, Number.MAX_SAFE_INTEGER);
  } finally {
    await cursor.close();
  }
  return visited;
}
