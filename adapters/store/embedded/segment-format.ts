import { InvalidArgumentError, LogCorruptError } from '../../../domain/errors.js';
import { crc32cRange } from './crc32c.js';
import { readU32 } from './record-codec.js';

/**
 * Segment files. A log is a directory of segments named by their first position
 * (`00000000000000000000.seg`, 20 digits so names sort like positions). Each segment starts
 * with a fixed 256-byte header:
 *
 *   0   8  magic "SHDWSEG1"
 *   8   4  format version (u32 LE)
 *   12  4  header size in bytes (u32 LE, 256)
 *   16  8  first position (u64 LE)
 *   24  8  createdAt, ms since epoch (f64 LE)
 *   32  2  stream id length in UTF-8 bytes (u16 LE, at most 200)
 *   34  .. stream id, zero padded
 *   252 4  crc32c over bytes [0, 252)
 *
 * then records back to back (record-codec.ts). Format 3 (written now) ends every group-commit
 * write with a batch seal that names the durable end when the write was issued (several writes
 * may be in flight); format 2 ends them with the shorter seal of one write in flight; format 1
 * has no seals. All three are read, and a writable open starts a format-3 segment after an
 * older one (docs/log-format.md).
 */

/** Size of every segment header. */
export const SEGMENT_HEADER_BYTES = 256;
/** On-disk format version written: 3, batches end with a seal naming the durable end at issue. */
export const SEGMENT_FORMAT_VERSION = 3;
/** Batches end with a seal, one write in flight. Still read. */
export const SEAL_V2_SEGMENT_FORMAT_VERSION = 2;
/** The first format: no batch seals. Still read. */
export const LEGACY_SEGMENT_FORMAT_VERSION = 1;
/** Longest stream id, in UTF-8 bytes. */
export const MAX_STREAM_ID_BYTES = 200;
const MAGIC = Buffer.from('SHDWSEG1', 'latin1');
const CRC_OFFSET = SEGMENT_HEADER_BYTES - 4;
const NAME_DIGITS = 20;
const SEGMENT_SUFFIX = '.seg';
const INDEX_SUFFIX = '.idx';

/** What a segment header says. */
export interface SegmentHeader {
  /** Position of the segment's first record. */
  readonly firstPosition: number;
  /** Stream the segment belongs to. */
  readonly streamId: string;
  /** When the segment was created (ms since epoch). */
  readonly createdAtMs: number;
  /** CRC of the header: a sealed segment's index names it, tying the two files together. */
  readonly headerCrc: number;
  /** Format version: 3 (seals with the durable end at issue), 2 (seals) or 1 (legacy, no seals). */
  readonly formatVersion: number;
}

/** File name of the segment starting at `firstPosition`. */
export function segmentFileName(firstPosition: number): string {
  return `${String(firstPosition).padStart(NAME_DIGITS, '0')}${SEGMENT_SUFFIX}`;
}

/** File name of the sparse index of the segment starting at `firstPosition`. */
export function indexFileName(firstPosition: number): string {
  return `${String(firstPosition).padStart(NAME_DIGITS, '0')}${INDEX_SUFFIX}`;
}

/** First position encoded in a segment file name, or null when `name` is not a segment. */
export function parseSegmentFileName(name: string): number | null {
  if (name.length !== NAME_DIGITS + SEGMENT_SUFFIX.length || !name.endsWith(SEGMENT_SUFFIX)) return null;
  const digits = name.slice(0, NAME_DIGITS);
  if (!/^[0-9]+$/.test(digits)) return null;
  const value = Number(digits);
  return Number.isSafeInteger(value) ? value : null;
}

/** Check a stream id for use in a header; throws InvalidArgumentError. */
export function checkStreamId(streamId: string): void {
  if (typeof streamId !== 'string' || streamId.length === 0) {
    throw new InvalidArgumentError('streamId must be a non-empty string');
  }
  if (Buffer.byteLength(streamId, 'utf8') > MAX_STREAM_ID_BYTES) {
    throw new InvalidArgumentError(`streamId must be at most ${MAX_STREAM_ID_BYTES} UTF-8 bytes`);
  }
}

/** Write a u64 that is a safe integer, little-endian. */
export function writeU64(buf: Buffer, value: number, off: number): void {
  const lo = value % 2 ** 32;
  buf.writeUInt32LE(lo, off);
  buf.writeUInt32LE((value - lo) / 2 ** 32, off + 4);
}

/** Read a u64 little-endian; returns NaN when it is not a safe integer. */
export function readU64(buf: Uint8Array, off: number): number {
  const value = readU32(buf, off) + readU32(buf, off + 4) * 2 ** 32;
  return Number.isSafeInteger(value) ? value : Number.NaN;
}

/** Encode a segment header (`version` other than the current one only for tests of legacy logs). */
export function encodeSegmentHeader(
  streamId: string,
  firstPosition: number,
  createdAtMs: number,
  version: number = SEGMENT_FORMAT_VERSION,
): Buffer {
  checkStreamId(streamId);
  const buf = Buffer.alloc(SEGMENT_HEADER_BYTES);
  MAGIC.copy(buf, 0);
  buf.writeUInt32LE(version, 8);
  buf.writeUInt32LE(SEGMENT_HEADER_BYTES, 12);
  writeU64(buf, firstPosition, 16);
  buf.writeDoubleLE(createdAtMs, 24);
  const written = buf.write(streamId, 34, MAX_STREAM_ID_BYTES, 'utf8');
  buf.writeUInt16LE(written, 32);
  buf.writeUInt32LE(crc32cRange(buf, 0, CRC_OFFSET), CRC_OFFSET);
  return buf;
}

/**
 * Decode and verify a segment header; `where` names the file in errors. Throws LogCorruptError
 * naming the file and offset 0 when anything is wrong.
 */
export function decodeSegmentHeader(buf: Buffer, where: string): SegmentHeader {
  const fail = (why: string): never => {
    throw new LogCorruptError(`event log corrupt: segment ${where} at byte offset 0: header ${why}`);
  };
  if (buf.length < SEGMENT_HEADER_BYTES) fail(`truncated (${buf.length} of ${SEGMENT_HEADER_BYTES} bytes)`);
  const storedCrc = readU32(buf, CRC_OFFSET);
  const crc = crc32cRange(buf, 0, CRC_OFFSET);
  if (crc !== storedCrc) {
    if (!buf.subarray(0, MAGIC.length).equals(MAGIC)) fail('magic missing: not a shadowlog segment');
    fail('CRC32C mismatch');
  }
  if (!buf.subarray(0, MAGIC.length).equals(MAGIC)) fail('magic missing: not a shadowlog segment');
  const version = readU32(buf, 8);
  if (version < LEGACY_SEGMENT_FORMAT_VERSION || version > SEGMENT_FORMAT_VERSION) {
    fail(
      `has format version ${version}; this shadowlog reads versions ${LEGACY_SEGMENT_FORMAT_VERSION} to ${SEGMENT_FORMAT_VERSION}`,
    );
  }
  if (readU32(buf, 12) !== SEGMENT_HEADER_BYTES) fail('size field is wrong');
  const firstPosition = readU64(buf, 16);
  if (Number.isNaN(firstPosition)) fail('first position out of range');
  const idLength = buf.readUInt16LE(32);
  if (idLength === 0 || idLength > MAX_STREAM_ID_BYTES) fail('stream id length out of range');
  return {
    firstPosition,
    streamId: buf.toString('utf8', 34, 34 + idLength),
    createdAtMs: buf.readDoubleLE(24),
    headerCrc: storedCrc,
    formatVersion: version,
  };
}
