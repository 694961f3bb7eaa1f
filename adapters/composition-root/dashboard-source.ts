import type { EventStore } from '../../domain/ports/event-store.js';
import { currentState, stateAt } from '../../processes/queries/state-at.js';
import type { VirtualUnit } from '../../processes/virtual-unit.js';
import type { LogReader } from '../http/log-reader.js';
import type { SetPaths } from './set-home.js';
import { openLogCopy, openSetReadOnly, projectionsAt } from './set-store.js';

/**
 * The logs the dashboard reads (adapters/http/log-reader.ts), built here because only the
 * composition root opens stores. Helper functions for incident bundles (`openLogSource`,
 * `openSetSource`) may replace these; the read API depends only on the LogReader shape.
 */

/** A LogReader that owns its store. */
export interface OwnedLogReader extends LogReader {
  /** Close the store. */
  close(): Promise<void>;
}

/** The set's log, read-only (safe while `serve` appends: the embedded store follows the writer). */
export async function openSetLogReader(
  paths: SetPaths,
  home: string,
  onWarning?: (message: string) => void,
): Promise<OwnedLogReader> {
  const store = await openSetReadOnly(paths, home);
  return {
    store,
    firstPosition: 0,
    projectionsAt: (position) => projectionsAt(store, paths, position, onWarning),
    close: () => store.close(),
  };
}

/** A log folder copied from elsewhere (`--log DIR`): no snapshots, the fold starts at 0. */
export async function openLogDirReader(dir: string): Promise<OwnedLogReader> {
  const store = await openLogCopy(dir);
  return {
    store,
    firstPosition: 0,
    projectionsAt: (position) => (position === null ? currentState(store) : stateAt(store, position)),
    close: () => store.close(),
  };
}

/** The log of an engine running in this process (`serve --http`); the engine closes it. */
export function engineLogReader(
  unit: VirtualUnit,
  store: EventStore,
  paths: SetPaths,
  onWarning?: (message: string) => void,
): LogReader {
  return {
    store,
    firstPosition: 0,
    engine: unit,
    projectionsAt: (position) => projectionsAt(store, paths, position, onWarning),
  };
}
