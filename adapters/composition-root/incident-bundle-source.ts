import { resolve } from 'node:path';
import { LogCorruptError } from '../../domain/errors.js';
import type { EventStore } from '../../domain/ports/event-store.js';
import { currentState, stateAt } from '../../processes/queries/state-at.js';
import { initialProjectedState, type ProjectedState } from '../../projections/projected-state.js';
import { decodeProjectedState } from '../../projections/state-snapshot.js';
import type { BundleManifest } from './incident-bundle-manifest.js';
import { WindowedStore } from './incident-bundle-store.js';
import type { SetPaths } from './set-home.js';
import { openLogFolder, openSetReadOnly, projectionsAt } from './set-store.js';

/**
 * One read-only source of events and projections, whatever holds them: a set (its log and
 * snapshots), a log folder copied from elsewhere, or an incident bundle (`log export`). The
 * CLI's read-only commands and the dashboard (`dashboard --log DIR`) read through it.
 */
export interface LogSource {
  /** The log, read-only. Reads before {@link firstPosition} are NotFoundError (exit 3). */
  readonly store: EventStore;
  /** Position of the first event held: 0, or an incident bundle's first position. */
  readonly firstPosition: number;
  /** The bundle's manifest, or null for a set or a plain log folder. */
  readonly bundle: BundleManifest | null;
  /**
   * Every projection as of `position` (null: the end of the log). Positions before
   * {@link firstPosition} are NotFoundError naming what the source holds.
   */
  projectionsAt(position: number | null): Promise<ProjectedState>;
  /** The projections just before {@link firstPosition}: the initial state, or a bundle's CRC-checked snapshot. */
  startState(): Promise<ProjectedState>;
  /** Close the log. */
  close(): Promise<void>;
}

/** A log folder or an incident bundle (`dir`, resolved against the working directory). */
export async function openLogSource(dir: string, onWarning?: (message: string) => void): Promise<LogSource> {
  const opened = await openLogFolder(resolve(dir));
  const { store, firstPosition, snapshots } = opened;
  const startState = async (): Promise<ProjectedState> => {
    if (firstPosition === 0 || snapshots === null) return initialProjectedState();
    // A bundle without its snapshot cannot start anywhere: an intact one is required.
    const loaded = await snapshots.loadLatest(firstPosition - 1);
    if (loaded === null || loaded.position !== firstPosition - 1) {
      throw new LogCorruptError(
        `incident bundle ${dir}: its snapshot of position ${firstPosition - 1} is missing or damaged; export the bundle again`,
      );
    }
    return decodeProjectedState(loaded.bytes);
  };
  return {
    store,
    firstPosition,
    bundle: opened.bundle,
    startState,
    async projectionsAt(position) {
      if (position !== null && store instanceof WindowedStore) await store.checkHolds(position, 'position');
      const options = { ...(snapshots && { snapshots }), ...(onWarning && { onWarning }) };
      return position === null ? currentState(store, options) : stateAt(store, position, options);
    },
    close: () => store.close(),
  };
}

/** A set's log with its snapshots, as a {@link LogSource}. */
export async function openSetSource(
  paths: SetPaths,
  home: string,
  onWarning?: (message: string) => void,
): Promise<LogSource> {
  const store = await openSetReadOnly(paths, home);
  return {
    store,
    firstPosition: 0,
    bundle: null,
    startState: async () => initialProjectedState(),
    projectionsAt: (position) => projectionsAt(store, paths, position, onWarning),
    close: () => store.close(),
  };
}
