import { promises as fs } from 'node:fs';
import path from 'node:path';
import { InvalidArgumentError } from '../../../domain/errors.js';
import { fsyncDirectory, ioError, readFileOrNull } from './durable-file.js';
import { corruptAt, type LogState, type SegmentState } from './log-state.js';
import {
  createSegmentFile,
  type FoundSegment,
  listLogDirectory,
  readSegmentHeader,
  segmentState,
  writeIndexFile,
} from './segment-files.js';
import { indexFileName, SEGMENT_HEADER_BYTES } from './segment-format.js';
import { decodeIndexFile, SparseIndex } from './segment-index.js';
import { classifyTail, scanFrames } from './segment-scanner.js';

/**
 * Opening a log directory: find the segments, verify them, and recover the tail.
 *
 * How much is verified at open, and why:
 * - every segment header (magic, version, CRC, first position equal to the file name, one
 *   stream id): one 256-byte read per segment, and a damaged header makes every position
 *   after it meaningless;
 * - every sealed segment against its `.idx` file (CRC-checked; same header CRC, same file
 *   size, record count equal to the gap to the next segment's first position), so a missing,
 *   truncated or extended segment is caught at open without reading it. Sealed records are NOT
 *   re-checksummed at open: that would make opening cost a full read of the log (tens of
 *   seconds for a large one) on every restart. Their CRCs are verified on every read and by
 *   `checkLog`, and a bad one throws -- never skipped;
 * - the last segment in full: it is the only one a crash can leave torn, and recovery must
 *   know exactly where its valid data ends.
 * A sealed segment without a usable index is scanned in full (every CRC) and its index rebuilt.
 */

/** What recovery found (and, unless read-only, fixed) at open. */
export interface RecoveryReport {
  /** True when the last segment had a torn tail; it was cut off unless `readOnly`. */
  readonly truncated: boolean;
  /** File name of the segment with the torn tail, or null. */
  readonly segment: string | null;
  /** Byte offset where the dropped tail starts (0 when none). */
  readonly offset: number;
  /** Bytes dropped. */
  readonly bytesDropped: number;
  /** Frames dropped: records of an unfinished append plus one damaged or partial frame. */
  readonly recordsDropped: number;
  /** Why the tail was dropped, in words; null when nothing was. */
  readonly reason: string | null;
  /** Sealed segments whose `.idx` was missing or invalid and was rebuilt by a full scan. */
  readonly indexesRebuilt: readonly string[];
  /** Leftover temporary files removed (writable opens only). */
  readonly tempFilesRemoved: readonly string[];
  /** True when opened read-only: nothing on disk was changed. */
  readonly readOnly: boolean;
}

/** Options of {@link openLog}. */
export interface OpenLogOptions {
  /** Stream id; required to create a log, checked against an existing one. */
  readonly streamId?: string | undefined;
  /** Take nothing, change nothing. */
  readonly readOnly: boolean;
  /** Clock for new segment headers. */
  readonly clock: () => number;
}

/** A sealed segment's state from its `.idx`, or null when the index is missing or does not match. */
async function loadIndex(found: FoundSegment, expectedRecords: number): Promise<SegmentState | null> {
  const first = found.header.firstPosition;
  const bytes = await readFileOrNull(path.join(path.dirname(found.path), indexFileName(first)));
  if (bytes === null) return null;
  const contents = decodeIndexFile(bytes);
  if (typeof contents === 'string') return null;
  const matches =
    contents.firstPosition === first &&
    contents.segmentBytes === found.sizeBytes &&
    contents.segmentHeaderCrc === found.header.headerCrc &&
    contents.records === expectedRecords;
  if (!matches) return null;
  return segmentState(found, contents.records, contents.segmentBytes, contents.index, true);
}

/** The report fields that describe a torn tail: none, for a log whose tail was clean. */
const NO_TORN_TAIL = {
  truncated: false,
  segment: null,
  offset: 0,
  bytesDropped: 0,
  recordsDropped: 0,
  reason: null,
} as const;

