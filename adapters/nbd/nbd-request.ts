import {
  MAX_PAYLOAD_BYTES,
  MIN_BLOCK_SIZE_BYTES,
  NBD_REQUEST_MAGIC,
  NbdCommand,
  NbdCommandFlag,
  NbdErrno,
  type NbdErrnoValue,
} from './nbd-constants.js';
import type { NbdOperation } from './nbd-error-mapping.js';
import { readUint64 } from './nbd-wire.js';

/** A transmission request header as sent by the client. */
export interface NbdRequest {
  /** Command flags (NBD_CMD_FLAG_*). */
  readonly flags: number;
  /** Command type (NBD_CMD_*). */
  readonly type: number;
  /** Opaque cookie echoed in the reply. */
  readonly cookie: bigint;
  /** Byte offset; `Infinity` when beyond 2^53 (always out of range). */
  readonly offset: number;
  /** Byte length (32-bit). */
  readonly length: number;
}

/** What validation needs to know about the connection. */
export interface RequestLimits {
  /** Advertised export size. */
  readonly sizeBytes: number;
  /** Export is read-only. */
  readonly readOnly: boolean;
  /** Structured replies were negotiated. */
  readonly structuredReplies: boolean;
  /** The client agreed to the 512-byte minimum block size. */
  readonly blockSizeNegotiated: boolean;
  /** Number of metadata contexts selected. */
  readonly metaContextCount: number;
}

/** A request refused before it reaches the backend. */
export interface RequestRejection {
  /** Error sent to the client. */
  readonly errno: NbdErrnoValue;
  /** Human-readable reason (sent in structured error chunks). */
  readonly message: string;
}

/** Parse a 28-byte request header; undefined when the magic is wrong (the stream is lost). */
export function parseRequestHeader(header: Buffer): NbdRequest | undefined {
  if (header.readUInt32BE(0) !== NBD_REQUEST_MAGIC) return undefined;
  return {
    flags: header.readUInt16BE(4),
    type: header.readUInt16BE(6),
    cookie: header.readBigUInt64BE(8),
    offset: readUint64(header, 16),
    length: header.readUInt32BE(24),
  };
}

/** Only NBD_CMD_WRITE carries a payload; for unknown commands we must assume none. */
export function hasPayload(type: number): boolean {
  return type === NbdCommand.WRITE;
}

/** The operation a command type maps to for error mapping; undefined for DISC and unknown types. */
export function operationOf(type: number): NbdOperation | undefined {
  switch (type) {
    case NbdCommand.READ:
      return 'read';
    case NbdCommand.WRITE:
      return 'write';
    case NbdCommand.FLUSH:
      return 'flush';
    case NbdCommand.TRIM:
      return 'trim';
    case NbdCommand.CACHE:
      return 'cache';
    case NbdCommand.WRITE_ZEROES:
      return 'write-zeroes';
    case NbdCommand.BLOCK_STATUS:
      return 'block-status';
    default:
      return undefined;
  }
}

/**
 * Flags valid for a command. FUA is accepted on every command because we advertise SEND_FUA and
 * the spec says the server must then accept it everywhere (ignoring it where nothing is written).
 */
function allowedFlags(type: number, structuredReplies: boolean): number {
  const F = NbdCommandFlag;
  switch (type) {
    case NbdCommand.READ:
      return structuredReplies ? F.FUA | F.DF : F.FUA;
    case NbdCommand.WRITE_ZEROES:
      return F.FUA | F.NO_HOLE | F.FAST_ZERO;
    case NbdCommand.BLOCK_STATUS:
      return F.FUA | F.REQ_ONE;
    default:
      return F.FUA;
  }
}

function reject(errno: NbdErrnoValue, message: string): RequestRejection {
  return { errno, message };
}

/**
 * Check a request against the spec and the negotiated session, in the order the spec's error list
 * implies: unknown command/flag → EINVAL; writes on a read-only export → EPERM; payload too large →
 * EINVAL; past the end → ENOSPC for writes and write-zeroes, EINVAL otherwise; unaligned requests
 * from a client that agreed to the block size → EINVAL; FAST_ZERO → ENOTSUP (we cannot promise a
 * zero is faster than a write, so we fail fast as the spec asks). Undefined means "execute it".
 */
export function validateRequest(request: NbdRequest, limits: RequestLimits): RequestRejection | undefined {
  const { type, flags, offset, length } = request;
  const operation = operationOf(type);
  if (operation === undefined) return reject(NbdErrno.EINVAL, `unknown command ${type}`);
  const unknownFlags = flags & ~allowedFlags(type, limits.structuredReplies);
  if (unknownFlags !== 0) {
    return reject(NbdErrno.EINVAL, `flags 0x${unknownFlags.toString(16)} are not valid for command ${type}`);
  }
  if (type === NbdCommand.CACHE) {
    // Not advertised (no NBD_FLAG_SEND_CACHE): answered as an unknown command, as nbdkit does.
    return reject(
      NbdErrno.EINVAL,
      'NBD_CMD_CACHE is not supported by this server (can_cache is not advertised)',
    );
  }
  if (type === NbdCommand.FLUSH) {
    return offset === 0 && length === 0
      ? undefined
      : reject(NbdErrno.EINVAL, 'flush offset and length must be 0');
  }
  const mutating = type === NbdCommand.WRITE || type === NbdCommand.TRIM || type === NbdCommand.WRITE_ZEROES;
  if (mutating && limits.readOnly) return reject(NbdErrno.EPERM, 'the export is read-only');
  if ((type === NbdCommand.READ || type === NbdCommand.WRITE) && length > MAX_PAYLOAD_BYTES) {
    return reject(
      NbdErrno.EINVAL,
      `length ${length} exceeds the maximum payload of ${MAX_PAYLOAD_BYTES} bytes`,
    );
  }
  if (offset + length > limits.sizeBytes) {
    const errno =
      type === NbdCommand.WRITE || type === NbdCommand.WRITE_ZEROES ? NbdErrno.ENOSPC : NbdErrno.EINVAL;
    return reject(
      errno,
      `range ${offset}+${length} is past the end of the export (${limits.sizeBytes} bytes)`,
    );
  }
  if (limits.blockSizeNegotiated && !isAligned(offset, length, limits.sizeBytes)) {
    return reject(
      NbdErrno.EINVAL,
      `range ${offset}+${length} is not aligned to ${MIN_BLOCK_SIZE_BYTES} bytes`,
    );
  }
  if (type === NbdCommand.BLOCK_STATUS) {
    if (!limits.structuredReplies || limits.metaContextCount === 0) {
      return reject(NbdErrno.EINVAL, 'no metadata context was selected');
    }
    if (length === 0) return reject(NbdErrno.EINVAL, 'block status of 0 bytes');
  }
  if (type === NbdCommand.WRITE_ZEROES && (flags & NbdCommandFlag.FAST_ZERO) !== 0) {
    return reject(NbdErrno.ENOTSUP, 'fast zero is not supported: zeroing may be as slow as writing');
  }
  return undefined;
}

/** Aligned to the minimum block, except that a range may end at an unaligned export end. */
function isAligned(offset: number, length: number, sizeBytes: number): boolean {
  if (offset % MIN_BLOCK_SIZE_BYTES !== 0) return false;
  return length % MIN_BLOCK_SIZE_BYTES === 0 || offset + length === sizeBytes;
}
