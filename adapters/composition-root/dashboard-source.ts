import type { EventStore } from '../../domain/ports/event-store.js';
import type { VirtualUnit } from '../../processes/virtual-unit.js';
import type { LogReader } from '../http/log-reader.js';
import { type LogSource, openLogSource, openSetSource } from './incident-bundle-source.js';
import type { SetPaths } from './set-home.js';
import { projectionsAt } from './set-store.js';

/**
 * The logs the dashboard reads (adapters/http/log-reader.ts), built here because only the
 * composition root opens stores. The read API depends only on the LogReader shape.
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
  return readerOf(await openSetSource(paths, home, onWarning));
}

/** A log folder copied from elsewhere or an incident bundle (`--log DIR`, incident-bundle-source.ts). */
export async function openLogDirReader(dir: string): Promise<OwnedLogReader> {
  return readerOf(await openLogSource(dir));
}

/** The read API's view of a {@link LogSource}. */
function readerOf(source: LogSource): OwnedLogReader {
  return {
    store: source.store,
    firstPosition: source.firstPosition,
    projectionsAt: (position) => source.projectionsAt(position),
    startState: () => source.startState(),
    close: () => source.close(),
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
