import { access } from 'node:fs/promises';
import { InvalidArgumentError, NotFoundError } from '../../domain/errors.js';
import type { EventStore } from '../../domain/ports/event-store.js';
import { positionAtTime } from '../../processes/queries/position-at-time.js';
import { currentState, stateAt } from '../../processes/queries/state-at.js';
import { VirtualUnit } from '../../processes/virtual-unit.js';
import { MinimergeBitmap } from '../../projections/minimerge-bitmap.js';
import type { ProjectedState } from '../../projections/projected-state.js';
import { FileMemberAccess } from '../devices/file-member-access.js';
import { EmbeddedEventStore, openEmbeddedStore, SnapshotStore } from '../store/embedded/index.js';
import { isKurrentDbConnectionString, openKurrentDbStore } from '../store/kurrentdb/index.js';
import type { SetPaths } from './set-home.js';
import type { PointArgument } from './size-argument.js';

/** Snapshots kept per set: enough for fast time travel over a long history. */
export const SNAPSHOTS_KEPT = 1000;

/** Fail with a clear message unless the set exists (its log, or its home directory with --store). */
export async function requireSet(paths: SetPaths, home: string): Promise<void> {
  try {
    await access(paths.store === null ? paths.log : paths.dir);
  } catch {
    throw new NotFoundError(
      `shadow set '${paths.set}' not found in ${home}: create it with 'shadowlog create ${paths.set} --size ... --member ... --member ...' or pass --home`,
    );
  }
}

/** Open the set's log read-only: safe while a server appends to it. */
export async function openSetReadOnly(paths: SetPaths, home: string): Promise<EventStore> {
  await requireSet(paths, home);
  if (paths.store !== null) return openSetStore(paths);
  return openEmbeddedStore(paths.log, { readOnly: true });
}

/**
 * Open the set's log for writing: the embedded log (taking its writer lock), or the KurrentDB
 * stream named after the set when `--store` names a server.
 */
export async function openSetStore(paths: SetPaths): Promise<EventStore> {
  if (paths.store === null) return openEmbeddedStore(paths.log, { streamId: paths.set });
  if (!isKurrentDbConnectionString(paths.store)) {
    throw new InvalidArgumentError(
      `--store '${paths.store}' is not a KurrentDB connection string: give kurrentdb://host:2113?tls=false, or omit --store for the embedded log`,
    );
  }
  return openKurrentDbStore(paths.store, { setId: paths.set });
}

/** The set's snapshot store. */
export function snapshotsOf(paths: SetPaths, onWarning?: (message: string) => void): SnapshotStore {
  return new SnapshotStore(paths.snapshots, {
    keep: SNAPSHOTS_KEPT,
    onWarning: (w) => onWarning?.(`snapshot ${w.file} ignored: ${w.reason}`),
  });
}

/** Engine options an operator sets on the command line. */
export interface EngineTuning {
  /** Copies running at once (SHADOW_MAX_COPY). */
  readonly maxCopies?: number;
  /** Copy bandwidth limit in MiB/s. */
  readonly copyRateMiBps?: number;
}

/** Run `fn` with the set's engine open in this process (takes the writer lock). */
export async function withEngine<T>(
  paths: SetPaths,
  home: string,
  fn: (unit: VirtualUnit, store: EventStore) => Promise<T>,
  onWarning?: (message: string) => void,
  tuning: EngineTuning = {},
): Promise<T> {
  await requireSet(paths, home);
  if (paths.node !== null && paths.store === null) {
    throw new InvalidArgumentError(
      '--node needs --store kurrentdb://...: the embedded log has a single writer, so one host serves it',
    );
  }
  const store = await openSetStore(paths);
  try {
    if (
      store instanceof EmbeddedEventStore &&
      (store.recovery.recordsDropped > 0 || store.recovery.bytesDropped > 0)
    ) {
      onWarning?.(
        `log recovery: dropped a torn tail of ${store.recovery.bytesDropped} bytes (${store.recovery.recordsDropped} records)`,
      );
    }
    const unit = await VirtualUnit.open({
      store,
      access: new FileMemberAccess(),
      snapshots: snapshotsOf(paths, onWarning),
      maxConcurrentCopies: tuning.maxCopies,
      host: paths.node ?? undefined,
      copyRateMiBps: tuning.copyRateMiBps,
    });
    try {
      return await fn(unit, store);
    } finally {
      await unit.close();
    }
  } finally {
    await store.close();
  }
}

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

/** The projections at `position` (or at the end), using snapshots. */
export async function projectionsAt(
  store: EventStore,
  paths: SetPaths | null,
  position: number | null,
  onWarning?: (message: string) => void,
): Promise<ProjectedState> {
  const snapshots = paths ? snapshotsOf(paths, onWarning) : undefined;
  if (position === null) return currentState(store, { snapshots, onWarning });
  return stateAt(store, position, { snapshots, onWarning });
}

/** The minimerge bitmap as of `position`: chunks written after the last MembersSynced. */
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
