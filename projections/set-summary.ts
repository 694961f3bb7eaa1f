import type { SetOrigin } from '../domain/events.js';
import { memberStates } from './member-states.js';
import type { MinimergeBitmap } from './minimerge-bitmap.js';
import type { ProjectedState } from './projected-state.js';
import { bitmapSizeBytes, percentOf, writeBitmaps } from './write-bitmaps.js';

/** The `show` document: the set, its members and its bitmaps (field names are public). */
export interface SetSummary {
  /** The set's name. */
  readonly set: string;
  /** Position of the last folded event. */
  readonly position: number;
  /** recordedAt of that event, ISO-8601. */
  readonly time: string | null;
  /** Bytes per block. */
  readonly blockSize: number;
  /** Volume size in blocks. */
  readonly blocks: number;
  /** Blocks per chunk. */
  readonly chunkBlocks: number;
  /** Members. */
  readonly members: {
    id: string;
    path: string;
    state: string;
    sincePosition: number;
    copyPercent: number | null;
    error: string | null;
  }[];
  /** Bitmaps, as SHOW DEVICE/BITMAP. */
  readonly bitmaps: {
    member: string;
    type: 'minicopy' | 'minimerge';
    sincePosition: number;
    sinceTime: string | null;
    sizeBytes: number;
    chunksMarked: number;
    percent: number;
    active: boolean;
  }[];
  /** The merge in progress. */
  readonly merge: { source: string; chunks: number; sincePosition: number } | null;
  /** The last MembersSynced position. */
  readonly syncedPosition: number | null;
  /** How the members came to agree at creation; null for a log written before origins were recorded. */
  readonly origin: SetOrigin | null;
}

function iso(ms: number): string | null {
  return ms > 0 ? new Date(ms).toISOString() : null;
}

/**
 * Summarise the projections for `show`. `minimerge`, when given, is the bitmap of chunks
 * written since the last MembersSynced (what a crash merge would visit now).
 */
export function summarise(state: ProjectedState, minimerge?: MinimergeBitmap, minimergeTime = 0): SetSummary {
  const set = state.set;
  const g = set.geometry;
  const bitmaps: SetSummary['bitmaps'] = writeBitmaps(set).map((b) => ({
    member: b.member,
    type: b.type,
    sincePosition: b.sincePosition,
    sinceTime: iso(b.sinceTime),
    sizeBytes: b.sizeBytes,
    chunksMarked: b.chunksMarked,
    percent: b.percent,
    active: b.active,
  }));
  if (minimerge && g) {
    bitmaps.push({
      member: '*',
      type: 'minimerge',
      sincePosition: minimerge.fromPosition - 1,
      sinceTime: iso(minimergeTime),
      sizeBytes: bitmapSizeBytes(g.chunks),
      chunksMarked: minimerge.chunks.count(),
      percent: percentOf(minimerge.chunks.count(), g.chunks),
      active: true,
    });
  }
  return {
    set: set.setId,
    position: set.position,
    time: iso(set.recordedAt),
    blockSize: g?.blockSize ?? 512,
    blocks: g?.blocks ?? 0,
    chunkBlocks: g?.chunkBlocks ?? 0,
    members: memberStates(set).map((m) => ({
      id: m.id,
      path: m.path,
      state: m.state,
      sincePosition: m.sincePosition,
      copyPercent: m.copyPercent,
      error: m.error,
    })),
    bitmaps,
    merge: set.merge
      ? { source: set.merge.source, chunks: set.merge.chunks, sincePosition: set.merge.position }
      : null,
    syncedPosition: set.synced?.position ?? null,
    origin: set.origin,
  };
}
