import {
  MAX_ERROR_MESSAGE_BYTES,
  NBD_REPLY_FLAG_DONE,
  NBD_SIMPLE_REPLY_MAGIC,
  NBD_STRUCTURED_REPLY_MAGIC,
  NbdReplyType,
  SIMPLE_REPLY_HEADER_BYTES,
  STRUCTURED_REPLY_HEADER_BYTES,
} from './nbd-constants.js';
import { clipUtf8 } from './nbd-error-mapping.js';
import type { NbdExtent } from './nbd-export.js';
import { writeUint64 } from './nbd-wire.js';

/** Simple reply header: magic, error, cookie. A successful READ's data follows it. */
export function encodeSimpleReply(cookie: bigint, errno: number): Buffer {
  const out = Buffer.allocUnsafe(SIMPLE_REPLY_HEADER_BYTES);
  out.writeUInt32BE(NBD_SIMPLE_REPLY_MAGIC, 0);
  out.writeUInt32BE(errno, 4);
  out.writeBigUInt64BE(cookie, 8);
  return out;
}

/** Structured chunk header: magic, flags, type, cookie, payload length. */
export function encodeChunkHeader(cookie: bigint, flags: number, type: number, payloadBytes: number): Buffer {
  const out = Buffer.allocUnsafe(STRUCTURED_REPLY_HEADER_BYTES);
  writeChunkHeader(out, cookie, flags, type, payloadBytes);
  return out;
}

function writeChunkHeader(
  out: Buffer,
  cookie: bigint,
  flags: number,
  type: number,
  payloadBytes: number,
): void {
  out.writeUInt32BE(NBD_STRUCTURED_REPLY_MAGIC, 0);
  out.writeUInt16BE(flags, 4);
  out.writeUInt16BE(type, 6);
  out.writeBigUInt64BE(cookie, 8);
  out.writeUInt32BE(payloadBytes, 16);
}

/** NBD_REPLY_TYPE_NONE with DONE: ends a structured reply that has nothing else to say. */
export function encodeNoneChunk(cookie: bigint): Buffer {
  return encodeChunkHeader(cookie, NBD_REPLY_FLAG_DONE, NbdReplyType.NONE, 0);
}

/**
 * Header of an NBD_REPLY_TYPE_OFFSET_DATA chunk (chunk header plus the 64-bit offset); the data is
 * written after it without copying.
 */
export function encodeOffsetDataHeader(
  cookie: bigint,
  flags: number,
  offset: number,
  dataBytes: number,
): Buffer {
  const out = Buffer.allocUnsafe(STRUCTURED_REPLY_HEADER_BYTES + 8);
  writeChunkHeader(out, cookie, flags, NbdReplyType.OFFSET_DATA, 8 + dataBytes);
  writeUint64(out, offset, STRUCTURED_REPLY_HEADER_BYTES);
  return out;
}

/** NBD_REPLY_TYPE_ERROR with DONE: error value, message length, message. */
export function encodeErrorChunk(cookie: bigint, errno: number, message: string): Buffer {
  const text = Buffer.from(clipUtf8(message, MAX_ERROR_MESSAGE_BYTES), 'utf8');
  const out = Buffer.allocUnsafe(STRUCTURED_REPLY_HEADER_BYTES + 6 + text.length);
  writeChunkHeader(out, cookie, NBD_REPLY_FLAG_DONE, NbdReplyType.ERROR, 6 + text.length);
  out.writeUInt32BE(errno, STRUCTURED_REPLY_HEADER_BYTES);
  out.writeUInt16BE(text.length, STRUCTURED_REPLY_HEADER_BYTES + 4);
  text.copy(out, STRUCTURED_REPLY_HEADER_BYTES + 6);
  return out;
}

/** NBD_REPLY_TYPE_BLOCK_STATUS: context id, then (length, flags) per extent. */
export function encodeBlockStatusChunk(
  cookie: bigint,
  flags: number,
  contextId: number,
  extents: readonly NbdExtent[],
): Buffer {
  const payloadBytes = 4 + 8 * extents.length;
  const out = Buffer.allocUnsafe(STRUCTURED_REPLY_HEADER_BYTES + payloadBytes);
  writeChunkHeader(out, cookie, flags, NbdReplyType.BLOCK_STATUS, payloadBytes);
  out.writeUInt32BE(contextId, STRUCTURED_REPLY_HEADER_BYTES);
  let position = STRUCTURED_REPLY_HEADER_BYTES + 4;
  for (const extent of extents) {
    out.writeUInt32BE(extent.length, position);
    out.writeUInt32BE(extent.flags >>> 0, position + 4);
    position += 8;
  }
  return out;
}
