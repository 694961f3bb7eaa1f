import { promises as fs } from 'node:fs';
import { ioError } from './durable-file.js';
import { corruptAt, type LogState, type SegmentState } from './log-state.js';
import { RECORD_HEADER_BYTES } from './record-codec.js';
import { listLogDirectory, readSegmentHeader, segmentState } from './segment-files.js';
import {
  LEGACY_SEGMENT_FORMAT_VERSION,
  parseSegmentFileName,
  SEGMENT_HEADER_BYTES,
} from './segment-format.js';
import { SparseIndex } from './segment-index.js';
import { type FrameScan, scanFrames } from './segment-scanner.js';

/**
 * Following a log that another process writes (read-only opens: `log check`, `show` while a
 * server runs). The writer appends whole batches and creates segment N+1 only after segment N
 * is durable and its index written; so the reader extends its view with every committed
 * record it can see and stops at the first frame that does not check yet (a write in
 * progress), never treating that as damage. It reads what the writer has written -- in the
 * page cache, and durable a moment later -- never a half-written batch: in a format-2 or 3
 * segment only batches whose seal is written are taken.
 */

/** First read of a refresh: most batches are smaller; a larger one doubles the window. */
const FIRST_WINDOW_BYTES = 256 * 1024;
/** Most new segments taken in one refresh: bounds the loop; the next refresh takes the rest. */
const MAX_SEGMENTS_PER_REFRESH = 1024;

/**
 * Extend `segment` with the records written after what is known. A segment with seals is
 * rescanned from its last seal and takes only sealed batches: a batch is visible once its
 * whole write (seal included) is; a format-1 segment takes records up to the last commit flag.
 */
async function extendSegment(state: LogState, segment: SegmentState): Promise<number> {
  let handle: fs.FileHandle | undefined;
  try {
    handle = await fs.open(segment.path, 'r');
    const size = (await handle.stat()).size;
    const withSeals = segment.formatVersion !== LEGACY_SEGMENT_FORMAT_VERSION;
    const from = withSeals ? segment.lastSealEnd : segment.bytes;
    const fromRecords = withSeals ? segment.lastSealRecords : segment.records;
    if (size <= from) return size;
    const scan = await scanWindow(handle, segment, from, size - from, fromRecords);
    const records = fromRecords + scan.sealRecords;
    segment.lastSealEnd = from + scan.sealEnd;
    segment.lastSealRecords = records;
    if (records > segment.records) {
      segment.records = records;
      segment.bytes = from + scan.sealEnd;
      state.nextPosition = segment.firstPosition + records;
      if (!Number.isNaN(scan.lastRecordedAt))
        state.lastRecordedAt = Math.max(state.lastRecordedAt, scan.lastRecordedAt);
    }
    segment.index.truncate(segment.records);
    return size;
  } catch (error) {
    throw ioError('read segment', segment.path, error);
  } finally {
    await handle?.close();
  }
}

/**
 * Scan what was written after `from`: a window that starts small and doubles while the walk
 * runs into its end, so the writer's zero tail (zero-fill-ahead.ts: megabytes of zeros after
 * the data) is not read on every refresh. A walk that stops at a zero frame header has met
 * "nothing more yet" -- the zero tail, or a write still in progress -- and is done.
 */
async function scanWindow(
  handle: fs.FileHandle,
  segment: SegmentState,
  from: number,
  available: number,
  fromRecords: number,
): Promise<FrameScan> {
  let want = Math.min(available, FIRST_WINDOW_BYTES);
  // Bounded: the window doubles up to `available`.
  for (;;) {
    const buf = Buffer.allocUnsafe(want);
    const { bytesRead } = await handle.read(buf, 0, want, from);
    // The index is told only in the last round: a rescan must not note records twice.
    const scan = scanFrames(buf, 0, bytesRead, {
      formatVersion: segment.formatVersion,
      firstPosition: segment.firstPosition + fromRecords,
      index: null,
      fileOffsetOfBuf: from,
    });
    const stopAt = scan.stop?.offset ?? bytesRead;
    const atZero = scan.stop !== null && zeroHeaderAt(buf, stopAt, bytesRead);
    if (atZero || want >= available || bytesRead < want) {
      return scanFrames(buf, 0, bytesRead, {
        formatVersion: segment.formatVersion,
        firstPosition: segment.firstPosition + fromRecords,
        index: segment.index,
        firstRecordIndex: fromRecords,
        fileOffsetOfBuf: from,
      });
    }
    want = Math.min(available, want * 2);
  }
}

/** True when the frame header at `off` is all zero bytes (as far as read). */
function zeroHeaderAt(buf: Buffer, off: number, end: number): boolean {
  const to = Math.min(end, off + RECORD_HEADER_BYTES);
  for (let i = off; i < to; i++) if (buf[i] !== 0) return false;
  return to > off;
}

/** Bring a read-only view up to what the writer has committed. */
export async function refreshTail(state: LogState): Promise<void> {
  for (let taken = 0; taken < MAX_SEGMENTS_PER_REFRESH; taken++) {
    // List before scanning: a segment listed now was created after its predecessor was complete.
    const listing = await listLogDirectory(state.dir);
    const last = state.segments[state.segments.length - 1];
    const nextName = listing.segments.find((n) => parseSegmentFileName(n)! > (last?.firstPosition ?? -1));
    if (last !== undefined) {
      const size = await extendSegment(state, last);
      if (nextName === undefined) return;
      const nextFirst = parseSegmentFileName(nextName)!;
      if (last.firstPosition + last.records !== nextFirst || size !== last.bytes) {
        throw corruptAt(
          last,
          last.bytes,
          `segment ends at position ${last.firstPosition + last.records - 1} but the next segment ${nextName} starts at ${nextFirst}`,
        );
      }
      last.sealed = true;
    } else if (nextName === undefined) {
      return;
    }
    const found = await readSegmentHeader(state.dir, nextName!);
    if (last === undefined) {
      if (found.header.firstPosition !== 0)
        throw corruptAt(found, 0, 'first segment does not start at position 0');
      state.streamId = found.header.streamId;
    } else if (found.header.streamId !== state.streamId) {
      throw corruptAt(
        found,
        0,
        `segment belongs to stream '${found.header.streamId}', the log to '${state.streamId}'`,
      );
    }
    state.segments.push(segmentState(found, 0, SEGMENT_HEADER_BYTES, new SparseIndex(), false));
  }
}
