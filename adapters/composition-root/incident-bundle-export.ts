import { mkdir, open, readdir, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { InvalidArgumentError, InvariantViolationError } from '../../domain/errors.js';
import type { RecordedEvent, ShadowEvent } from '../../domain/events.js';
import type { EventStore } from '../../domain/ports/event-store.js';
import type { ProjectedState } from '../../projections/projected-state.js';
import { encodeProjectedState } from '../../projections/state-snapshot.js';
import { openEmbeddedStore, SnapshotStore } from '../store/embedded/index.js';
import {
  BUNDLE_FORMAT,
  BUNDLE_FORMAT_VERSION,
  BUNDLE_LOG_DIR,
  BUNDLE_MANIFEST_FILE,
  BUNDLE_SNAPSHOT_DIR,
  type BundleManifest,
  listBundleFiles,
} from './incident-bundle-manifest.js';

/** Events read from the set per batch while exporting. */
const EXPORT_READ_BATCH = 16_384;
/** Most events in one append of the bundle's log (one group commit). */
const MAX_GROUP_EVENTS = 4096;

/** What {@link exportBundle} needs. */
export interface ExportRequest {
  /** The set's log, open read-only. */
  readonly store: EventStore;
  /** The set's name (the bundle log's stream id). */
  readonly set: string;
  /** First position of the window. */
  readonly fromPosition: number;
  /** Last position of the window (inclusive). */
  readonly toPosition: number;
  /** The bundle folder to create: missing or empty. */
  readonly out: string;
  /** The projections as of a position (from the set's snapshots). */
  readonly projectionsAt: (position: number) => Promise<ProjectedState>;
  /** Written into the manifest. */
  readonly shadowlogVersion: string;
  /** Told of events written so far and their total. */
  readonly onProgress?: (done: number, total: number) => void;
}

/** What {@link exportBundle} wrote. */
export interface ExportResult {
  /** The bundle folder. */
  readonly dir: string;
  /** Its manifest. */
  readonly manifest: BundleManifest;
  /** Bytes of all its files. */
  readonly bytes: number;
}

/**
 * Write an incident bundle (docs/log-format.md, "Incident bundles"): the events of the window
 * in an embedded log starting at their original positions with their original times, the
 * projection snapshot just before that log's first position, and manifest.json. Built in a
 * temp folder beside `out` and renamed into place, so `out` is a whole bundle or absent.
 */
export async function exportBundle(request: ExportRequest): Promise<ExportResult> {
  const { store, fromPosition, toPosition, out } = request;
  const last = await store.lastPosition();
  if (!(fromPosition >= 0 && fromPosition <= toPosition && toPosition <= last)) {
    throw new InvalidArgumentError(
      `window ${fromPosition}-${toPosition} is not in the log (positions 0-${last}): give --from <= --to within the log`,
    );
  }
  await refuseNonEmpty(out);
  // The minimerge bitmap at the window's start may reach back before it (writes since the
  // last MembersSynced): those events come too, so show gives the same answer on the bundle.
  let first = fromPosition;
  let before = fromPosition > 0 ? await request.projectionsAt(fromPosition - 1) : null;
  const reach = before === null ? fromPosition : minimergeFrom(before);
  if (reach < first) {
    first = reach;
    before = first > 0 ? await request.projectionsAt(first - 1) : null;
  }
  const temp = join(dirname(out), `.${basename(out)}.tmp-${process.pid}`);
  await rm(temp, { recursive: true, force: true });
  await mkdir(temp, { recursive: true });
  try {
    const counts = await copyEvents(request, temp, first);
    // The writer's lock file means nothing in a bundle, which is only ever read.
    await rm(join(temp, BUNDLE_LOG_DIR, 'LOCK'), { force: true });
    if (before !== null) {
      await new SnapshotStore(join(temp, BUNDLE_SNAPSHOT_DIR), { keep: 1 }).save(
        first - 1,
        encodeProjectedState(before),
      );
    }
    const files = await listBundleFiles(temp);
    const manifest: BundleManifest = {
      format: BUNDLE_FORMAT,
      formatVersion: BUNDLE_FORMAT_VERSION,
      set: request.set,
      window: { fromPosition, toPosition, fromTime: counts.fromTime, toTime: counts.toTime },
      logFirstPosition: first,
      snapshotPosition: before === null ? null : first - 1,
      events: toPosition - first + 1,
      eventsByType: counts.byType,
      files,
      shadowlogVersion: request.shadowlogVersion,
      createdAt: new Date().toISOString(),
    };
    const text = `${JSON.stringify(manifest, null, 2)}\n`;
    await writeDurably(join(temp, BUNDLE_MANIFEST_FILE), text);
    await syncDirectory(temp);
    await rm(out, { recursive: true, force: true }); // Missing or empty: checked above.
    await rename(temp, out);
    await syncDirectory(dirname(out));
    const bytes = files.reduce((n, f) => n + f.sizeBytes, 0) + Buffer.byteLength(text);
    return { dir: out, manifest, bytes };
  } catch (error) {
    await rm(temp, { recursive: true, force: true });
    throw error;
  }
}

/** First position the minimerge bitmap of `state` is built from (log-queries.ts minimergeAt). */
function minimergeFrom(state: ProjectedState): number {
  return state.set.merge ? state.set.merge.fromPosition : (state.set.synced?.position ?? -1) + 1;
}

async function refuseNonEmpty(out: string): Promise<void> {
  const entries = await readdir(out).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return [] as string[];
    if (error.code === 'ENOTDIR') return ['(a file)'];
    throw error;
  });
  if (entries.length > 0) {
    throw new InvalidArgumentError(
      `--out ${out} exists and is not empty: give a new or empty folder (the bundle never overwrites anything)`,
    );
  }
  const parent = await stat(dirname(out)).catch(() => null);
  if (parent === null || !parent.isDirectory()) {
    throw new InvalidArgumentError(`--out ${out}: its parent folder ${dirname(out)} does not exist`);
  }
}

