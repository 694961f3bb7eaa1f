import { InvalidArgumentError } from '../../../domain/errors.js';
import {
  EVENT_SCHEMA_VERSION,
  isWriteEvent,
  parseEvent,
  type ShadowEvent,
  type WriteEventType,
} from '../../../domain/events.js';
import { crc32cRange } from './crc32c.js';

/**
 * Record framing of the embedded log. Every record is
 *
 *   offset 0  u32 LE  crc32c over bytes [4, 8 + bodyLength): the length field and the body
 *   offset 4  u32 LE  bodyLength
 *   offset 8  u8      kind: low 7 bits the record kind, bit 7 (COMMIT_FLAG) set on the last
 *                     record of each append -- recovery cuts a tail back to the last commit
 *                     flag, so a multi-event append is all-or-nothing across a crash
 *   offset 9  f64 LE  recordedAt, ms since the Unix epoch
 *   offset 17 ...     payload
 *
 * Write events (BlocksWritten, BlocksTrimmed, ZeroesWritten) with lbn < 2^48 have a fixed
 * binary payload -- lbn u48 LE, count u32 LE -- so a write record is 27 bytes on disk,
 * framing included. Every other event (and a write event with a larger lbn) is UTF-8 JSON,
 * validated with `parseEvent` when read back. Positions are not stored: a record's position is
 * its segment's first position plus its index in the segment.
 *
 * Format-2 segments end every group-commit write with a batch seal: a frame of its own kind
 * (KIND_BATCH_SEAL) that is not a record and takes no position (batch-seal.ts,
 * docs/log-format.md).
 */

/** Bytes of the frame header (crc + length). */
export const RECORD_HEADER_BYTES = 8;
/** Bytes of the body before the payload (kind + recordedAt). */
export const BODY_PREFIX_BYTES = 9;
/** Body bytes of a binary write record. */
export const WRITE_BODY_BYTES = BODY_PREFIX_BYTES + 6 + 4;
/** Total on-disk bytes of a binary write record. */
export const WRITE_RECORD_BYTES = RECORD_HEADER_BYTES + WRITE_BODY_BYTES;
/** Largest body accepted: bounds every read buffer and the tail-recovery search. */
export const MAX_BODY_BYTES = 2 * 1024 * 1024;
/** Largest whole record. */
export const MAX_RECORD_BYTES = RECORD_HEADER_BYTES + MAX_BODY_BYTES;

/** Smallest body of any record (a JSON `{}`). */
export const MIN_JSON_BODY_BYTES = BODY_PREFIX_BYTES + 2;

/** Bit 7 of the kind byte: this record ends an append. */
export const COMMIT_FLAG = 0x80;
/** Mask of the kind bits. */
export const KIND_MASK = 0x7f;
/** Record kinds. */
export const KIND_BLOCKS_WRITTEN = 1;
export const KIND_BLOCKS_TRIMMED = 2;
export const KIND_ZEROES_WRITTEN = 3;
export const KIND_JSON = 16;
/** Kind of the batch seal frame that ends every group-commit write (formats 2 and 3); not a record. */
export const KIND_BATCH_SEAL = 32;
/** Body bytes of a format-2 batch seal: prefix, first position u64, record count u32, batch bytes u32. */
export const SEAL_V2_BODY_BYTES = BODY_PREFIX_BYTES + 8 + 4 + 4;
/** Body bytes of a format-3 batch seal (written now): the format-2 fields, then the durable end at issue u64. */
export const SEAL_BODY_BYTES = SEAL_V2_BODY_BYTES + 8;
/** Total on-disk bytes of a format-3 batch seal (the one the writer writes). */
export const SEAL_FRAME_BYTES = RECORD_HEADER_BYTES + SEAL_BODY_BYTES;

/** Write event type by record kind (index 1..3). */
export const WRITE_TYPE_BY_KIND: readonly (WriteEventType | undefined)[] = [
  undefined,
  'BlocksWritten',
  'BlocksTrimmed',
  'ZeroesWritten',
];

/** {@link checkFrame} results: a frame that does not fit in the bytes available. */
export const FRAME_PARTIAL = -1;
/** {@link checkFrame} results: a length out of range for the record kind. */
export const FRAME_BAD_LENGTH = -2;
/** {@link checkFrame} results: the CRC does not match. */
export const FRAME_BAD_CRC = -3;
/** {@link checkFrame} results: an unknown record kind. */
export const FRAME_BAD_KIND = -4;
/** Scanner results: a CRC-valid batch seal that does not describe the records before it. */
export const FRAME_SEAL_MISMATCH = -5;

