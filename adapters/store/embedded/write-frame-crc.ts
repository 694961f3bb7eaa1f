import { CRC32C_TABLES } from './crc32c.js';
import { WRITE_BODY_BYTES } from './record-codec.js';

/**
 * CRC32C of a binary write frame's checked span (bytes [4, 27): the length field and the
 * body), specialised for replay, which verifies one per write record. The length field of a
 * write frame is always {@link WRITE_BODY_BYTES}, and the kind byte has few values, so the CRC
 * state after those five bytes comes from a 256-entry table; the 18 remaining bytes are two
 * slicing-by-8 rounds and two byte steps -- 18 table lookups instead of 23 in crc32cRange
 * (crc32c.ts), which gives the same value (test/adapters/store/embedded-replay.test.ts).
 */

const TABLES = CRC32C_TABLES;
const AFTER_KIND = buildAfterKind();

/** CRC state (not yet inverted) after the length field and each possible kind byte. */
function buildAfterKind(): Int32Array {
  const out = new Int32Array(256);
  const prefix = [WRITE_BODY_BYTES & 0xff, (WRITE_BODY_BYTES >>> 8) & 0xff, 0, 0];
  for (let kind = 0; kind < 256; kind++) {
    let c = -1;
    for (const byte of [...prefix, kind]) c = TABLES[(c ^ byte) & 0xff]! ^ (c >>> 8);
    out[kind] = c;
  }
  return out;
}

/** CRC32C over bytes [off + 4, off + 27) of a write frame whose length field is WRITE_BODY_BYTES. */
export function writeFrameCrc(buf: Uint8Array, off: number): number {
  const t = TABLES;
  let c = AFTER_KIND[buf[off + 8]!]!;
  // Bounded: two rounds of 8 bytes (offsets 9 and 17).
  for (let i = off + 9; i < off + 25; i += 8) {
    const a = c ^ (buf[i]! | (buf[i + 1]! << 8) | (buf[i + 2]! << 16) | (buf[i + 3]! << 24));
    const b = buf[i + 4]! | (buf[i + 5]! << 8) | (buf[i + 6]! << 16) | (buf[i + 7]! << 24);
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
  c = t[(c ^ buf[off + 25]!) & 0xff]! ^ (c >>> 8);
  c = t[(c ^ buf[off + 26]!) & 0xff]! ^ (c >>> 8);
  return (c ^ -1) >>> 0;
}
