import type { ChunkBitmap } from '../domain/chunk-bitmap.js';
import { isMarking, type ShadowSetState } from '../domain/shadow-set-state.js';

/** A bitmap as SHOW DEVICE/BITMAP lists it. */
export interface BitmapView {
  /** The member the bitmap belongs to. */
  readonly member: string;
  /** `minicopy` for a dismounted member's write bitmap; `minimerge` for writes since the last sync. */
  readonly type: 'minicopy' | 'minimerge';
  /** Position the bitmap starts after. */
  readonly sincePosition: number;
  /** recordedAt of that position, ms since the epoch. */
  readonly sinceTime: number;
  /** Bytes the bitmap occupies (one bit per chunk, in 32-bit words). */
  readonly sizeBytes: number;
  /** Chunks marked. */
  readonly chunksMarked: number;
  /** Chunks in the volume. */
  readonly chunks: number;
  /** Percent of the chunks marked. */
  readonly percent: number;
  /** True while application writes mark it (false while its minicopy runs). */
  readonly active: boolean;
  /** The bits. */
  readonly bitmap: ChunkBitmap;
}

/** Percent with two decimals: small bitmaps must not read as 0. */
export function percentOf(part: number, whole: number): number {
  return whole === 0 ? 0 : Math.round((part / whole) * 10_000) / 100;
}

/** Bytes of a bitmap of `chunks` bits stored in 32-bit words. */
export function bitmapSizeBytes(chunks: number): number {
  return Math.ceil(chunks / 32) * 4;
}

/** The write bitmaps of every member that has one. */
export function writeBitmaps(state: ShadowSetState): BitmapView[] {
  const views: BitmapView[] = [];
  for (const m of state.members) {
    if (m.bitmap === null) continue;
    const chunks = m.bitmap.chunks.chunks;
    const marked = m.bitmap.chunks.count();
    views.push({
      member: m.id,
      type: 'minicopy',
      sincePosition: m.bitmap.sincePosition,
      sinceTime: m.bitmap.sinceTime,
      sizeBytes: bitmapSizeBytes(chunks),
      chunksMarked: marked,
      chunks,
      percent: percentOf(marked, chunks),
      active: isMarking(m),
      bitmap: m.bitmap.chunks,
    });
  }
  return views;
}
