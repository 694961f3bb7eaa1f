import { crc32cRange } from './crc32c.js';
import {
  KIND_BATCH_SEAL,
  RECORD_HEADER_BYTES,
  readU32,
  SEAL_BODY_BYTES,
  SEAL_FRAME_BYTES,
} from './record-codec.js';
import { readU64, writeU64 } from './segment-format.js';

/**
 * The batch seal (format-2 segments): the frame that ends every group-commit write, in the
 * same O_DSYNC write as the batch's records, so it is durable exactly when the batch is
 * acknowledged. It is framed like a record (crc32c, length, kind, recordedAt) but is not a
 * record: it takes no position and readers skip it. Its payload ties it to the records before
 * it:
 *
 *   offset 17 u64 LE  position of the batch's first record
 *   offset 25 u32 LE  records in the batch
 *   offset 29 u32 LE  bytes of the batch's records (the seal excluded)
 *
 * A valid seal after damaged bytes proves the damage is inside a write that completed, i.e.
 * an acknowledged record changed: corruption, never a torn tail (docs/log-format.md).
 */

/** Encode a seal at `off` in `target`; returns the offset after it. */
export function encodeSeal(
  target: Buffer,
  off: number,
  firstPosition: number,
  records: number,
  batchBytes: number,
  recordedAt: number,
): number {
  target.writeUInt32LE(SEAL_BODY_BYTES, off + 4);
  target[off + 8] = KIND_BATCH_SEAL;
  target.writeDoubleLE(recordedAt, off + 9);
  writeU64(target, firstPosition, off + 17);
  target.writeUInt32LE(records, off + 25);
  target.writeUInt32LE(batchBytes, off + 29);
  const end = off + SEAL_FRAME_BYTES;
  target.writeUInt32LE(crc32cRange(target, off + 4, end), off);
  return end;
}

/** A fresh buffer holding one seal. */
export function sealBytes(
  firstPosition: number,
  records: number,
  batchBytes: number,
  recordedAt: number,
): Buffer {
  const buf = Buffer.alloc(SEAL_FRAME_BYTES);
  encodeSeal(buf, 0, firstPosition, records, batchBytes, recordedAt);
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

/** True when the checked frame at `off` is a seal. */
export function isSeal(buf: Uint8Array, off: number): boolean {
  return (buf[off + 8]! & 0x7f) === KIND_BATCH_SEAL && off + RECORD_HEADER_BYTES <= buf.length;
}
