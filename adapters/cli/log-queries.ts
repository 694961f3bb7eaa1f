import type { EventStore } from '../../domain/ports/event-store.js';
import { MinimergeBitmap } from '../../projections/minimerge-bitmap.js';
import type { ProjectedState } from '../../projections/projected-state.js';
import { type PointArgument, resolveAt } from './point-argument.js';

/** Resolve a position-or-time argument to a position of the log (see point-argument.ts). */
export async function resolvePoint(store: EventStore, point: PointArgument, name: string): Promise<number> {
  return resolveAt(store, point, name);
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

/** The recorded times (ISO) of a window's ends, null where the window is empty there. */
export async function windowTimes(
  store: EventStore,
  window: { readonly fromPosition: number; readonly toPosition: number },
): Promise<{ fromTime: string | null; toTime: string | null }> {
  return {
    fromTime: await isoTimeAt(store, window.fromPosition),
    toTime: window.toPosition < 0 ? null : await isoTimeAt(store, window.toPosition),
  };
}

async function isoTimeAt(store: EventStore, position: number): Promise<string | null> {
  for await (const batch of store.read(position, position + 1, { batchSize: 1 })) {
    const first = batch[0];
    if (first) return new Date(first.recordedAt).toISOString();
  }
  return null;
}
