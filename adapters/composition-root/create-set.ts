import { mkdir, rm, rmdir } from 'node:fs/promises';
import { CommandRejectedError, InvalidArgumentError, LogLockedError } from '../../domain/errors.js';
import type { ShadowSetCreated } from '../../domain/events.js';
import type { EventStore } from '../../domain/ports/event-store.js';
import { decide } from '../../domain/shadow-set-decider.js';
import type { ProgressUpdate } from '../../processes/engine/progress-update.js';
import { currentState } from '../../processes/queries/state-at.js';
import { VirtualUnit } from '../../processes/virtual-unit.js';
import type { CopyRecord } from '../../projections/copy-journal.js';
import { FileMemberAccess } from '../devices/file-member-access.js';
import { fsIoError } from '../devices/fs-error.js';
import { memberIdentity } from '../devices/member-identity.js';
import { createSparseImage } from '../devices/sparse-image.js';
import type { SetPaths } from './set-home.js';
import { openSetStore, setExists, snapshotsOf } from './set-store.js';

/** What a new set looks like. */
export interface NewSet {
  /** Volume size; a positive multiple of 512. */
  readonly sizeBytes: number;
  /** Blocks per bitmap chunk; the domain's default (127) when omitted. */
  readonly chunkBlocks?: number;
  /** Absolute member paths, 2 to 6; missing image files are created sparse. */
  readonly memberPaths: readonly string[];
  /**
   * The operator asserts that members which existed before hold the same data as the first
   * (`--assume-clean`): no initial copy. Default false.
   */
  readonly assumeClean?: boolean;
}

/** What {@link createShadowSet} did. */
export interface CreatedSet {
  /** Member paths whose image files it created (sparse, all zeroes). */
  readonly created: string[];
  /** ShadowSetCreated as recorded, with the set's origin. */
  readonly event: ShadowSetCreated;
  /** The initial copies, as the copy journal has them when they ended; empty when none was owed. */
  readonly copies: CopyRecord[];
}

/** Watching the initial copy. */
export interface CreateWatch {
  /** ShadowSetCreated is durable; the initial copy (if its origin owes one) starts next. */
  readonly onRecorded?: (event: ShadowSetCreated) => void;
  /** Copy progress, for a progress bar. */
  readonly onProgress?: (update: ProgressUpdate) => void;
  /** Recoverable oddities (an unreadable snapshot skipped). */
  readonly onWarning?: (message: string) => void;
}

/**
 * Create a set: its directory, sparse images for members that do not exist yet, and its log
 * holding ShadowSetCreated. Members that are one file or device under two names are refused.
 * Members that may differ from the first (any member that existed before, unless
 * `assumeClean`) are owed a full copy from the first: it runs here, with the engine open,
 * before this resolves; if this process dies first, the next open of the set resumes it.
 *
 * Nothing is left behind when the set cannot be recorded: no set directory, no new image
 * files. A recorded set stays, whatever its initial copy did (the log says what happened).
 */
export async function createShadowSet(
  paths: SetPaths,
  home: string,
  spec: NewSet,
  watch: CreateWatch = {},
): Promise<CreatedSet> {
  if (await setExists(paths)) {
    throw new CommandRejectedError(
      `shadow set '${paths.set}' exists already in ${home}; pick another name or --home`,
    );
  }
  const count = spec.memberPaths.length;
  if (count < 2 || count > 6) {
    throw new InvalidArgumentError(`a shadow set has 2 to 6 members; ${count} --member given`);
  }
  const created: string[] = [];
  const madeDir = await makeSetDirectory(paths.dir);
  let store: EventStore | null = null;
  let event: ShadowSetCreated;
  try {
    store = await openSetStore(paths);
    for (const path of spec.memberPaths)
      if (await createSparseImage(path, spec.sizeBytes)) created.push(path);
    event = await recordCreated(store, paths.set, spec, created);
  } catch (error) {
    await store?.close();
    await undoCreate(paths, {
      madeDir,
      heldLog: store !== null,
      otherWriter: error instanceof LogLockedError,
      created,
    });
    throw error;
  }
  const log = store;
  try {
    watch.onRecorded?.(event);
    const owed = event.origin?.copied.length ?? 0;
    const copies = owed > 0 ? await runInitialCopy(log, paths, watch) : [];
    return { created, event, copies };
  } finally {
    await log.close();
  }
}

/** mkdir -p the set's directory; true when this call made it. */
async function makeSetDirectory(dir: string): Promise<boolean> {
  try {
    return (await mkdir(dir, { recursive: true })) !== undefined;
  } catch (error) {
    throw fsIoError('creating set directory', dir, error);
  }
}

/**
 * Remove what a failed create made: its new images, and its log if it held the log's lock (the
 * log is then this create's) or failed to open it for another reason than another writer.
 * When another process holds the lock, the directory is that process's (a create racing this
 * one): it is removed only if this call made it and it is still empty.
 */
async function undoCreate(
  paths: SetPaths,
  done: { madeDir: boolean; heldLog: boolean; otherWriter: boolean; created: readonly string[] },
): Promise<void> {
  for (const path of done.created) await rm(path, { force: true });
  if (done.otherWriter) {
    if (done.madeDir) await rmdir(paths.dir).catch(() => undefined);
  } else if (done.madeDir) {
    await rm(paths.dir, { recursive: true, force: true });
  } else {
    await rm(paths.log, { recursive: true, force: true });
    await rm(paths.snapshots, { recursive: true, force: true });
  }
}

/**
 * {@link createShadowSet} for callers that only need to know which images it made (the demo,
 * library users of the composition root).
 */
export async function createSet(paths: SetPaths, home: string, spec: NewSet): Promise<string[]> {
  return (await createShadowSet(paths, home, spec)).created;
}

/** Examine the members (size, identity, read-write access) and append ShadowSetCreated. */
async function recordCreated(
  store: EventStore,
  setId: string,
  spec: NewSet,
  created: readonly string[],
): Promise<ShadowSetCreated> {
  const access = new FileMemberAccess();
  const sizes: number[] = [];
  const identities: string[] = [];
  for (const path of spec.memberPaths) {
    identities.push(await memberIdentity(path));
    const device = await access.open(path, spec.sizeBytes);
    sizes.push(device.size());
    await device.close();
  }
  const events = decide(
    {
      type: 'CreateSet',
      setId,
      blocks: spec.sizeBytes / 512,
      chunkBlocks: spec.chunkBlocks,
      memberPaths: spec.memberPaths,
      memberSizesBytes: sizes,
      memberIdentities: identities,
      createdFresh: spec.memberPaths.map((path) => created.includes(path)),
      assumeClean: spec.assumeClean === true,
    },
    (await currentState(store)).set,
  );
  await store.append(events, { expectedPosition: 0 });
  return events[0] as ShadowSetCreated;
}

/**
 * Open the engine on the new log (still holding its writer lock, so no other process starts
 * the copy meanwhile): its recovery starts the copies owed, as it resumes any copy. Resolves
 * with how they ended.
 */
async function runInitialCopy(store: EventStore, paths: SetPaths, watch: CreateWatch): Promise<CopyRecord[]> {
  const unit = await VirtualUnit.open({
    store,
    access: new FileMemberAccess(),
    snapshots: snapshotsOf(paths, watch.onWarning),
  });
  const subscription = unit.progress$.subscribe((update) => watch.onProgress?.(update));
  try {
    await unit.idle();
    return unit.state.journal.copies.map((c) => ({ ...c }));
  } finally {
    subscription.unsubscribe();
    await unit.close();
  }
}
