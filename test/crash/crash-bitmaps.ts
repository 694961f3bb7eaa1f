import { chunkSpan, type Geometry } from '../../domain/geometry.js';
import type { ProjectedState } from '../../projections/projected-state.js';

/** A write event of the recovered log. */
export interface LoggedWrite {
  readonly position: number;
  readonly lbn: number;
  readonly count: number;
}

/**
 * Invariant 2 on the recovered state: a member away with a minicopy bitmap has every chunk set
 * that a write logged after its dismount touched (up to its copy's start, once one started).
 * Returns the problems found (at most `limit`).
 */
export function bitmapProblems(
  state: ProjectedState,
  writes: readonly LoggedWrite[],
  geometry: Geometry,
  limit = 5,
): string[] {
  const problems: string[] = [];
  for (const m of state.set.members) {
    if (m.away?.policy !== 'minicopy') continue;
    if (m.status === 'copying' && m.copy?.kind !== 'mini') continue;
    if (m.bitmap === null) {
      problems.push(
        `${m.id} is ${m.status} after a minicopy dismount but has no bitmap: ${m.noBitmapReason}`,
      );
      continue;
    }
    const until = m.status === 'copying' ? m.copy!.position : Number.MAX_SAFE_INTEGER;
    for (const w of writes) {
      if (w.position <= m.away.position || w.position >= until) continue;
      const span = chunkSpan(geometry, w.lbn, w.count);
      for (let c = span.first; c <= span.last; c++) {
        if (m.bitmap.chunks.test(c)) continue;
        if (problems.length < limit) {
          problems.push(
            `${m.id} (${m.status}, dismounted at ${m.away.position}): chunk ${c} written at position ${w.position} is not in its bitmap`,
          );
        }
      }
    }
  }
  return problems;
}
