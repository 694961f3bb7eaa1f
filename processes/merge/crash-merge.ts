import type { ChunkBitmap } from '../../domain/chunk-bitmap.js';
import { assert } from '../../domain/errors.js';
import { chunkRunBlocks } from '../../domain/geometry.js';
import { receivesWrites } from '../../domain/member-status.js';
import type { ShadowCommand } from '../../domain/shadow-set-commands.js';
import type { EngineParts } from '../engine/engine-parts.js';

/** Largest merge I/O: whole chunks up to 1 MiB. */
const MERGE_IO_BYTES = 1024 * 1024;

/** The result of a crash merge. */
export interface MergeResult {
  /** Chunks merged. */
  readonly chunks: number;
  /** Bytes read from the source and written to each other member. */
  readonly bytes: number;
  /** Wall time. */
  readonly durationMs: number;
}

/** What the crash merge uses of the engine. */
export type MergeParts = Pick<
  EngineParts,
  'geometry' | 'barrier' | 'rangeLock' | 'follower' | 'devices' | 'reads' | 'failures' | 'log' | 'progress'
>;

/**
 * Crash minimerge: after an unclean stop, the chunks written after the last MembersSynced may
 * hold old data on one member and new on another. Copy those chunks (and only those) from the
 * merge source to every other member that receives writes, so all members return the same
 * data. Reads come from the source only until MergeCompleted (the read path checks
 * `state.merge`). Each I/O holds the barrier shared (so no member leaves mid-I/O) and the
 * range lock (so application writes to the same blocks are serialised with it).
 */
export async function runMerge(parts: MergeParts, chunks: ChunkBitmap, resume = false): Promise<MergeResult> {
  const startedMs = performance.now();
  const g = parts.geometry;
  const planned = chunks.count();
  // A merge interrupted by another crash is run again under its MergeStarted.
  if (!resume) await controlExclusive(parts, { type: 'StartMerge', chunks: planned });
  const merge = parts.follower.state.set.merge;
  assert(merge !== null, 'merge state missing after MergeStarted');
  const chunkBytes = g.chunkBlocks * g.blockSize;
  const unitChunks = Math.max(1, Math.floor(MERGE_IO_BYTES / chunkBytes));
  const buffer = new Uint8Array(unitChunks * chunkBytes);
  let done = 0;
  let bytes = 0;
  // Bytes planned are known only at the end: merge chunks are whole except the clipped last one.
  const report = (finished: boolean) =>
    parts.progress.next({
      kind: 'merge',
      member: merge.source,
      chunksDone: done,
      chunksPlanned: planned,
      bytesDone: bytes,
      bytesPlanned: finished ? bytes : 0,
      finished,
    });
  for (const run of chunks.runs()) {
    for (let first = run.first; first < run.first + run.count; first += unitChunks) {
      const count = Math.min(unitChunks, run.first + run.count - first);
      const view = buffer.subarray(0, chunkRunBlocks(g, first, count) * g.blockSize);
      await mergeUnit(parts, first * g.chunkBlocks, view, merge.source);
      done += count;
      bytes += view.length;
      report(false);
    }
  }
  for (const m of parts.follower.state.set.members) {
    const device = parts.devices.get(m.id);
    if (device && receivesWrites(m.status)) await device.flush();
  }
  const durationMs = Math.round(performance.now() - startedMs);
  await controlExclusive(parts, { type: 'CompleteMerge', chunks: planned, durationMs });
  report(true);
  return { chunks: planned, bytes, durationMs };
}

/** Copy the blocks under `view` at `lbn` from the merge source to every other writing member. */
async function mergeUnit(
  parts: MergeParts,
  lbn: number,
  view: Uint8Array,
  plannedSource: string,
): Promise<void> {
  const { barrier, devices, follower } = parts;
  const blockSize = parts.geometry.blockSize;
  await barrier.enterShared();
  const release = await parts.rangeLock.acquire(lbn, lbn + view.length / blockSize);
  try {
    const source = follower.state.set.merge?.source ?? plannedSource;
    await parts.reads.readValid(view, lbn * blockSize, source);
    const targets = follower.state.set.members.filter(
      (m) => m.id !== source && receivesWrites(m.status) && devices.get(m.id) !== undefined,
    );
    await Promise.all(
      targets.map(async (m) => {
        try {
          await devices.get(m.id)!.write(view, lbn * blockSize);
        } catch (error) {
          await parts.failures.fail(m.id, error);
        }
      }),
    );
  } finally {
    release();
    barrier.leaveShared();
  }
}

function controlExclusive(parts: MergeParts, command: ShadowCommand): Promise<unknown> {
  return parts.barrier.runExclusive(() => parts.log.control(command));
}
