import { IoError } from '../../domain/errors.js';
import { mayHoldData, type WrittenChunks } from '../../projections/written-chunks.js';
import { NBD_STATE_HOLE, NBD_STATE_ZERO } from './nbd-constants.js';
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

/**
 * `base:allocation` extents for `[offset, end)` from the written-chunks projection: chunks never
 * written since a fresh create, or trimmed or zeroed whole since, are HOLE|ZERO (every member
 * reads zeroes there and image files hold a hole: trims punch one, adapters/devices/hole-punch.ts);
 * the rest is data. When the projection cannot vouch (assume-clean, copied, an old log) or is
 * absent, everything is data, as before. At most `maxExtents` extents, which the server clips.
 */
export function allocationExtents(
  written: WrittenChunks | undefined,
  offset: number,
  end: number,
  maxExtents: number,
): NbdExtent[] {
  if (end <= offset) return [];
  if (written === undefined || !written.vouches) return [{ length: end - offset, flags: 0 }];
  const chunkBytes = written.chunkBlocks * 512;
  const extents: NbdExtent[] = [];
  let at = offset;
  // Bounded by maxExtents and by the request length.
  while (at < end && extents.length < maxExtents) {
    const chunk = Math.floor(at / chunkBytes);
    const data = mayHoldData(written, chunk);
    let next = chunk + 1;
    while (next * chunkBytes < end && mayHoldData(written, next) === data) next++;
    const stop = Math.min(end, next * chunkBytes);
    extents.push({ length: stop - at, flags: data ? 0 : NBD_STATE_HOLE | NBD_STATE_ZERO });
    at = stop;
  }
  return extents;
}