/** Open the log in `dir`: verify, recover, and describe it. */
export async function openLog(
  dir: string,
  options: OpenLogOptions,
): Promise<{ state: LogState; recovery: RecoveryReport }> {
  const { readOnly } = options;
  const { segmentNames, tempFilesRemoved } = await prepareDirectory(dir, readOnly);
  const found: FoundSegment[] = [];
  for (const name of segmentNames) found.push(await readSegmentHeader(dir, name));
  const streamId = checkStreamIds(dir, found, options.streamId);
  if (found.length === 0) {
    const state = await startEmptyLog(dir, streamId, options);
    return { state, recovery: { ...NO_TORN_TAIL, indexesRebuilt: [], tempFilesRemoved, readOnly } };
  }
  assertDefined(streamId);
  if (found[0]!.header.firstPosition !== 0) {
    throw corruptAt(
      found[0]!,
      0,
      `first segment starts at position ${found[0]!.header.firstPosition}, not 0: earlier segments are missing`,
    );
  }
  const { segments, indexesRebuilt } = await loadSealedSegments(dir, found, readOnly);
  const lastFound = found[found.length - 1]!;
  const { last, torn, lastRecordedAt } = await recoverLastSegment(lastFound, readOnly);
  segments.push(last);
  if (!readOnly) {
    // An index of the active segment is stale (left by a crash right after sealing): it
    // would be rewritten at the next seal anyway.
    await fs.rm(path.join(dir, indexFileName(last.firstPosition)), { force: true });
    if (indexesRebuilt.length > 0 || tempFilesRemoved.length > 0) await fsyncDirectory(dir);
  }
  const state: LogState = {
    dir,
    streamId,
    segments,
    nextPosition: last.firstPosition + last.records,
    lastRecordedAt: Number.isNaN(lastRecordedAt) ? lastFound.header.createdAtMs : lastRecordedAt,
  };
  return { state, recovery: { ...(torn ?? NO_TORN_TAIL), indexesRebuilt, tempFilesRemoved, readOnly } };
}

/** Create the directory and remove leftover temp files (unless read-only); list the segments. */
async function prepareDirectory(
  dir: string,
  readOnly: boolean,
): Promise<{ segmentNames: string[]; tempFilesRemoved: string[] }> {
  if (!readOnly) {
    try {
      await fs.mkdir(dir, { recursive: true });
    } catch (error) {
      throw ioError('create log directory', dir, error);
    }
  }
  const listing = await listLogDirectory(dir);
  const tempFilesRemoved: string[] = [];
  if (!readOnly) {
    for (const temp of listing.temps) {
      await fs.rm(path.join(dir, temp), { force: true });
      tempFilesRemoved.push(temp);
    }
  }
  return { segmentNames: listing.segments, tempFilesRemoved };
}

/** The log's stream id: every segment's, and the one asked for if any; undefined for a new log opened without one. */
function checkStreamIds(
  dir: string,
  found: readonly FoundSegment[],
  wanted: string | undefined,
): string | undefined {
  const streamId = found[0]?.header.streamId ?? wanted;
  if (wanted !== undefined && streamId !== wanted) {
    throw new InvalidArgumentError(`event log ${dir} holds stream '${streamId}', not '${wanted}'`);
  }
  for (const f of found) {
    if (f.header.streamId !== streamId) {
      throw corruptAt(f, 0, `segment belongs to stream '${f.header.streamId}', the log to '${streamId}'`);
    }
  }
  return streamId;
}

/** A directory without segments: an empty view when read-only, else a new log with its first segment. */
async function startEmptyLog(
  dir: string,
  streamId: string | undefined,
  options: OpenLogOptions,
): Promise<LogState> {
  if (options.readOnly) {
    return { dir, streamId: streamId ?? '', segments: [], nextPosition: 0, lastRecordedAt: 0 };
  }
  if (streamId === undefined) throw new InvalidArgumentError(`creating event log ${dir} needs a streamId`);
  const first = await createSegmentFile(dir, streamId, 0, options.clock());
  return { dir, streamId, segments: [first], nextPosition: 0, lastRecordedAt: 0 };
}

