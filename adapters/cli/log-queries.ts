import { NotFoundError } from '../../domain/errors.js';
import type { EventStore } from '../../domain/ports/event-store.js';
import { positionAtTime } from '../../processes/queries/position-at-time.js';
import { MinimergeBitmap } from '../../projections/minimerge-bitmap.js';
import type { ProjectedState } from '../../projections/projected-state.js';
import type { PointArgument } from './size-argument.js';

/** Resolve a position-or-time argument to a position of the log. */
export async function resolvePoint(store: EventStore, point: PointArgument, name: string): Promise<number> {
  if ('position' in point) return point.position;
  const position = await positionAtTime(store, point.timeMs);
  if (position < 0) {
    throw new NotFoundError(
      `${name} ${new Date(point.timeMs).toISOString()} is before the first event of the log`,
    );
  }
  return position;
}

/** The minimerge bitmap as of `state`: chunks written after the last MembersSynced. */
export async function minimergeAt(
  store: EventStore,
  state: ProjectedState,
): Promise<{ bitmap: MinimergeBitmap; time: number } | null> {
  const g = state.set.geometry;
  if (g === null) return null;
  const from = state.set.merge ? state.set.merge.fromPosition : (state.set.synced?.position ?? -1) + 1;
  const bitmap = new MinimergeBitmap(g, from);
  let time = 0;
  for await (const batch of store.read(from, state.set.position + 1)) {
    for (const r of batch) {
      if (time === 0) time = r.recordedAt;
      bitmap.apply(r);
    }
  }
  return { bitmap, time };
}