/** Copy events first..toPosition into the bundle's log, keeping positions and times. */
async function copyEvents(
  request: ExportRequest,
  temp: string,
  first: number,
): Promise<{ byType: Record<string, number>; fromTime: string; toTime: string }> {
  let time = 0;
  const log = await openEmbeddedStore(join(temp, BUNDLE_LOG_DIR), {
    streamId: request.set,
    firstPosition: first,
    clock: () => time,
    // The bundle holds only data: no zero-filled margin (the writer's close would cut it anyway).
    zeroAheadBytes: 0,
  });
  const byType: Record<string, number> = {};
  let fromTime = '';
  let toTime = '';
  let written = 0;
  const total = request.toPosition - first + 1;
  try {
    let group: ShadowEvent[] = [];
    let groupTime = 0;
    let next = first;
    const flush = async () => {
      if (group.length === 0) return;
      time = groupTime;
      const lastWritten = await log.append(group);
      next += group.length;
      if (lastWritten !== next - 1) {
        throw new InvariantViolationError(`bundle log wrote up to ${lastWritten}, expected ${next - 1}`);
      }
      written += group.length;
      request.onProgress?.(written, total);
      group = [];
    };
    for await (const batch of request.store.read(first, request.toPosition + 1, {
      batchSize: EXPORT_READ_BATCH,
    })) {
      for (const r of batch as readonly RecordedEvent[]) {
        if (r.recordedAt !== groupTime || group.length >= MAX_GROUP_EVENTS) await flush();
        groupTime = r.recordedAt;
        group.push(r.event);
        if (r.position === request.fromPosition) fromTime = new Date(r.recordedAt).toISOString();
        if (r.position === request.toPosition) toTime = new Date(r.recordedAt).toISOString();
        if (r.position >= request.fromPosition) byType[r.event.type] = (byType[r.event.type] ?? 0) + 1;
      }
    }
    await flush();
    if (next !== request.toPosition + 1) {
      throw new InvariantViolationError(
        `bundle log holds ${first}..${next - 1}, expected ..${request.toPosition}`,
      );
    }
  } finally {
    await log.close();
  }
  return { byType, fromTime, toTime };
}

async function writeDurably(file: string, text: string): Promise<void> {
  const handle = await open(file, 'w');
  try {
    await handle.writeFile(text);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