/**
 * Every segment but the last, from its `.idx`; one without a usable index is scanned in full,
 * checked against the next segment's first position, and (unless read-only) indexed again.
 */
async function loadSealedSegments(
  dir: string,
  found: readonly FoundSegment[],
  readOnly: boolean,
): Promise<{ segments: SegmentState[]; indexesRebuilt: string[] }> {
  const segments: SegmentState[] = [];
  const indexesRebuilt: string[] = [];
  for (let i = 0; i < found.length - 1; i++) {
    const f = found[i]!;
    const next = found[i + 1]!;
    const expected = next.header.firstPosition - f.header.firstPosition;
    let state = await loadIndex(f, expected);
    if (state === null) {
      state = await scanSealedSegment(f);
      if (state.records !== expected) {
        throw corruptAt(
          f,
          state.bytes,
          `segment holds positions ${f.header.firstPosition}..${f.header.firstPosition + state.records - 1} but the next segment ${next.name} starts at ${next.header.firstPosition}: a segment is missing or damaged`,
        );
      }
      if (!readOnly) await writeIndexFile(dir, state, false);
      indexesRebuilt.push(f.name);
    }
    segments.push(state);
  }
  return { segments, indexesRebuilt };
}

function assertDefined(value: string | undefined): asserts value is string {
  if (value === undefined) throw new InvalidArgumentError('stream id unknown');
}

/** Scan a sealed segment in full; any damage is corruption (a sealed segment was complete and durable). */
async function scanSealedSegment(f: FoundSegment): Promise<SegmentState> {
  const buf = await readWhole(f.path);
  const index = new SparseIndex();
  const scan = scanFrames(buf, SEGMENT_HEADER_BYTES, buf.length, index);
  if (scan.stop !== null || scan.committedEnd !== buf.length) {
    const tail = classifyTail(buf, scan, buf.length);
    const offset = tail.kind === 'clean' ? scan.committedEnd : tail.offset;
    const why = tail.kind === 'clean' ? 'damaged' : tail.reason;
    throw corruptAt(f, offset, `sealed segment is damaged: ${why}`);
  }
  return segmentState(f, scan.committedRecords, scan.committedEnd, index, true);
}

async function readWhole(filePath: string): Promise<Buffer> {
  try {
    return await fs.readFile(filePath);
  } catch (error) {
    throw ioError('read segment', filePath, error);
  }
}

/** Scan the last segment, classify its tail, and (unless read-only) cut off a torn tail durably. */
async function recoverLastSegment(
  f: FoundSegment,
  readOnly: boolean,
): Promise<{
  last: SegmentState;
  torn: Omit<RecoveryReport, 'indexesRebuilt' | 'tempFilesRemoved' | 'readOnly'> | null;
  lastRecordedAt: number;
}> {
  const buf = await readWhole(f.path);
  const index = new SparseIndex();
  const scan = scanFrames(buf, SEGMENT_HEADER_BYTES, buf.length, index);
  const tail = classifyTail(buf, scan, buf.length);
  if (tail.kind === 'corrupt') throw corruptAt(f, tail.offset, tail.reason);
  index.truncate(scan.committedRecords);
  const last = segmentState(f, scan.committedRecords, scan.committedEnd, index, false);
  if (tail.kind === 'clean') return { last, torn: null, lastRecordedAt: scan.lastRecordedAt };
  if (!readOnly) {
    let handle: fs.FileHandle | undefined;
    try {
      handle = await fs.open(f.path, 'r+');
      await handle.truncate(tail.offset);
      await handle.sync();
    } catch (error) {
      throw ioError('truncate torn tail of', f.path, error);
    } finally {
      await handle?.close();
    }
  }
  const torn = {
    truncated: true,
    segment: f.name,
    offset: tail.offset,
    bytesDropped: tail.bytesDropped,
    recordsDropped: tail.recordsDropped,
    reason: tail.reason,
  };
  return { last, torn, lastRecordedAt: scan.lastRecordedAt };
}
