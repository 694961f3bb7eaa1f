/**
 * Small byte helpers shared by the codecs. NBD sizes and offsets are 64-bit; JavaScript numbers
 * hold them exactly up to 2^53, far beyond any volume shadowlog serves, so values above that are
 * reported as `Infinity` and rejected as out of range by the callers.
 */

const TWO_POW_32 = 2 ** 32;
/** Largest high word whose value still fits a safe integer. */
const MAX_SAFE_HIGH_WORD = 2 ** 21 - 1;

/** Read an unsigned 64-bit big-endian value; `Infinity` if above 2^53 - 1. */
export function readUint64(buffer: Buffer, offset: number): number {
  const high = buffer.readUInt32BE(offset);
  if (high > MAX_SAFE_HIGH_WORD) return Number.POSITIVE_INFINITY;
  return high * TWO_POW_32 + buffer.readUInt32BE(offset + 4);
}

/** Write a non-negative safe integer as an unsigned 64-bit big-endian value. */
export function writeUint64(buffer: Buffer, value: number, offset: number): void {
  buffer.writeUInt32BE(Math.floor(value / TWO_POW_32), offset);
  buffer.writeUInt32BE(value % TWO_POW_32, offset + 4);
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Decode a protocol string: valid UTF-8, no NUL, at most `maxBytes`. Undefined when it breaks a rule,
 * so the caller can answer NBD_REP_ERR_INVALID.
 */
export function decodeProtocolString(bytes: Uint8Array, maxBytes: number): string | undefined {
  if (bytes.length > maxBytes) return undefined;
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    return undefined;
  }
  return text.includes('\0') ? undefined : text;
}
