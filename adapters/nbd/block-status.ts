import { IoError } from '../../domain/errors.js';
import type { NbdExtent } from './nbd-export.js';

/** Largest value a 32-bit extent field can carry. */
const MAX_UINT32 = 0xffffffff;

/** A mutable extent while merging. */
interface MutableExtent {
  length: number;
  flags: number;
}

/**
 * Turn a backend's extent list into a valid NBD_REPLY_TYPE_BLOCK_STATUS descriptor list.
 *
 * The backend answered for a block-aligned range; `skipBytes` (< 512) drops the part before the
 * client's unaligned offset. The result starts exactly at the client's offset, never extends past
 * `wantBytes` (the spec allows it, but clipping is always valid and keeps lengths within 32 bits),
 * merges neighbours with equal flags (the spec: SHOULD use different status values between
 * consecutive descriptors), and holds at most `maxExtents` descriptors (one with REQ_ONE).
 * An invalid backend extent (non-positive length, flags outside 32 bits) throws an IoError: we
 * cannot vouch for the rest of the list.
 */
export function normalizeExtents(
  raw: ReadonlyArray<NbdExtent>,
  skipBytes: number,
  wantBytes: number,
  maxExtents: number,
): NbdExtent[] {
  const out: MutableExtent[] = [];
  let skip = skipBytes;
  let covered = 0;
  // Bounded by the backend's list; we also stop as soon as the range is covered or the cap is hit.
  for (const extent of raw) {
    const { length, flags } = extent;
    if (!Number.isSafeInteger(length) || length <= 0) {
      throw new IoError(`backend returned an extent of invalid length ${String(length)}`);
    }
    if (!Number.isInteger(flags) || flags < 0 || flags > MAX_UINT32) {
      throw new IoError(`backend returned invalid extent flags ${String(flags)}`);
    }
    let usable = length;
    if (skip > 0) {
      const skipped = Math.min(skip, usable);
      skip -= skipped;
      usable -= skipped;
      if (usable === 0) continue;
    }
    usable = Math.min(usable, wantBytes - covered);
    const last = out[out.length - 1];
    if (last && last.flags === flags) {
      last.length += usable;
    } else {
      if (out.length >= maxExtents) break;
      out.push({ length: usable, flags });
    }
    covered += usable;
    if (covered >= wantBytes) break;
  }
  return out;
}
