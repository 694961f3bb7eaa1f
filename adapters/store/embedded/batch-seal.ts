import { crc32cRange } from './crc32c.js';
import {
  KIND_BATCH_SEAL,
  RECORD_HEADER_BYTES,
  readU32,
  SEAL_BODY_BYTES,
  SEAL_V2_BODY_BYTES,
} from './record-codec.js';
import { readU64, writeU64 } from './segment-format.js';

/**
 * The batch seal: the frame that ends every group-commit write, in the same O_DSYNC write as
 * the batch's records, so it is durable exactly when the batch's write completed. It is
 * framed like a record (crc32c, length, kind, recordedAt) but is not a record: it takes no
 * position and readers skip it. Its payload ties it to the records before it:
 *
 *   offset 17 u64 LE  position of the batch's first record
 *   offset 25 u32 LE  records in the batch
 *   offset 29 u32 LE  bytes of the batch's records (the seal excluded)
 *   offset 33 u64 LE  format 3 only: the segment's durable end (file offset) when the batch's
 *                     write was issued -- every byte before it was durable then
 *
 * A format-2 seal (33 bytes; one write in flight) implies that durable end is its own batch's
 * start. With several writes in flight (group-commit-writer.ts), a crash may keep a later
 * write and lose an earlier one; the durable end at issue is what tells that lost earlier
 * write (never acknowledged, so a torn tail) from damage of bytes that were durable --
 * acknowledged -- before the later write was issued (corruption). docs/log-format.md.
 */

/**
 * Encode a seal at `off` in `target`; returns the offset after it. `durableEndAtIssue` null
 * writes a format-2 seal (recovery sealing a format-2 segment's kept records).
 */
export function encodeSeal(
  target: Buffer,
  off: number,
  firstPosition: number,
  records: number,
  batchBytes: number,
  recordedAt: number,
  durableEndAtIssue: number | null,
): number {
  const bodyBytes = durableEndAtIssue === null ? SEAL_V2_BODY_BYTES : SEAL_BODY_BYTES;
  target.writeUInt32LE(bodyBytes, off + 4);
  target[off + 8] = KIND_BATCH_SEAL;
  target.writeDoubleLE(recordedAt, off + 9);
  writeU64(target, firstPosition, off + 17);
  target.writeUInt32LE(records, off + 25);
  target.writeUInt32LE(batchBytes, off + 29);
  if (durableEndAtIssue !== null) writeU64(target, durableEndAtIssue, off + 33);
  const end = off + RECORD_HEADER_BYTES + bodyBytes;
  target.writeUInt32LE(crc32cRange(target, off + 4, end), off);
  return end;
}

/** A fresh buffer holding one seal (format 2 when `durableEndAtIssue` is null). */
export function sealBytes(
  firstPosition: number,
  records: number,
  batchBytes: number,
  recordedAt: number,
  durableEndAtIssue: number | null,
): Buffer {
  const bodyBytes = durableEndAtIssue === null ? SEAL_V2_BODY_BYTES : SEAL_BODY_BYTES;
  const buf = Buffer.alloc(RECORD_HEADER_BYTES + bodyBytes);
  encodeSeal(buf, 0, firstPosition, records, batchBytes, recordedAt, durableEndAtIssue);
  return buf;
}

/** First position named by the (checked) seal at `off`. */
export function sealFirstPosition(buf: Uint8Array, off: number): number {
  return readU64(buf, off + 17);
}

/** Record count named by the (checked) seal at `off`. */
export function sealRecords(buf: Uint8Array, off: number): number {
  return readU32(buf, off + 25);
}

/** Batch bytes named by the (checked) seal at `off`. */
export function sealBatchBytes(buf: Uint8Array, off: number): number {
  return readU32(buf, off + 29);
}

/** Total bytes of the (checked) seal at `off`: 41 (format 3) or 33 (format 2). */
export function sealFrameBytes(buf: Uint8Array, off: number): number {
  return RECORD_HEADER_BYTES + readU32(buf, off + 4);
}

/** True when the (checked) seal at `off` carries a durable end at issue (format 3). */
export function isFormat3Seal(buf: Uint8Array, off: number): boolean {
  return readU32(buf, off + 4) === SEAL_BODY_BYTES;
}

/**
 * File offset that was durable when the (checked) seal's write was issued. A format-2 seal
 * implies its batch's start (one write in flight). `fileOffsetOfBuf` places `buf[0]`.
 */
export function sealDurableEndAtIssue(buf: Uint8Array, off: number, fileOffsetOfBuf: number): number {
  if (isFormat3Seal(buf, off)) return readU64(buf, off + 33);
  return fileOffsetOfBuf + off - sealBatchBytes(buf, off);
}
