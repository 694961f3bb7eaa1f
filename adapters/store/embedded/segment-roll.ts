import { promises as fs } from 'node:fs';
import { ioError } from './durable-file.js';
import type { DurableListener } from './durable-listener.js';
import { listInManifest } from './log-manifest.js';
import type { LogState, SegmentState } from './log-state.js';
import { createSegmentFile, writeIndexFile } from './segment-files.js';
import { SEGMENT_HEADER_BYTES } from './segment-format.js';

/**
 * The file work of a segment roll (group-commit-writer.ts decides when): seal the active
 * segment -- its zero tail cut off, its index written -- then create the next segment, list it
 * in the manifest and open it for appends. Nothing in memory changes here; the writer switches
 * only once every step succeeded.
 */

/**
 * Flags of the segment the writer appends to: O_DSYNC makes each write durable on return,
 * one thread-pool hop per batch instead of two (write, then fdatasync).
 */
export const SEGMENT_APPEND_FLAGS = fs.constants.O_RDWR | fs.constants.O_DSYNC;

/** Truncate the file to `bytes` (its data end) and make the size durable. */
export async function cutFile(handle: fs.FileHandle, bytes: number): Promise<void> {
  await handle.truncate(bytes);
  await handle.datasync();
}

/**
 * Seal `old` (open as `handle`, no write in flight, no zero-fill extension running) and make
 * the segment that follows it; returns it with an append handle. The caller closes `handle`.
 */
export async function rollSegment(
  state: LogState,
  old: SegmentState,
  handle: fs.FileHandle,
  createdAtMs: number,
  onDurable: DurableListener | undefined,
): Promise<{ readonly created: SegmentState; readonly handle: fs.FileHandle }> {
  // Only the last segment may have a zero tail: cut it off durably before the index (which
  // names the size) is written.
  await cutFile(handle, old.bytes).catch((error: unknown) => {
    throw ioError('cut the zero tail of', old.path, error);
  });
  // The index is written before the next segment exists: a reader that sees segment N+1
  // can rely on segment N being complete and indexed.
  await writeIndexFile(state.dir, old, false);
  const created = await createSegmentFile(state.dir, state.streamId, state.nextPosition, createdAtMs);
  const lastPosition = state.nextPosition - 1;
  onDurable?.({ segmentPath: created.path, endOffsetBytes: SEGMENT_HEADER_BYTES, lastPosition });
  // Listed only once durable: a crash before this leaves one segment past the manifest,
  // which the next open accepts because it starts where the last listed one ends.
  await listInManifest(state, onDurable, created.firstPosition);
  try {
    return { created, handle: await fs.open(created.path, SEGMENT_APPEND_FLAGS) };
  } catch (error) {
    throw ioError('open segment', created.path, error);
  }
}
