import { access, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { InvalidArgumentError, NotFoundError } from '../../domain/errors.js';
import type { EventStore } from '../../domain/ports/event-store.js';
import { currentState, stateAt } from '../../processes/queries/state-at.js';
import type { ProjectedState } from '../../projections/projected-state.js';
import {
  checkLog,
  type DamagedRegion,
  EmbeddedEventStore,
  type LogCheckReport,
  MANIFEST_FILE_NAME,
  openEmbeddedStore,
  parseSegmentFileName,
  SnapshotStore,
} from '../store/embedded/index.js';
import { isKurrentDbConnectionString, openKurrentDbStore } from '../store/kurrentdb/index.js';
import {
  BUNDLE_LOG_DIR,
  BUNDLE_MANIFEST_FILE,
  BUNDLE_SNAPSHOT_DIR,
  type BundleManifest,
  readBundleManifest,
  verifyBundleFiles,
} from './incident-bundle-manifest.js';
import { WindowedStore } from './incident-bundle-store.js';
import type { SetPaths } from './set-home.js';

/** Snapshots kept per set: enough for fast time travel over a long history. */
export const SNAPSHOTS_KEPT = 1000;

/** True when the set exists: its embedded log, or its home directory with a KurrentDB store. */
export async function setExists(paths: SetPaths): Promise<boolean> {
  try {
    await stat(paths.store === null ? paths.log : paths.dir);
    return true;
  } catch {
    return false;
  }
}

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

/** A log folder or an incident bundle, opened read-only by {@link openLogFolder}. */
export interface OpenedLogFolder {
  /** The log (a bundle's starts at its first position; reads before it exit 3). */
  readonly store: EventStore;
  /** Position of the log's first event: 0, or a bundle's logFirstPosition. */
  readonly firstPosition: number;
  /** The bundle's snapshot (the state before firstPosition), or null for a plain log folder. */
  readonly snapshots: SnapshotStore | null;
  /** The bundle's manifest, or null for a plain log folder. */
  readonly bundle: BundleManifest | null;
}

/**
 * Open, read-only, an embedded log directory copied from elsewhere (an incident's log) or an
 * incident bundle (`log export`; every file checked against its manifest.json first).
 */
export async function openLogFolder(dir: string): Promise<OpenedLogFolder> {
  const bundle = await readBundleManifest(dir);
  if (bundle !== null) {
    await verifyBundleFiles(dir, bundle);
    const inner = await openEmbeddedStore(join(dir, BUNDLE_LOG_DIR), { readOnly: true });
    const first = bundle.logFirstPosition;
    const store = new WindowedStore(inner, first, `the incident bundle ${dir}`);
    const snapshots = new SnapshotStore(join(dir, BUNDLE_SNAPSHOT_DIR), { keep: 1 });
    return { store, firstPosition: first, snapshots, bundle };
  }
  // A folder that holds no segment and no manifest is not a log (an empty folder, or the set's
  // folder given by mistake): say so (exit 3) rather than replay nothing. A damaged log keeps
  // its own error (LogCorruptError, exit 5).
  const names = await readdir(dir).catch(() => null);
  if (names === null || !names.some((n) => n === MANIFEST_FILE_NAME || parseSegmentFileName(n) !== null)) {
    throw new NotFoundError(
      `${dir} is not a shadowlog log folder: a log folder holds segment files (00000000000000000000.seg) and a ${MANIFEST_FILE_NAME}, an incident bundle a ${BUNDLE_MANIFEST_FILE}; give the log folder itself, e.g. <home>/<set>/log`,
    );
  }
  const store = await openEmbeddedStore(dir, { readOnly: true });
  return { store, firstPosition: 0, snapshots: null, bundle: null };
}

/** The store of {@link openLogFolder}. */
export async function openLogCopy(dir: string): Promise<EventStore> {
  return (await openLogFolder(dir)).store;
}

/**
 * For a command bounded by a point before the end (`show --at`, `replay --until`, `audit --to`):
 * accept the intact prefix of a log a read-only open found damaged, so reads up to the bound
 * work; returns where the damage starts (null: the log is whole, or not an embedded log). A
 * store not told this keeps refusing what needs the whole log (exit 5).
 */
export function readIntactPrefix(store: EventStore): DamagedRegion | null {
  return store instanceof EmbeddedEventStore ? store.readIntactPrefix() : null;
}

/** Check every record of the set's embedded log (a KurrentDB stream is its server's business). */
export async function checkSetLog(paths: SetPaths, home: string): Promise<LogCheckReport> {
  await requireSet(paths, home);
  if (paths.store !== null) {
    throw new InvalidArgumentError(
      'log check verifies the embedded log; a KurrentDB stream is checked by its server (omit --store)',
    );
  }
  return checkLog(paths.log);
}

/** The set's snapshot store. */
export function snapshotsOf(paths: SetPaths, onWarning?: (message: string) => void): SnapshotStore {
  return new SnapshotStore(paths.snapshots, {
    keep: SNAPSHOTS_KEPT,
    onWarning: (w) => onWarning?.(`snapshot ${w.file} ignored: ${w.reason}`),
  });
}

/** The projections at `position` (or at the end when null), starting from the set's snapshots. */
export async function projectionsAt(
  store: EventStore,
  paths: SetPaths,
  position: number | null,
  onWarning?: (message: string) => void,
): Promise<ProjectedState> {
  const snapshots = snapshotsOf(paths, onWarning);
  if (position === null) return currentState(store, { snapshots, onWarning });
  return stateAt(store, position, { snapshots, onWarning });
}
