import { resolve } from 'node:path';
import { InvalidArgumentError } from '../../domain/errors.js';
import type { EventStore } from '../../domain/ports/event-store.js';
import { VirtualUnit } from '../../processes/virtual-unit.js';
import type { ProjectedState } from '../../projections/projected-state.js';
import { FileMemberAccess } from '../devices/file-member-access.js';
import { EmbeddedEventStore } from '../store/embedded/index.js';
import { type SetPaths, setPaths } from './set-home.js';
import { openSetReadOnly, openSetStore, projectionsAt, requireSet, snapshotsOf } from './set-store.js';

/** Engine options an operator sets on the command line (or a library user in {@link OpenSetOptions}). */
export interface EngineTuning {
  /** Copies running at once (SHADOW_MAX_COPY); the engine's default when omitted. */
  readonly maxCopies?: number;
  /** Copy bandwidth limit in MiB/s; unlimited when omitted. */
  readonly copyRateMiBps?: number;
  /** Write a projection snapshot every this many events; the engine's default when omitted. */
  readonly snapshotEveryEvents?: number;
}

/** Options of {@link openSet}. */
export interface OpenSetOptions {
  /** The directory holding the sets (what `shadowlog --home` names); resolved against the cwd. */
  readonly home: string;
  /** The set's name, as given to `shadowlog create`. */
  readonly set: string;
  /**
   * `read-only`: the log only, safe while a server or another process writes it.
   * `read-write`: the engine opened in this process (takes the embedded log's writer lock).
   */
  readonly mode: 'read-only' | 'read-write';
  /** KurrentDB connection string (`kurrentdb://host:2113?tls=false`); omitted: the embedded log. */
  readonly store?: string;
  /** Read-write with a KurrentDB store: this host's name when several hosts serve the set. */
  readonly node?: string;
  /** Called with recoverable oddities (a torn log tail cut, an unreadable snapshot skipped). */
  readonly onWarning?: (message: string) => void;
  /** Read-write: engine options. */
  readonly tuning?: EngineTuning;
}

/** What {@link openSet} returns in either mode. */
export interface OpenedSetBase {
  /** Where the set lives. */
  readonly paths: SetPaths;
  /** The set's event log. */
  readonly store: EventStore;
  /**
   * Every projection (set state, bitmaps, copy journal) as of `position`, or as of the end of
   * the log when omitted; folded from the nearest snapshot.
   */
  state(position?: number): Promise<ProjectedState>;
  /** Close the engine (read-write) and the log. Call once. */
  close(): Promise<void>;
}

/** A set opened read-only: its log and its projections. */
export interface ReadOnlySet extends OpenedSetBase {
  /** Discriminant. */
  readonly mode: 'read-only';
}

/** A set opened read-write: the engine runs in this process. */
export interface ReadWriteSet extends OpenedSetBase {
  /** Discriminant. */
  readonly mode: 'read-write';
  /** The engine: read, write, dismount, mount, verify... */
  readonly unit: VirtualUnit;
}

/**
 * Open a set for a library user: read-only (the log and its projections) or read-write (the
 * engine, with the member images or devices the log names). The caller closes it.
 */
export function openSet(options: OpenSetOptions & { readonly mode: 'read-only' }): Promise<ReadOnlySet>;
export function openSet(options: OpenSetOptions & { readonly mode: 'read-write' }): Promise<ReadWriteSet>;
export function openSet(options: OpenSetOptions): Promise<ReadOnlySet | ReadWriteSet>;
export async function openSet(options: OpenSetOptions): Promise<ReadOnlySet | ReadWriteSet> {
  const home = resolve(options.home);
  const paths = setPaths(home, options.set, options.store ?? null, options.node ?? null);
  if (options.mode === 'read-write') return openSetReadWrite(paths, home, options.onWarning, options.tuning);
  const store = await openSetReadOnly(paths, home);
  return {
    mode: 'read-only',
    paths,
    store,
    state: (position) => projectionsAt(store, paths, position ?? null, options.onWarning),
    close: () => store.close(),
  };
}

/** Open the set's engine in this process (takes the writer lock); the caller closes it. */
export async function openSetReadWrite(
  paths: SetPaths,
  home: string,
  onWarning?: (message: string) => void,
  tuning: EngineTuning = {},
): Promise<ReadWriteSet> {
  await requireSet(paths, home);
  if (paths.node !== null && paths.store === null) {
    throw new InvalidArgumentError(
      '--node needs --store kurrentdb://...: the embedded log has a single writer, so one host serves it',
    );
  }
  const store = await openSetStore(paths);
  try {
    warnOfRecovery(store, onWarning);
    const unit = await VirtualUnit.open({
      store,
      access: new FileMemberAccess(),
      snapshots: snapshotsOf(paths, onWarning),
      maxConcurrentCopies: tuning.maxCopies,
      host: paths.node ?? undefined,
      copyRateMiBps: tuning.copyRateMiBps,
      snapshotEveryEvents: tuning.snapshotEveryEvents,
    });
    return {
      mode: 'read-write',
      paths,
      store,
      unit,
      state: (position) => projectionsAt(store, paths, position ?? null, onWarning),
      close: async () => {
        try {
          await unit.close();
        } finally {
          await store.close();
        }
      },
    };
  } catch (error) {
    await store.close();
    throw error;
  }
}

/** Run `fn` with the set's engine open in this process (takes the writer lock), then close it. */
export async function withEngine<T>(
  paths: SetPaths,
  home: string,
  fn: (unit: VirtualUnit, store: EventStore) => Promise<T>,
  onWarning?: (message: string) => void,
  tuning: EngineTuning = {},
): Promise<T> {
  const opened = await openSetReadWrite(paths, home, onWarning, tuning);
  try {
    return await fn(opened.unit, opened.store);
  } finally {
    await opened.close();
  }
}

function warnOfRecovery(store: EventStore, onWarning: ((message: string) => void) | undefined): void {
  if (!(store instanceof EmbeddedEventStore)) return;
  const { recordsDropped, bytesDropped } = store.recovery;
  if (recordsDropped > 0 || bytesDropped > 0) {
    onWarning?.(`log recovery: dropped a torn tail of ${bytesDropped} bytes (${recordsDropped} records)`);
  }
}
