import type { ChunkBitmap } from '../domain/chunk-bitmap.js';
import { assert } from '../domain/errors.js';
import { chunkRunBlocks } from '../domain/geometry.js';
import { receivesWrites } from '../domain/member-status.js';
import type { EngineContext } from './engine-context.js';

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

/**
 * Crash minimerge: after an unclean stop, the chunks written after the last MembersSynced may
 * hold old data on one member and new on another. Copy those chunks (and only those) from the
 * merge source to every other member that receives writes, so all members return the same
 * data. Reads come from the source only until MergeCompleted (the read path checks
 * `state.merge`). Each I/O holds the barrier shared (so no member leaves mid-I/O) and the
 * range lock (so application writes to the same blocks are serialised with it).
 */
export async function runMerge(
  ctx: EngineContext,
  chunks: ChunkBitmap,
  resume = false,
): Promise<MergeResult> {
  const startedMs = performance.now();
  const g = ctx.geometry;
  const planned = chunks.count();
  // A merge interrupted by another crash is run again under its MergeStarted.
  if (!resume) await ctx.control({ type: 'StartMerge', chunks: planned }, { exclusive: true });
  const merge = ctx.state().merge;
  assert(merge !== null, 'merge state missing after MergeStarted');
  const chunkBytes = g.chunkBlocks * g.blockSize;
  const unitChunks = Math.max(1, Math.floor(MERGE_IO_BYTES / chunkBytes));
  const buffer = new Uint8Array(unitChunks * chunkBytes);
  let done = 0;
  let bytes = 0;
  // Bytes planned are known only at the end: merge chunks are whole except the clipped last one.
  const report = (finished: boolean) =>
    ctx.progress({
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
      const blocks = chunkRunBlocks(g, first, count);
      const lbn = first * g.chunkBlocks;
      const view = buffer.subarray(0, blocks * g.blockSize);
      await ctx.barrier.enterShared();
      const release = await ctx.rangeLock.acquire(lbn, lbn + blocks);
      try {
        const source = ctx.state().merge?.source ?? merge.source;
        await ctx.readValid(view, lbn * g.blockSize, source);
        const targets = ctx
          .state()
          .members.filter(
            (m) => m.id !== source && receivesWrites(m.status) && ctx.device(m.id) !== undefined,
          );
        await Promise.all(
          targets.map(async (m) => {
            try {
              await ctx.device(m.id)!.write(view, lbn * g.blockSize);
            } catch (error) {
              await ctx.failMember(m.id, error);
            }
          }),
        );
      } finally {
        release();
        ctx.barrier.leaveShared();
      }
      done += count;
      bytes += view.length;
      report(false);
    }
  }
  for (const m of ctx.state().members) {
    const device = ctx.device(m.id);
    if (device && receivesWrites(m.status)) await device.flush();
  }
  const durationMs = Math.round(performance.now() - startedMs);
  await ctx.control({ type: 'CompleteMerge', chunks: planned, durationMs }, { exclusive: true });
  report(true);
  return { chunks: planned, bytes, durationMs };
}