const TWO_POW_32 = 2 ** 32;
const MAX_LBN_BINARY = 2 ** 48;
const MAX_COUNT = 2 ** 31;

/** Why a frame check failed, in words for error messages. */
export function frameProblem(code: number): string {
  switch (code) {
    case FRAME_PARTIAL:
      return 'record runs past the end of the data';
    case FRAME_BAD_LENGTH:
      return 'record length out of range';
    case FRAME_BAD_CRC:
      return 'CRC32C mismatch';
    case FRAME_BAD_KIND:
      return 'unknown record kind';
    case FRAME_SEAL_MISMATCH:
      return 'batch seal does not match the records before it';
    default:
      return `frame check code ${code}`;
  }
}

/** Unsigned 32-bit little-endian read without bounds checks (callers checked the range). */
export function readU32(buf: Uint8Array, off: number): number {
  return (buf[off]! | (buf[off + 1]! << 8) | (buf[off + 2]! << 16)) + buf[off + 3]! * 16777216;
}

/**
 * Check the frame at `off`, using only bytes before `end`. Returns the frame's total length
 * when it is whole and its CRC verifies, else a negative FRAME_* code. Plain loop, no allocation.
 */
export function checkFrame(buf: Uint8Array, off: number, end: number): number {
  if (off + RECORD_HEADER_BYTES > end) return FRAME_PARTIAL;
  const bodyLength = readU32(buf, off + 4);
  if (bodyLength < BODY_PREFIX_BYTES || bodyLength > MAX_BODY_BYTES) return FRAME_BAD_LENGTH;
  if (off + RECORD_HEADER_BYTES + bodyLength > end) return FRAME_PARTIAL;
  const kind = buf[off + 8]! & KIND_MASK;
  if (kind >= KIND_BLOCKS_WRITTEN && kind <= KIND_ZEROES_WRITTEN) {
    if (bodyLength !== WRITE_BODY_BYTES) return FRAME_BAD_LENGTH;
  } else if (kind === KIND_JSON) {
    if (bodyLength < MIN_JSON_BODY_BYTES) return FRAME_BAD_LENGTH;
  } else if (kind === KIND_BATCH_SEAL) {
    // Either seal form checks here; the scanner holds each segment to its own (segment-scanner.ts).
    if (bodyLength !== SEAL_BODY_BYTES && bodyLength !== SEAL_V2_BODY_BYTES) return FRAME_BAD_LENGTH;
  } else {
    // A CRC-valid record of unknown kind could come from a newer format; the CRC check
    // below tells the two apart for the error message, and both are refused.
    const crc = crc32cRange(buf, off + 4, off + RECORD_HEADER_BYTES + bodyLength);
    return crc === readU32(buf, off) ? FRAME_BAD_KIND : FRAME_BAD_CRC;
  }
  const crc = crc32cRange(buf, off + 4, off + RECORD_HEADER_BYTES + bodyLength);
  if (crc !== readU32(buf, off)) return FRAME_BAD_CRC;
  return RECORD_HEADER_BYTES + bodyLength;
}

/** Record kind (without the commit flag) of the frame at `off`. */
export function recordKind(buf: Uint8Array, off: number): number {
  return buf[off + 8]! & KIND_MASK;
}

/** True when the frame at `off` ends its append. */
export function isCommitRecord(buf: Uint8Array, off: number): boolean {
  return (buf[off + 8]! & COMMIT_FLAG) !== 0;
}

/** recordedAt of the frame at `off`. */
export function recordedAtOf(buf: Buffer, off: number): number {
  return buf.readDoubleLE(off + 9);
}

/** lbn of the binary write frame at `off`. */
export function writeLbnOf(buf: Uint8Array, off: number): number {
  return readU32(buf, off + 17) + (buf[off + 21]! | (buf[off + 22]! << 8)) * TWO_POW_32;
}

/** count of the binary write frame at `off`. */
export function writeCountOf(buf: Uint8Array, off: number): number {
  return readU32(buf, off + 23);
}

/**
 * Decode the event of a checked frame. JSON payloads are validated with `parseEvent`
 * (throws EventInvalidError, or SyntaxError for malformed JSON; the reader turns both into
 * LogCorruptError naming segment and offset).
 */
export function decodeEvent(buf: Buffer, off: number, frameBytes: number): ShadowEvent {
  const kind = buf[off + 8]! & KIND_MASK;
  const type = WRITE_TYPE_BY_KIND[kind];
  if (type !== undefined) {
    return { type, v: EVENT_SCHEMA_VERSION, lbn: writeLbnOf(buf, off), count: writeCountOf(buf, off) };
  }
  const text = buf.toString('utf8', off + RECORD_HEADER_BYTES + BODY_PREFIX_BYTES, off + frameBytes);
  return parseEvent(JSON.parse(text));
}

