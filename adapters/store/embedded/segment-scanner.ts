import {
  checkFrame,
  FRAME_BAD_KIND,
  frameProblem,
  isCommitRecord,
  KIND_BLOCKS_WRITTEN,
  KIND_JSON,
  KIND_MASK,
  KIND_ZEROES_WRITTEN,
  MAX_BODY_BYTES,
  MIN_JSON_BODY_BYTES,
  RECORD_HEADER_BYTES,
  readU32,
  recordedAtOf,
} from './record-codec.js';
import type { SparseIndex } from './segment-index.js';

/**
 * Scanning a segment's bytes at open, index rebuild, tail refresh and `log check`: walk the
 * frames, find where the valid data ends, and decide whether what follows is a torn tail
 * (cut off and reported) or corruption (refused).
 *
 * The rule: damage with nothing valid after it is a torn tail -- the write of an append that
 * was never acknowledged was cut short. Damage followed by any valid record is corruption: a
 * record that was once durable has changed, and skipping it would silently lose events. A
 * tail of whole records after the last commit flag is an append cut short across records and
 * is dropped too, so a multi-event append survives a crash whole or not at all.
 */

/** Outcome of walking frames. Offsets are relative to the buffer. */
export interface FrameScan {
  /** Offset after the last whole valid record carrying the commit flag. */
  readonly committedEnd: number;
  /** Records up to `committedEnd`. */
  readonly committedRecords: number;
  /** Offset after the last whole valid record (>= committedEnd). */
  readonly validEnd: number;
  /** Whole valid records up to `validEnd`. */
  readonly validRecords: number;
  /** recordedAt of the last committed record, or NaN when none. */
  readonly lastRecordedAt: number;
  /** Where the walk met a frame that does not check, or null when it consumed every byte. */
  readonly stop: { readonly offset: number; readonly code: number } | null;
}

/**
 * Walk frames of `buf` from `start` to `end`. `index`, when given, is told the file offset of
 * every record (record `firstRecordIndex` is at `start`; `fileOffsetOfBuf` is the file offset
 * of `buf[0]`). Plain loop, bounded by `end`.
 */
export function scanFrames(
  buf: Buffer,
  start: number,
  end: number,
  index: SparseIndex | null = null,
  firstRecordIndex = 0,
  fileOffsetOfBuf = 0,
): FrameScan {
  let off = start;
  let records = 0;
  let committedEnd = start;
  let committedRecords = 0;
  let lastRecordedAt = Number.NaN;
  let stop: FrameScan['stop'] = null;
  while (off < end) {
    const frameBytes = checkFrame(buf, off, end);
    if (frameBytes < 0) {
      stop = { offset: off, code: frameBytes };
      break;
    }
    index?.note(firstRecordIndex + records, fileOffsetOfBuf + off);
    records++;
    if (isCommitRecord(buf, off)) {
      committedEnd = off + frameBytes;
      committedRecords = records;
      lastRecordedAt = recordedAtOf(buf, off);
    }
    off += frameBytes;
  }
  return { committedEnd, committedRecords, validEnd: off, validRecords: records, lastRecordedAt, stop };
}

/**
 * Offset of the first frame in `[from, end)` that checks, or -1. Tries every byte offset; a
 * candidate's CRC is only computed when its length and kind are plausible, which keeps a
 * search over garbage or zeros cheap. Bounded by `end - from` candidates.
 */
export function findValidFrameAfter(buf: Buffer, from: number, end: number): number {
  for (let off = from; off + RECORD_HEADER_BYTES < end; off++) {
    const bodyLength = readU32(buf, off + 4);
    if (
      bodyLength < MIN_JSON_BODY_BYTES ||
      bodyLength > MAX_BODY_BYTES ||
      off + RECORD_HEADER_BYTES + bodyLength > end
    )
      continue;
    const kind = buf[off + 8]! & KIND_MASK;
    if (kind !== KIND_JSON && (kind < KIND_BLOCKS_WRITTEN || kind > KIND_ZEROES_WRITTEN)) continue;
    const frameBytes = checkFrame(buf, off, end);
    if (frameBytes > 0) return off;
  }
  return -1;
}

/** How the bytes of a segment end. */
export type SegmentTail =
  | { readonly kind: 'clean' }
  | {
      /** Damage at the end with nothing valid after it: drop `[offset, end)`. */
      readonly kind: 'torn';
      readonly offset: number;
      readonly bytesDropped: number;
      /** Frames dropped: whole records of an unfinished append, plus one for a damaged or partial frame. */
      readonly recordsDropped: number;
      readonly reason: string;
    }
  | {
      /** Damage followed by valid data: refuse. */
      readonly kind: 'corrupt';
      readonly offset: number;
      readonly reason: string;
    };

/** Classify the end of a scanned range `[.., end)` per the rule at the top of this file. */
export function classifyTail(buf: Buffer, scan: FrameScan, end: number): SegmentTail {
  if (scan.stop !== null) {
    const { offset, code } = scan.stop;
    if (code === FRAME_BAD_KIND) {
      return { kind: 'corrupt', offset, reason: `${frameProblem(code)} ${buf[offset + 8]! & KIND_MASK}` };
    }
    const next = findValidFrameAfter(buf, offset + 1, end);
    if (next >= 0) {
      return {
        kind: 'corrupt',
        offset,
        reason: `${frameProblem(code)}, and a valid record follows at byte offset ${next}`,
      };
    }
  }
  if (scan.committedEnd === end) return { kind: 'clean' };
  const wholeUncommitted = scan.validRecords - scan.committedRecords;
  const reason =
    scan.stop === null
      ? `${wholeUncommitted} record(s) of an append that was never completed`
      : `${frameProblem(scan.stop.code)} at byte offset ${scan.stop.offset}` +
        (wholeUncommitted > 0 ? ` after ${wholeUncommitted} record(s) of an unfinished append` : '');
  return {
    kind: 'torn',
    offset: scan.committedEnd,
    bytesDropped: end - scan.committedEnd,
    recordsDropped: wholeUncommitted + (scan.stop === null ? 0 : 1),
    reason,
  };
}
