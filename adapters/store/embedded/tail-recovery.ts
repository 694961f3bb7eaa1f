import { promises as fs } from 'node:fs';
import { sealBytes } from './batch-seal.js';
import { ioError } from './durable-file.js';
import type { DurableListener } from './durable-listener.js';
import { corruptAt, type SegmentState } from './log-state.js';
import { type FoundSegment, segmentState } from './segment-files.js';
import {
  LEGACY_SEGMENT_FORMAT_VERSION,
  SEGMENT_FORMAT_VERSION,
  SEGMENT_HEADER_BYTES,
} from './segment-format.js';
import { SparseIndex } from './segment-index.js';
import { type FrameScan, scanFrames } from './segment-scanner.js';
import { classifyTail, type SegmentTail } from './tail-classification.js';

/**
 * Recovery of the last segment at open: scan it in full, classify its end
 * (tail-classification.ts), and -- unless read-only -- cut a torn tail off durably. When the
 * records kept end without their seal (a damaged seal, or a batch written up to a record
 * boundary), a repair seal covering them is written in the same step, so the segment is again
 * a sequence of sealed batches and the next batch's seal checks against it.
 */

/** What recovery found and did to the last segment's tail. */
export interface TornTail {
  /** True: a torn tail was found (cut off unless read-only). */
  readonly truncated: true;
  /** File name of the segment. */
  readonly segment: string;
  /** Byte offset where the dropped tail starts. */
  readonly offset: number;
  /** Bytes dropped. */
  readonly bytesDropped: number;
  /** Records dropped: whole records of an unfinished batch plus one damaged or partial record (a damaged seal drops none). */
  readonly recordsDropped: number;
  /** Why, in words. */
  readonly reason: string;
}

/**
 * Where the intact prefix of a log ends, found by a read-only open that met damage of durable
 * data (a flipped byte, not a torn tail): positions before `position` are readable, reads at or
 * past it throw the LogCorruptError the open would have thrown.
 */
export interface DamagedRegion {
  /** First position not readable: the intact prefix is `[first, position)`. */
  readonly position: number;
  /** File name of the damaged segment. */
  readonly segment: string;
  /** Byte offset of the damage in it. */
  readonly offset: number;
  /** What is wrong, in words. */
  readonly reason: string;
  /** The full LogCorruptError message (names the segment's path and the offset). */
  readonly message: string;
}

async function readWhole(filePath: string): Promise<Buffer> {
  try {
    return await fs.readFile(filePath);
  } catch (error) {
    throw ioError('read segment', filePath, error);
  }
}

/**
 * The seal recovery writes after whole records it keeps past the last seal (their seal was
 * damaged): in format 3 it names their start as the durable end at issue -- they were durable
 * before it was written.
 */
function recoverySeal(f: FoundSegment, scan: FrameScan, tail: SegmentTail & { kind: 'torn' }): Buffer {
  return sealBytes(
    f.header.firstPosition + scan.sealRecords,
    tail.keptRecords - scan.sealRecords,
    tail.offset - scan.sealEnd,
    scan.lastRecordedAt,
    f.header.formatVersion >= SEGMENT_FORMAT_VERSION ? scan.sealEnd : null,
  );
}

/** Scan the last segment, classify its tail, and (unless read-only) cut off a torn tail durably. */
export async function recoverLastSegment(
  f: FoundSegment,
  readOnly: boolean,
  onDurable: DurableListener | undefined,
): Promise<{
  last: SegmentState;
  torn: TornTail | null;
  damaged: DamagedRegion | null;
  lastRecordedAt: number;
}> {
  const buf = await readWhole(f.path);
  const index = new SparseIndex();
  const withSeals = f.header.formatVersion !== LEGACY_SEGMENT_FORMAT_VERSION;
  const first = f.header.firstPosition;
  const scan = scanFrames(buf, SEGMENT_HEADER_BYTES, buf.length, {
    formatVersion: f.header.formatVersion,
    firstPosition: first,
    index,
  });
  const tail = classifyTail(buf, scan, buf.length);
  if (tail.kind === 'corrupt') {
    const error = corruptAt(f, tail.offset, tail.reason);
    if (!readOnly) throw error;
    return {
      ...intactPrefix(f, scan, index, withSeals),
      torn: null,
      lastRecordedAt: Number.NaN,
      damaged: {
        position: first + (withSeals ? scan.sealRecords : scan.committedRecords),
        segment: f.name,
        offset: tail.offset,
        reason: tail.reason,
        message: error.message,
      },
    };
  }
  if (tail.kind === 'clean') {
    // The data ends at the last seal; a zero tail after it is the writer's margin, kept.
    const last = segmentState(f, scan.committedRecords, tail.dataEnd, index, false);
    return { last, torn: null, damaged: null, lastRecordedAt: scan.lastRecordedAt };
  }
  index.truncate(tail.keptRecords);
  const unsealed = withSeals && tail.offset > scan.sealEnd;
  let bytes = tail.offset;
  let lastSeal = { end: scan.sealEnd, records: scan.sealRecords };
  if (!readOnly) {
    const seal = unsealed ? recoverySeal(f, scan, tail) : null;
    await cutTail(f.path, tail.offset, seal);
    if (seal !== null) {
      bytes += seal.length;
      lastSeal = { end: bytes, records: tail.keptRecords };
    }
    onDurable?.({ segmentPath: f.path, endOffsetBytes: bytes, lastPosition: first + tail.keptRecords - 1 });
  } else if (!unsealed) {
    lastSeal = { end: bytes, records: tail.keptRecords };
  }
  const last = segmentState(f, tail.keptRecords, bytes, index, false, lastSeal);
  const torn: TornTail = {
    truncated: true,
    segment: f.name,
    offset: tail.offset,
    bytesDropped: tail.bytesDropped,
    recordsDropped: tail.recordsDropped,
    reason: tail.reason,
  };
  return { last, torn, damaged: null, lastRecordedAt: scan.lastRecordedAt };
}

/**
 * A read-only view of a damaged last segment: the records up to the last batch seal before the
 * damage (the last commit flag in a format-1 segment), every one of them CRC-checked by the scan.
 */
function intactPrefix(
  f: FoundSegment,
  scan: FrameScan,
  index: SparseIndex,
  withSeals: boolean,
): { last: SegmentState } {
  const records = withSeals ? scan.sealRecords : scan.committedRecords;
  const bytes = withSeals ? scan.sealEnd : scan.committedEnd;
  index.truncate(records);
  return { last: segmentState(f, records, bytes, index, false, { end: bytes, records }) };
}

/** Truncate `filePath` to `offset`, append `seal` if given, and make both durable. */
async function cutTail(filePath: string, offset: number, seal: Buffer | null): Promise<void> {
  let handle: fs.FileHandle | undefined;
  try {
    handle = await fs.open(filePath, 'r+');
    await handle.truncate(offset);
    if (seal !== null) await handle.write(seal, 0, seal.length, offset);
    await handle.sync();
  } catch (error) {
    throw ioError('truncate torn tail of', filePath, error);
  } finally {
    await handle?.close();
  }
}