/** One append, checked and measured, ready to be encoded by the writer. */
export interface PreparedAppend {
  /** The events, as given (write events) or as validated (others). */
  readonly events: readonly ShadowEvent[];
  /** JSON payload per event, undefined for binary write records; null when every event is binary. */
  readonly json: readonly (Buffer | undefined)[] | null;
  /** Encoded size in bytes, framing included. */
  readonly sizeBytes: number;
}

function isBinaryWrite(event: ShadowEvent): boolean {
  if (typeof event !== 'object' || event === null || !isWriteEvent(event)) return false;
  const { lbn, count } = event;
  return (
    event.v === EVENT_SCHEMA_VERSION &&
    Number.isInteger(lbn) &&
    lbn >= 0 &&
    lbn < MAX_LBN_BINARY &&
    Number.isInteger(count) &&
    count >= 1 &&
    count <= MAX_COUNT
  );
}

/**
 * Check and measure an append. Write events get a cheap range check (the hot path); every
 * other event is validated with its schema so that an unreadable event never reaches the log
 * (a log that fails to read back would be a poisoned log). Throws EventInvalidError for an
 * invalid event and InvalidArgumentError for an append larger than `maxAppendBytes`.
 */
export function prepareAppend(events: readonly ShadowEvent[], maxAppendBytes: number): PreparedAppend {
  if (!Array.isArray(events) || events.length === 0) {
    throw new InvalidArgumentError('append needs at least one event');
  }
  let json: (Buffer | undefined)[] | null = null;
  let out: ShadowEvent[] | null = null;
  let sizeBytes = 0;
  for (let i = 0; i < events.length; i++) {
    const event = events[i]!;
    if (isBinaryWrite(event)) {
      sizeBytes += WRITE_RECORD_BYTES;
      continue;
    }
    const parsed = parseEvent(event);
    const payload = Buffer.from(JSON.stringify(parsed), 'utf8');
    if (BODY_PREFIX_BYTES + payload.length > MAX_BODY_BYTES) {
      throw new InvalidArgumentError(
        `event ${i} (${parsed.type}) encodes to ${payload.length} bytes; the most a record holds is ${MAX_BODY_BYTES - BODY_PREFIX_BYTES}`,
      );
    }
    json ??= new Array<Buffer | undefined>(events.length);
    out ??= events.slice();
    json[i] = payload;
    out[i] = parsed;
    sizeBytes += RECORD_HEADER_BYTES + BODY_PREFIX_BYTES + payload.length;
  }
  if (sizeBytes > maxAppendBytes) {
    throw new InvalidArgumentError(
      `append of ${events.length} events encodes to ${sizeBytes} bytes, more than the ${maxAppendBytes} bytes one append may hold; split it`,
    );
  }
  return { events: out ?? events, json, sizeBytes };
}

/**
 * Encode event `i` of a prepared append at `off` in `target`; returns the offset after it.
 * `commit` sets the commit flag (last record of its append).
 */
export function encodeRecord(
  target: Buffer,
  off: number,
  prepared: PreparedAppend,
  i: number,
  recordedAt: number,
  commit: boolean,
): number {
  const payload = prepared.json?.[i];
  const flag = commit ? COMMIT_FLAG : 0;
  let bodyLength: number;
  if (payload === undefined) {
    const event = prepared.events[i] as { type: WriteEventType; lbn: number; count: number };
    const kind =
      event.type === 'BlocksWritten'
        ? KIND_BLOCKS_WRITTEN
        : event.type === 'BlocksTrimmed'
          ? KIND_BLOCKS_TRIMMED
          : KIND_ZEROES_WRITTEN;
    bodyLength = WRITE_BODY_BYTES;
    target[off + 8] = kind | flag;
    const lbn = event.lbn;
    const lo = lbn % TWO_POW_32;
    const hi = (lbn - lo) / TWO_POW_32;
    target.writeUInt32LE(lo, off + 17);
    target.writeUInt16LE(hi, off + 21);
    target.writeUInt32LE(event.count, off + 23);
  } else {
    bodyLength = BODY_PREFIX_BYTES + payload.length;
    target[off + 8] = KIND_JSON | flag;
    payload.copy(target, off + RECORD_HEADER_BYTES + BODY_PREFIX_BYTES);
  }
  target.writeUInt32LE(bodyLength, off + 4);
  target.writeDoubleLE(recordedAt, off + 9);
  const end = off + RECORD_HEADER_BYTES + bodyLength;
  target.writeUInt32LE(crc32cRange(target, off + 4, end), off);
  return end;
}
