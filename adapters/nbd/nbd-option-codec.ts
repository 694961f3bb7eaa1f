import {
  EXPORT_NAME_PADDING_BYTES,
  MAX_META_CONTEXT_QUERIES,
  MAX_STRING_BYTES,
  NBD_OPTION_REPLY_MAGIC,
  NbdInfo,
} from './nbd-constants.js';
import { decodeProtocolString, writeUint64 } from './nbd-wire.js';

/** Parsed data of NBD_OPT_INFO / NBD_OPT_GO. */
export interface InfoRequest {
  /** Requested export name ('' = default export). */
  readonly exportName: string;
  /** NBD_INFO_* types the client asked for. */
  readonly infoTypes: readonly number[];
}

/** Parsed data of NBD_OPT_LIST_META_CONTEXT / NBD_OPT_SET_META_CONTEXT. */
export interface MetaContextRequest {
  /** Export the contexts are for. */
  readonly exportName: string;
  /** Query strings, each `namespace:leaf`. */
  readonly queries: readonly string[];
}

/** Why option data could not be parsed: `invalid` → NBD_REP_ERR_INVALID, `too-big` → NBD_REP_ERR_TOO_BIG. */
export interface OptionParseError {
  readonly error: 'invalid' | 'too-big';
  /** Human-readable reason sent to the client. */
  readonly message: string;
}

function invalid(message: string): OptionParseError {
  return { error: 'invalid', message };
}

/** Type guard separating a parse failure from a parsed value. */
export function isOptionParseError(value: object): value is OptionParseError {
  return 'error' in value;
}

/** Parse NBD_OPT_INFO / NBD_OPT_GO data: u32 name length, name, u16 count, count × u16 info types. */
export function parseInfoRequest(data: Buffer): InfoRequest | OptionParseError {
  if (data.length < 6) return invalid(`option data is ${data.length} bytes; at least 6 are required`);
  const nameLength = data.readUInt32BE(0);
  if (nameLength > data.length - 6)
    return invalid(`export name length ${nameLength} exceeds the option data`);
  const exportName = decodeProtocolString(data.subarray(4, 4 + nameLength), MAX_STRING_BYTES);
  if (exportName === undefined) return invalid('export name is not a valid NBD string');
  const count = data.readUInt16BE(4 + nameLength);
  const listBytes = data.length - 6 - nameLength;
  if (listBytes !== count * 2) {
    return invalid(`${count} information requests need ${count * 2} bytes but ${listBytes} were sent`);
  }
  const infoTypes: number[] = [];
  for (let i = 0; i < count; i++) infoTypes.push(data.readUInt16BE(6 + nameLength + i * 2));
  return { exportName, infoTypes };
}

/** Parse meta context option data: u32 name length, name, u32 query count, queries (u32 length, string). */
export function parseMetaContextRequest(data: Buffer): MetaContextRequest | OptionParseError {
  if (data.length < 8) return invalid(`option data is ${data.length} bytes; at least 8 are required`);
  const nameLength = data.readUInt32BE(0);
  if (nameLength > data.length - 8)
    return invalid(`export name length ${nameLength} exceeds the option data`);
  const exportName = decodeProtocolString(data.subarray(4, 4 + nameLength), MAX_STRING_BYTES);
  if (exportName === undefined) return invalid('export name is not a valid NBD string');
  let position = 4 + nameLength;
  const count = data.readUInt32BE(position);
  position += 4;
  // Each query takes at least its 4-byte length: a count the data cannot hold is a syntax error.
  if (count * 4 > data.length - position) return invalid(`${count} queries do not fit in the option data`);
  if (count > MAX_META_CONTEXT_QUERIES) {
    return {
      error: 'too-big',
      message: `${count} queries exceed this server's limit of ${MAX_META_CONTEXT_QUERIES}`,
    };
  }
  const queries: string[] = [];
  for (let i = 0; i < count; i++) {
    if (position + 4 > data.length) return invalid(`query ${i} is truncated`);
    const queryLength = data.readUInt32BE(position);
    position += 4;
    if (queryLength > data.length - position)
      return invalid(`query ${i} length ${queryLength} exceeds the option data`);
    const query = decodeProtocolString(data.subarray(position, position + queryLength), MAX_STRING_BYTES);
    if (query === undefined) return invalid(`query ${i} is not a valid NBD string`);
    position += queryLength;
    queries.push(query);
  }
  if (position !== data.length) return invalid(`${data.length - position} trailing bytes after the queries`);
  return { exportName, queries };
}

