import { LogCorruptError } from '../../domain/errors.js';
import type { EventStore } from '../../domain/ports/event-store.js';
import { replayRange } from '../../processes/queries/replay-range.js';
import { MinimergeBitmap } from '../../projections/minimerge-bitmap.js';
import type { ProjectedState } from '../../projections/projected-state.js';
import { readIntactPrefix } from '../composition-root/set-store.js';
import { type PointArgument, positionOfPoint, resolveAt } from './point-argument.js';

/** Resolve a position-or-time argument to a position of the log (see point-argument.ts). */
export async function resolvePoint(store: EventStore, point: PointArgument, name: string): Promise<number> {
  return resolveAt(store, point, name);
}

/**
 * Resolve the upper bound of a time-travel command (`--at`, `--until`, `--to`) on a log that may
 * be damaged after it: reads up to a bound before the damage work; a bound at or past it is
 * the LogCorruptError (exit 5) naming the damage. A time bound resolving to the last intact
 * event is refused too: events after the damage might still be at or before that time.
 */
export async function resolveBound(store: EventStore, point: PointArgument, name: string): Promise<number> {
  await refuseBoundPastDamage(store, point, name);
  return resolveAt(store, point, name);
}

/** The check of {@link resolveBound} alone, for a bound that is clamped rather than required (`audit --to`). */
export async function refuseBoundPastDamage(
  store: EventStore,
  point: PointArgument,
  name: string,
): Promise<void> {
  const damaged = readIntactPrefix(store);
  if (damaged === null) return;
  if ('position' in point) {
    if (point.position >= damaged.position) throw pastDamage(name, String(point.position), damaged);
    return;
  }
  if ((await positionOfPoint(store, point, 'end')) >= damaged.position - 1) {
    throw pastDamage(name, new Date(point.timeMs).toISOString(), damaged);
  }
}

function pastDamage(
  name: string,
  what: string,
  damaged: { readonly position: number; readonly message: string },
): LogCorruptError {
  const readable = damaged.position > 0 ? `; positions 0-${damaged.position - 1} can still be read` : '';
  return new LogCorruptError(
    `${name} ${what} is not before the damaged part of the log (from position ${damaged.position}): ${damaged.message}${readable}`,
  );
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
  await replayRange(store, from, state.set.position + 1, {
    onWrites: (run) => {
      if (time === 0) time = run.recordedAts[0]!;
      bitmap.applyWrites(run);
    },
    onEvent: (recorded) => {
      if (time === 0) time = recorded.recordedAt;
      bitmap.apply(recorded);
    },
  });
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
