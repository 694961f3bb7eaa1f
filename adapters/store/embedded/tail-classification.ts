import { isFormat3Seal, sealBatchBytes, sealDurableEndAtIssue, sealFrameBytes } from './batch-seal.js';
import { crc32cRange } from './crc32c.js';
import {
  BODY_PREFIX_BYTES,
  FRAME_BAD_KIND,
  frameProblem,
  KIND_BATCH_SEAL,
  KIND_MASK,
  MAX_BODY_BYTES,
  RECORD_HEADER_BYTES,
  readU32,
  SEAL_FRAME_BYTES,
} from './record-codec.js';
import { type FrameScan, findSealFrom, findValidFrameAfter, isAlwaysCorrupt } from './segment-scanner.js';

/**
 * Torn tail or corruption: how the end of a scanned segment is judged. The rules, and why they
 * tell the two apart with one fault, are in docs/log-format.md ("Classification"). In short,
 * for a format-2 or format-3 segment (batches end with seals):
 *
 * 1. every byte consumed by valid frames, the last one a seal: clean;
 * 2. a CRC-valid frame that does not belong (unknown kind, a seal that does not match): corrupt;
 * 3. damage (or whole records without their seal) with nothing valid after it: torn -- cut
 *    back to the last valid commit (a damaged seal alone loses no record: every record
 *    before it is whole);
 * 4. damage followed by a valid frame: corrupt -- a once-durable record changed -- except
 *    when the damage can be a write in flight at the crash and its range holds the zero fill
 *    of an unwritten sector (a torn write persists its sectors in any order; a bit flip never
 *    makes one zero): torn, cut back to the previous seal. In flight (lostWriteEnd): in
 *    format 3, every valid seal after the damage was issued while the damaged bytes were not
 *    yet durable (its durable end at issue is at or before them); in format 2 (one write in
 *    flight), the damage is in the LAST batch.
 *
 * The zero tail: the writer keeps the active segment zero-filled ahead of its data
 * (zero-fill-ahead.ts), so the data of a segment with seals ends at its last seal when every
 * byte after it, to the end of the file, is zero -- the end, clean, not a torn tail (rule 1).
 * In rules 3 and 4 that tail is no evidence: a batch whose seal is followed by zeros ends the
 * data as one that ends the file does, and lost sectors are looked for only in the batch.
 *
 * A format-1 segment (no seals) keeps the old rule: damage with nothing valid after it is
 * torn, damage followed by a valid record is corrupt.
 */

/** Bytes of a disk sector: the unit a power loss persists or loses whole. */
export const SECTOR_BYTES = 512;
/**
 * Least zero bytes at the batch's start (the part of a sector it shares with the batch
 * before) taken as a lost sector outright: a frame's CRC and the low byte of its length are
 * never all zero, nor one bit away from it. Fewer zero bytes (only CRC bytes) count when the
 * CRC computed from the intact rest of the frame differs from them in more than one bit --
 * one flipped bit cannot do that.
 */
const MIN_START_ZERO_BYTES = 5;
/** Least zero bytes at the file's end taken as a lost sector: a seal's last 8 bytes (count, byte length) are never zero, nor one bit away. */
const MIN_END_ZERO_BYTES = 8;

/** How the bytes of a segment end. */
export type SegmentTail =
  | {
      readonly kind: 'clean';
      /** Where the data ends (buffer offset): the end, or the last seal before a zero tail. */
      readonly dataEnd: number;
    }
  | {
      /** Never-acknowledged bytes at the end: drop `[offset, end)`. */
      readonly kind: 'torn';
      /** Where the kept data ends (buffer offset). */
      readonly offset: number;
      /** Records kept (up to `offset`). */
      readonly keptRecords: number;
      readonly bytesDropped: number;
      /** Records dropped: whole records of an unfinished batch, plus one for a damaged or partial record (a seal is no record). */
      readonly recordsDropped: number;
      readonly reason: string;
    }
  | {
      /** Damage of data that was durable: refuse. */
      readonly kind: 'corrupt';
      readonly offset: number;
      readonly reason: string;
    };

/**
 * Classify the end of a scanned range `[.., end)` (`end` is the end of the file);
 * `fileOffsetOfBuf` places sectors.
 */
