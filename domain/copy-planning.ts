import { CommandRejectedError } from './errors.js';
import type { CopyKind, Fingerprint, MountPolicy } from './events.js';
import { fingerprintDifference } from './fingerprint-comparison.js';
import { chunkRunBlocks, type Geometry, volumeBytes } from './geometry.js';
import type { MemberState } from './shadow-set-state.js';

/** The copy decision for a returning member, with the reason an operator reads in `explain`. */
export interface CopyPlan {
  /** Minicopy (marked chunks only) or full copy. */
  readonly kind: CopyKind;
  /** Why, in words: which bitmap, how full, or why it could not be used. */
  readonly reason: string;
  /** Chunks to copy. */
  readonly chunks: number;
  /** Bytes to copy (the last chunk of the volume clipped). */
  readonly bytes: number;
}

/**
 * Why the member's bitmap cannot be used for a minicopy, or null when it can. The return
 * fingerprint is the member as found now; it must match the one taken when it left.
 */
export function bitmapUnusableReason(
  member: MemberState,
  returnFingerprint: Fingerprint | null,
): string | null {
  if (member.bitmap === null) return member.noBitmapReason ?? 'no bitmap';
  const before = member.away?.fingerprint ?? null;
  if (before === null) return 'no fingerprint was taken when the member left';
  if (returnFingerprint === null) return 'the member could not be fingerprinted on return';
  const difference = fingerprintDifference(before, returnFingerprint);
  return difference === null ? null : `member changed while away: ${difference}`;
}

/** Bytes covered by the marked chunks of a bitmap, the last chunk of the volume clipped. */
export function markedBytes(member: MemberState, geometry: Geometry): number {
  let blocks = 0;
  if (member.bitmap) {
    for (const run of member.bitmap.chunks.runs()) blocks += chunkRunBlocks(geometry, run.first, run.count);
  }
  return blocks * geometry.blockSize;
}

/**
 * Decide minicopy or full copy for a returning member (OpenVMS MOUNT/POLICY):
 * `minicopy` needs a usable bitmap and is refused without one; `minicopy-optional` falls back
 * to a full copy; `full` always copies everything. A member owed the initial copy at creation
 * gets a full copy whose reason says so.
 */
export function planCopy(
  member: MemberState,
  geometry: Geometry,
  policy: MountPolicy,
  returnFingerprint: Fingerprint | null,
): CopyPlan {
  const unusable = bitmapUnusableReason(member, returnFingerprint);
  const full = (reason: string): CopyPlan => ({
    kind: 'full',
    reason,
    chunks: geometry.chunks,
    bytes: volumeBytes(geometry),
  });
  const initialFrom = member.mount?.initialCopyFrom;
  if (initialFrom !== undefined) return full(`initial copy: ${member.id} may differ from ${initialFrom}`);
  if (policy === 'full') {
    const ignored =
      unusable === null && member.bitmap
        ? `; bitmap since position ${member.bitmap.sincePosition} with ${formatCount(member.bitmap.chunks.count())} chunks not used`
        : '';
    return full(`full copy requested (policy full)${ignored}`);
  }
  if (unusable !== null) {
    if (policy === 'minicopy') {
      throw new CommandRejectedError(
        `mount of ${member.id} with policy minicopy refused: ${unusable}; use --policy minicopy-optional or --policy full for a full copy`,
      );
    }
    return full(`${unusable}; full copy`);
  }
  const bitmap = member.bitmap!;
  const marked = bitmap.chunks.count();
  const percent = geometry.chunks === 0 ? 0 : (marked / geometry.chunks) * 100;
  return {
    kind: 'mini',
    reason: `bitmap since position ${bitmap.sincePosition}: ${formatCount(marked)} of ${formatCount(geometry.chunks)} chunks marked (${formatPercent(percent)})`,
    chunks: marked,
    bytes: markedBytes(member, geometry),
  };
}

/** 16512 → "16,512": reasons are read by people. */
export function formatCount(n: number): string {
  return n.toLocaleString('en-US');
}

/** A percentage with one decimal, or more decimals when it would round to 0.0 but is not zero. */
export function formatPercent(percent: number): string {
  if (percent > 0 && percent < 0.05) return `${percent.toPrecision(1)}%`;
  return `${percent.toFixed(1)}%`;
}
