import {
  isFormat3Seal,
  sealBatchBytes,
  sealDurableEndAtIssue,
  sealFirstPosition,
  sealRecords,
} from './batch-seal.js';
import {
  checkFrame,
  FRAME_BAD_KIND,
  FRAME_SEAL_MISMATCH,
  isCommitRecord,
  KIND_BATCH_SEAL,
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
import { SEAL_V2_SEGMENT_FORMAT_VERSION, SEGMENT_HEADER_BYTES } from './segment-format.js';
import type { SparseIndex } from './segment-index.js';

/**
 * Walking a segment's frames at open, index rebuild, tail refresh and `log check`: where the
 * valid data ends, where the last commit flag and the last batch seal are, and what stopped
 * the walk. Whether what follows is a torn tail or corruption is tail-classification.ts's call.
 *
 * In a format-2 or format-3 segment every seal is checked against the records before it: the
 * position of the batch's first record, the record count and the byte length since the
 * previous seal, a commit flag on the record right before it, the seal's form (format 3 seals
 * carry the durable end at issue, format 2 seals do not) and, in format 3, a durable end at
 * issue inside the segment and not past the batch's own start. A CRC-valid seal that does not
 * match stops the walk with FRAME_SEAL_MISMATCH (always corruption). In a format-1 segment a
 * seal kind is unknown (FRAME_BAD_KIND).
 */

/** What to walk and what to tell. Offsets are relative to the buffer unless said otherwise. */
export interface ScanOptions {
  /** Format version of the segment (segment-format.ts): 2 and 3 end batches with seals, which are checked. */
  readonly formatVersion: number;
  /** Position of the record at `start`: seals name absolute positions. */
  readonly firstPosition: number;
  /** Told the file offset of every record, when given. */
  readonly index?: SparseIndex | null;
  /** Index in its segment of the record at `start` (for `index`). */
  readonly firstRecordIndex?: number;
  /** File offset of `buf[0]` (for `index`). */
  readonly fileOffsetOfBuf?: number;
}

/** Outcome of walking frames. Offsets are relative to the buffer. */
export interface FrameScan {
  /** True when seals were expected (formats 2 and 3). */
  readonly withSeals: boolean;
  /** True when seals carry the durable end at issue (format 3). */
  readonly format3: boolean;
  /** Offset after the last whole valid record carrying the commit flag. */
  readonly committedEnd: number;
  /** Records up to `committedEnd`. */
  readonly committedRecords: number;
  /** Offset after the last valid seal (the scan's start when none); equals `committedEnd` without seals. */
  readonly sealEnd: number;
  /** Records up to `sealEnd`. */
  readonly sealRecords: number;
  /** Offset after the last whole valid frame (>= committedEnd). */
  readonly validEnd: number;
  /** Whole valid records up to `validEnd`. */
  readonly validRecords: number;
  /** recordedAt of the last committed record, or NaN when none. */
  readonly lastRecordedAt: number;
  /** Where the walk met a frame that does not check, or null when it consumed every byte. */
  readonly stop: { readonly offset: number; readonly code: number } | null;
}

/**
 * Walk frames of `buf` from `start` to `end`. Plain loop, bounded by `end`; no allocation
 * per frame.
 */
export function scanFrames(buf: Buffer, start: number, end: number, options: ScanOptions): FrameScan {
  const { firstPosition } = options;
  const withSeals = options.formatVersion >= SEAL_V2_SEGMENT_FORMAT_VERSION;
  const format3 = options.formatVersion > SEAL_V2_SEGMENT_FORMAT_VERSION;
  const index = options.index ?? null;
  const firstRecordIndex = options.firstRecordIndex ?? 0;
  const fileOffsetOfBuf = options.fileOffsetOfBuf ?? 0;
  let off = start;
  let records = 0;
  let committedEnd = start;
  let committedRecords = 0;
  let sealEnd = start;
  let sealedRecords = 0;
  let lastRecordedAt = Number.NaN;
  let stop: FrameScan['stop'] = null;
  while (off < end) {
    const frameBytes = checkFrame(buf, off, end);
    if (frameBytes < 0) {
      stop = { offset: off, code: frameBytes };
      break;
    }
    if ((buf[off + 8]! & KIND_MASK) === KIND_BATCH_SEAL) {
      const matches =
        withSeals &&
        committedEnd === off &&
        records > sealedRecords &&
        sealFirstPosition(buf, off) === firstPosition + sealedRecords &&
        sealRecords(buf, off) === records - sealedRecords &&
        sealBatchBytes(buf, off) === off - sealEnd &&
        isFormat3Seal(buf, off) === format3 &&
        (!format3 ||
          durableEndFits(sealDurableEndAtIssue(buf, off, fileOffsetOfBuf), fileOffsetOfBuf + sealEnd));
      if (!matches) {
        stop = { offset: off, code: withSeals ? FRAME_SEAL_MISMATCH : FRAME_BAD_KIND };
        break;
      }
      off += frameBytes;
      sealEnd = off;
      sealedRecords = records;
      continue;
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
  if (!withSeals) {
    sealEnd = committedEnd;
    sealedRecords = committedRecords;
  }
  return {
    withSeals,
    format3,
    committedEnd,
    committedRecords,
    sealEnd,
    sealRecords: sealedRecords,
    validEnd: off,
    validRecords: records,
    lastRecordedAt,
    stop,
  };
}

/** A format-3 seal's durable end at issue lies in the segment's data and not past its batch's start. */
function durableEndFits(durableEnd: number, batchStart: number): boolean {
  return durableEnd >= SEGMENT_HEADER_BYTES && durableEnd <= batchStart;
}

/**
 * Offset of the first frame in `[from, end)` that checks (a record or a seal), or -1. Tries
 * every byte offset; a candidate's CRC is only computed when its length and kind are
 * plausible, which keeps a search over garbage or zeros cheap. Bounded by `end - from`
 * candidates.
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
    if (
      kind !== KIND_JSON &&
      kind !== KIND_BATCH_SEAL &&
      (kind < KIND_BLOCKS_WRITTEN || kind > KIND_ZEROES_WRITTEN)
    )
      continue;
    const frameBytes = checkFrame(buf, off, end);
    if (frameBytes > 0) return off;
  }
  return -1;
}

/**
 * Offset of the first valid seal at or after `from` (walking valid frames, searching past
 * damage), or -1. Bounded: every step moves forward.
 */
export function findSealFrom(buf: Buffer, from: number, end: number): number {
  let off = from;
  while (off >= 0 && off < end) {
    const frameBytes = checkFrame(buf, off, end);
    if (frameBytes > 0) {
      if ((buf[off + 8]! & KIND_MASK) === KIND_BATCH_SEAL) return off;
      off += frameBytes;
    } else {
      off = findValidFrameAfter(buf, off + 1, end);
    }
  }
  return -1;
}

/** A frame code that no torn write can produce: a CRC-valid frame that does not belong. */
export function isAlwaysCorrupt(code: number): boolean {
  return code === FRAME_BAD_KIND || code === FRAME_SEAL_MISMATCH;
}