export function classifyTail(buf: Buffer, scan: FrameScan, end: number, fileOffsetOfBuf = 0): SegmentTail {
  if (scan.stop === null) {
    if (scan.sealEnd === end) return { kind: 'clean', dataEnd: end };
    return tornAtLastCommit(buf, scan, end, null);
  }
  // Rule 1 with a zero tail (a zero frame never checks, so the walk stopped at the seal).
  if (scan.withSeals && scan.stop.offset === scan.sealEnd && allZero(buf, scan.sealEnd, end)) {
    return { kind: 'clean', dataEnd: scan.sealEnd };
  }
  const { offset, code } = scan.stop;
  if (isAlwaysCorrupt(code)) {
    const why =
      code === FRAME_BAD_KIND ? `${frameProblem(code)} ${buf[offset + 8]! & KIND_MASK}` : frameProblem(code);
    return { kind: 'corrupt', offset, reason: why };
  }
  const next = findValidFrameAfter(buf, offset + 1, end);
  if (next < 0) return tornAtLastCommit(buf, scan, end, scan.stop);
  const lostEnd = scan.withSeals ? lostWriteEnd(buf, scan, next, end, fileOffsetOfBuf) : -1;
  if (lostEnd >= 0) {
    const hole = zeroFilledSector(buf, scan.sealEnd, lostEnd, fileOffsetOfBuf);
    if (hole >= 0) {
      return {
        kind: 'torn',
        offset: scan.sealEnd,
        keptRecords: scan.sealRecords,
        bytesDropped: end - scan.sealEnd,
        recordsDropped: scan.validRecords - scan.sealRecords + 1,
        reason: `a write in flight has zero-filled sector(s) at byte offset ${fileOffsetOfBuf + hole}: torn by a power loss, never acknowledged`,
      };
    }
  }
  return {
    kind: 'corrupt',
    offset,
    reason: `${frameProblem(code)}, and a valid frame follows at byte offset ${fileOffsetOfBuf + next}: a record that was durable is damaged`,
  };
}

/** Torn: keep every whole record up to the last commit flag (and the seal right after it). */
function tornAtLastCommit(
  buf: Buffer,
  scan: FrameScan,
  end: number,
  stop: FrameScan['stop'],
): SegmentTail & { kind: 'torn' } {
  const keepSeal = scan.sealEnd >= scan.committedEnd;
  const cut = keepSeal ? scan.sealEnd : scan.committedEnd;
  const keptRecords = keepSeal ? scan.sealRecords : scan.committedRecords;
  const wholeDropped = scan.validRecords - keptRecords;
  // The damaged frame right after a complete-looking batch is (most likely) its seal: no record.
  const sealHit = stop !== null && looksLikeSeal(buf, scan, stop.offset, end);
  const what =
    stop === null
      ? `${wholeDropped} record(s) of a batch that was never completed (no seal)`
      : `${frameProblem(stop.code)} at byte offset ${stop.offset}` +
        (wholeDropped > 0 ? ` after ${wholeDropped} record(s) of an unfinished batch` : '');
  return {
    kind: 'torn',
    offset: cut,
    keptRecords,
    bytesDropped: end - cut,
    recordsDropped: wholeDropped + (stop === null || sealHit ? 0 : 1),
    reason: sealHit ? `damaged or partial batch seal at byte offset ${stop!.offset}; no record lost` : what,
  };
}

/** True when the damaged frame at `offset` sits where a seal belongs and says (or, cut short, may be) it is one. */
function looksLikeSeal(buf: Buffer, scan: FrameScan, offset: number, end: number): boolean {
  if (!scan.withSeals || offset !== scan.committedEnd || scan.committedEnd <= scan.sealEnd) return false;
  if (end - offset <= SEAL_FRAME_BYTES) return true;
  return (buf[offset + 8]! & KIND_MASK) === KIND_BATCH_SEAL;
}

