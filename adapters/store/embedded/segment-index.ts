import { assert } from '../../../domain/errors.js';
import { crc32cOf } from './crc32c.js';
import { readU32 } from './record-codec.js';
import { readU64, SEGMENT_HEADER_BYTES, writeU64 } from './segment-format.js';

/**
 * Sparse position index of one segment: the byte offset of every `stride`-th record, so a
 * read from position P scans at most `stride - 1` records of one segment instead of the log
 * from 0. Held in memory for every segment; persisted at seal time in an `.idx` file beside
 * the segment so that opening a log does not rescan sealed segments:
 *
 *   0   8  magic "SHDWIDX1"
 *   8   4  format version (u32 LE)
 *   12  4  stride (u32 LE)
 *   16  8  first position (u64 LE)
 *   24  8  record count (u64 LE)
 *   32  8  segment size in bytes (u64 LE): a sealed segment of another size is damaged
 *   40  4  header CRC of the segment it indexes: ties the index to that exact segment
 *   44  4  entry count (u32 LE)
 *   48  8n offsets (u64 LE)
 *   ..  4  crc32c over everything before
 *
 * An index file is only an accelerator: a missing or invalid one is rebuilt by scanning the
 * segment (which verifies every record) and reported.
 */

/** Records between index entries. */
export const INDEX_STRIDE_RECORDS = 4096;
const MAGIC = Buffer.from('SHDWIDX1', 'latin1');
const INDEX_FORMAT_VERSION = 1;
const FIXED_BYTES = 48;

/** In-memory sparse index of one segment. */
export class SparseIndex {
  /** Records between entries. */
  readonly stride: number;
  private readonly offsets: number[];

  constructor(stride: number = INDEX_STRIDE_RECORDS, offsets: number[] = []) {
    assert(Number.isInteger(stride) && stride >= 1, 'index stride must be a positive integer');
    this.stride = stride;
    this.offsets = offsets;
  }

  /** Note that record `recordIndex` (0-based in its segment) starts at byte `offset`. Records must be noted in order. */
  note(recordIndex: number, offset: number): void {
    if (recordIndex % this.stride !== 0) return;
    const entry = recordIndex / this.stride;
    if (entry < this.offsets.length) {
      // Re-noting after a rollback of unwritten records: the offset must be the same.
      this.offsets[entry] = offset;
      return;
    }
    assert(entry === this.offsets.length, `index entry ${entry} noted out of order`);
    this.offsets.push(offset);
  }

  /** Drop entries for records at or after `records` (a tail cut off by recovery). */
  truncate(records: number): void {
    this.offsets.length = Math.min(this.offsets.length, Math.ceil(records / this.stride));
  }

  /** The indexed record at or before `recordIndex` and its byte offset. */
  locate(recordIndex: number): { readonly recordIndex: number; readonly offset: number } {
    const entry = Math.min(Math.floor(recordIndex / this.stride), this.offsets.length - 1);
    if (entry < 0) return { recordIndex: 0, offset: SEGMENT_HEADER_BYTES };
    return { recordIndex: entry * this.stride, offset: this.offsets[entry]! };
  }

  /** Number of entries. */
  get size(): number {
    return this.offsets.length;
  }

  /** Entry offsets, for persisting. */
  entries(): readonly number[] {
    return this.offsets;
  }
}

/** What an index file says about its segment. */
export interface IndexFileContents {
  /** First position of the segment. */
  readonly firstPosition: number;
  /** Records in the segment. */
  readonly records: number;
  /** Size of the segment file in bytes. */
  readonly segmentBytes: number;
  /** Header CRC of the segment. */
  readonly segmentHeaderCrc: number;
  /** The index. */
  readonly index: SparseIndex;
}

/** Encode an index file for a sealed segment. */
export function encodeIndexFile(contents: IndexFileContents): Buffer {
  const entries = contents.index.entries();
  const buf = Buffer.alloc(FIXED_BYTES + entries.length * 8 + 4);
  MAGIC.copy(buf, 0);
  buf.writeUInt32LE(INDEX_FORMAT_VERSION, 8);
  buf.writeUInt32LE(contents.index.stride, 12);
  writeU64(buf, contents.firstPosition, 16);
  writeU64(buf, contents.records, 24);
  writeU64(buf, contents.segmentBytes, 32);
  buf.writeUInt32LE(contents.segmentHeaderCrc, 40);
  buf.writeUInt32LE(entries.length, 44);
  for (let i = 0; i < entries.length; i++) writeU64(buf, entries[i]!, FIXED_BYTES + i * 8);
  const end = buf.length - 4;
  buf.writeUInt32LE(crc32cOf(buf.subarray(0, end)), end);
  return buf;
}

/** Decode an index file; returns a reason string when it is unusable (never throws). */
export function decodeIndexFile(buf: Buffer): IndexFileContents | string {
  if (buf.length < FIXED_BYTES + 4) return 'index file truncated';
  if (!buf.subarray(0, MAGIC.length).equals(MAGIC)) return 'index magic missing';
  const end = buf.length - 4;
  if (crc32cOf(buf.subarray(0, end)) !== readU32(buf, end)) return 'index CRC32C mismatch';
  if (readU32(buf, 8) !== INDEX_FORMAT_VERSION) return 'index format version unknown';
  const stride = readU32(buf, 12);
  const entryCount = readU32(buf, 44);
  if (stride < 1 || FIXED_BYTES + entryCount * 8 + 4 !== buf.length) return 'index size inconsistent';
  const firstPosition = readU64(buf, 16);
  const records = readU64(buf, 24);
  const segmentBytes = readU64(buf, 32);
  if ([firstPosition, records, segmentBytes].some(Number.isNaN)) return 'index fields out of range';
  if (entryCount !== Math.ceil(records / stride)) return 'index entry count does not match its record count';
  const offsets: number[] = [];
  for (let i = 0; i < entryCount; i++) {
    const offset = readU64(buf, FIXED_BYTES + i * 8);
    if (Number.isNaN(offset) || offset < SEGMENT_HEADER_BYTES || offset >= segmentBytes) {
      return `index entry ${i} out of range`;
    }
    if (i > 0 && offset <= offsets[i - 1]!) return `index entry ${i} not increasing`;
    offsets.push(offset);
  }
  return {
    firstPosition,
    records,
    segmentBytes,
    segmentHeaderCrc: readU32(buf, 40),
    index: new SparseIndex(stride, offsets),
  };
}
