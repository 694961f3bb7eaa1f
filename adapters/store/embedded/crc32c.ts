import { crc32c as nativeCrc32c } from '@node-rs/crc32';

/**
 * CRC32C (Castagnoli) over a byte range. Small ranges -- every write record -- are computed in
 * JavaScript with slicing-by-8 tables: a native call costs ~140 ns of N-API overhead plus a
 * `subarray` allocation, the JS loop ~27 ns for a 23-byte span, and replay verifies every
 * record's CRC. Large ranges go to the native (SSE4.2) implementation. Both give identical
 * results; a unit test checks it.
 */

/** Ranges at least this long use the native implementation. */
const NATIVE_THRESHOLD_BYTES = 256;
const POLYNOMIAL_REFLECTED = 0x82f63b78;

/**
 * Slicing-by-8 tables: table k (entries k*256..k*256+255) advances a byte through k+1 zero
 * bytes. Shared with the replay's write-frame CRC (write-frame-crc.ts).
 */
export const CRC32C_TABLES = buildTables();
const TABLES = CRC32C_TABLES;

function buildTables(): Int32Array {
  const tables = new Int32Array(256 * 8);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLYNOMIAL_REFLECTED : c >>> 1;
    tables[n] = c;
  }
  for (let n = 0; n < 256; n++) {
    let c = tables[n]!;
    for (let k = 1; k < 8; k++) {
      c = tables[c & 0xff]! ^ (c >>> 8);
      tables[k * 256 + n] = c;
    }
  }
  return tables;
}

/** CRC32C of `bytes[start, end)`, as an unsigned 32-bit integer. */
export function crc32cRange(bytes: Uint8Array, start: number, end: number): number {
  if (end - start >= NATIVE_THRESHOLD_BYTES) return nativeCrc32c(bytes.subarray(start, end));
  const t = TABLES;
  let c = -1;
  let i = start;
  // Plain loop over the buffer: this runs once per record on replay.
  for (; i + 8 <= end; i += 8) {
    const a = c ^ (bytes[i]! | (bytes[i + 1]! << 8) | (bytes[i + 2]! << 16) | (bytes[i + 3]! << 24));
    const b = bytes[i + 4]! | (bytes[i + 5]! << 8) | (bytes[i + 6]! << 16) | (bytes[i + 7]! << 24);
    c =
      t[1792 + (a & 0xff)]! ^
      t[1536 + ((a >>> 8) & 0xff)]! ^
      t[1280 + ((a >>> 16) & 0xff)]! ^
      t[1024 + (a >>> 24)]! ^
      t[768 + (b & 0xff)]! ^
      t[512 + ((b >>> 8) & 0xff)]! ^
      t[256 + ((b >>> 16) & 0xff)]! ^
      t[b >>> 24]!;
  }
  for (; i < end; i++) c = t[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ -1) >>> 0;
}

/** CRC32C of a whole buffer (native); `previous` continues the CRC of bytes that came before. */
export function crc32cOf(bytes: Uint8Array, previous?: number): number {
  return nativeCrc32c(bytes, previous);
}