/**
 * Where the range in which a lost write may lie ends, when the damage before `next` can be a
 * write that was in flight at the crash, else -1. Let P be the damaged batch's start (the
 * last intact seal's end). The damage can be a lost write only if no write issued after P's
 * bytes were durable survived: every valid seal after the damage must name a durable end at
 * issue at or before P (batch-seal.ts; a format-2 seal names its own batch's start, so only
 * the seal of the damaged batch itself passes). Then nothing at or after P was acknowledged
 * (acknowledgement is in file order) and the range is up to the first seal's end; with no
 * seal after the damage, up to the end of the file. One later seal whose durable end at issue
 * is past P proves P's bytes were durable -- acknowledged -- before: -1, corruption. A format-2
 * seal keeps the one-write rule: it must close the damaged batch and end the data. Bounded:
 * every step moves forward.
 */
function lostWriteEnd(
  buf: Buffer,
  scan: FrameScan,
  next: number,
  end: number,
  fileOffsetOfBuf: number,
): number {
  const damagedStart = fileOffsetOfBuf + scan.sealEnd;
  let seal = findSealFrom(buf, next, end);
  if (seal < 0) return end;
  const firstSealEnd = seal + sealFrameBytes(buf, seal);
  if (!scan.format3) {
    // One write in flight (format 2): only the damaged batch's own seal, ending the data.
    const ownSeal =
      !isFormat3Seal(buf, seal) && fileOffsetOfBuf + seal - sealBatchBytes(buf, seal) === damagedStart;
    return ownSeal && allZero(buf, firstSealEnd, end) ? firstSealEnd : -1;
  }
  while (seal >= 0) {
    // A seal of the other form, or of a batch that starts before P, does not belong after it.
    const batchStart = fileOffsetOfBuf + seal - sealBatchBytes(buf, seal);
    if (!isFormat3Seal(buf, seal) || batchStart < damagedStart) return -1;
    if (sealDurableEndAtIssue(buf, seal, fileOffsetOfBuf) > damagedStart) return -1;
    seal = findSealFrom(buf, seal + sealFrameBytes(buf, seal), end);
  }
  return firstSealEnd;
}

/**
 * Offset of zero fill that only a lost sector explains, in `[from, end)`, or -1: a whole
 * 512-byte-aligned sector of zeros, or the zeroed part of the sector the batch starts in (from
 * `from`), see MIN_START_ZERO_BYTES; or of the sector the file ends in (up to `end`), at least
 * MIN_END_ZERO_BYTES long. Bounded by the range.
 */
export function zeroFilledSector(buf: Buffer, from: number, end: number, fileOffsetOfBuf = 0): number {
  const firstBoundary = from + ((SECTOR_BYTES - ((fileOffsetOfBuf + from) % SECTOR_BYTES)) % SECTOR_BYTES);
  const startZeros = firstBoundary - from;
  if (startZeros > 0 && firstBoundary <= end && allZero(buf, from, firstBoundary)) {
    if (startZeros >= MIN_START_ZERO_BYTES || crcOffByMoreThanOneBit(buf, from, end)) return from;
  }
  for (let s = firstBoundary; s + SECTOR_BYTES <= end; s += SECTOR_BYTES) {
    if (allZero(buf, s, s + SECTOR_BYTES)) return s;
  }
  const lastBoundary = end - ((fileOffsetOfBuf + end) % SECTOR_BYTES);
  if (lastBoundary >= from && end - lastBoundary >= MIN_END_ZERO_BYTES && allZero(buf, lastBoundary, end)) {
    return lastBoundary;
  }
  return -1;
}

/** True when the frame at `off` has a usable length and its stored CRC is more than one bit off the computed one. */
function crcOffByMoreThanOneBit(buf: Buffer, off: number, end: number): boolean {
  if (off + RECORD_HEADER_BYTES > end) return false;
  const bodyLength = readU32(buf, off + 4);
  const frameEnd = off + RECORD_HEADER_BYTES + bodyLength;
  if (bodyLength < BODY_PREFIX_BYTES || bodyLength > MAX_BODY_BYTES || frameEnd > end) return false;
  let diff = (crc32cRange(buf, off + 4, frameEnd) ^ readU32(buf, off)) >>> 0;
  diff &= diff - 1; // Clear the lowest set bit: non-zero when two or more bits differ.
  return diff !== 0;
}

function allZero(buf: Buffer, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (buf[i] !== 0) return false;
  return true;
}