/** Option reply: magic, option, reply type, length, data. */
export function encodeOptionReply(option: number, replyType: number, data: Buffer = Buffer.alloc(0)): Buffer {
  const out = Buffer.allocUnsafe(20 + data.length);
  out.writeBigUInt64BE(NBD_OPTION_REPLY_MAGIC, 0);
  out.writeUInt32BE(option >>> 0, 8);
  out.writeUInt32BE(replyType >>> 0, 12);
  out.writeUInt32BE(data.length, 16);
  data.copy(out, 20);
  return out;
}

/** NBD_REP_SERVER data: u32 name length, name, then the description for humans. */
export function encodeServerEntry(name: string, description: string): Buffer {
  const nameBytes = Buffer.from(name, 'utf8');
  const descriptionBytes = Buffer.from(description, 'utf8');
  const out = Buffer.allocUnsafe(4 + nameBytes.length + descriptionBytes.length);
  out.writeUInt32BE(nameBytes.length, 0);
  nameBytes.copy(out, 4);
  descriptionBytes.copy(out, 4 + nameBytes.length);
  return out;
}

/** NBD_INFO_EXPORT: u16 type, u64 size, u16 transmission flags. */
export function encodeInfoExport(sizeBytes: number, transmissionFlags: number): Buffer {
  const out = Buffer.allocUnsafe(12);
  out.writeUInt16BE(NbdInfo.EXPORT, 0);
  writeUint64(out, sizeBytes, 2);
  out.writeUInt16BE(transmissionFlags, 10);
  return out;
}

/** NBD_INFO_NAME or NBD_INFO_DESCRIPTION: u16 type, string. */
export function encodeInfoString(infoType: number, text: string): Buffer {
  const textBytes = Buffer.from(text, 'utf8');
  const out = Buffer.allocUnsafe(2 + textBytes.length);
  out.writeUInt16BE(infoType, 0);
  textBytes.copy(out, 2);
  return out;
}

/** NBD_INFO_BLOCK_SIZE: u16 type, u32 minimum, u32 preferred, u32 maximum payload. */
export function encodeInfoBlockSize(
  minimumBytes: number,
  preferredBytes: number,
  maximumBytes: number,
): Buffer {
  const out = Buffer.allocUnsafe(14);
  out.writeUInt16BE(NbdInfo.BLOCK_SIZE, 0);
  out.writeUInt32BE(minimumBytes, 2);
  out.writeUInt32BE(preferredBytes, 6);
  out.writeUInt32BE(maximumBytes, 10);
  return out;
}

/** NBD_REP_META_CONTEXT data: u32 context id, name. */
export function encodeMetaContext(contextId: number, name: string): Buffer {
  const nameBytes = Buffer.from(name, 'utf8');
  const out = Buffer.allocUnsafe(4 + nameBytes.length);
  out.writeUInt32BE(contextId, 0);
  nameBytes.copy(out, 4);
  return out;
}

/** The reply to NBD_OPT_EXPORT_NAME: u64 size, u16 flags, 124 zero bytes unless NO_ZEROES was agreed. */
export function encodeExportNameReply(
  sizeBytes: number,
  transmissionFlags: number,
  noZeroes: boolean,
): Buffer {
  const out = Buffer.alloc(noZeroes ? 10 : 10 + EXPORT_NAME_PADDING_BYTES);
  writeUint64(out, sizeBytes, 0);
  out.writeUInt16BE(transmissionFlags, 8);
  return out;
}
