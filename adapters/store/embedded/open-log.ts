import { promises as fs } from 'node:fs';
import path from 'node:path';
import { InvalidArgumentError, LogCorruptError, NotFoundError } from '../../../domain/errors.js';
import { fsyncDirectory, ioError, readFileOrNull } from './durable-file.js';
import type { DurableListener } from './durable-listener.js';
import { checkManifest, listInManifest, MANIFEST_FILE_NAME, readManifest } from './log-manifest.js';
import { corruptAt, type LogState, type SegmentState } from './log-state.js';
import {
  createSegmentFile,
  type FoundSegment,
  listLogDirectory,
  readSegmentHeader,
  segmentState,
  writeIndexFile,
} from './segment-files.js';
import { indexFileName, SEGMENT_FORMAT_VERSION, SEGMENT_HEADER_BYTES } from './segment-format.js';
import { decodeIndexFile, SparseIndex } from './segment-index.js';
import { scanFrames } from './segment-scanner.js';
import { classifyTail } from './tail-classification.js';
import { type DamagedRegion, recoverLastSegment } from './tail-recovery.js';

/**
 * Opening a log directory: find the segments, check them against the manifest, verify them,
 * and recover the tail.
 *
 * How much is verified at open, and why:
 * - the manifest (log-manifest.ts) against the segment files: a lost segment -- first, middle,
 *   last or only -- is corruption, named; read-only opens check it too;
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
 *   know exactly where its valid data ends (tail-recovery.ts). Damage of durable data there is
 *   refused by a writable open; a read-only open keeps the intact prefix and reports where it
 *   ends (`damagedAt`), so time travel before the damage still works.
 * A sealed segment without a usable index is scanned in full (every CRC) and its index rebuilt.
 *
 * A new log is only made in a directory that is missing or empty (a lock file and temp files
 * aside): a directory holding anything else but no valid log is refused, never written into.
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
  /** Records dropped: whole records of an unfinished batch plus one damaged or partial record (a damaged seal drops none). */
  readonly recordsDropped: number;
  /** Why the tail was dropped, in words; null when nothing was. */
  readonly reason: string | null;
  /** Sealed segments whose `.idx` was missing or invalid and was rebuilt by a full scan. */
  readonly indexesRebuilt: readonly string[];
  /** Leftover temporary files removed (writable opens only). */
  readonly tempFilesRemoved: readonly string[];
  /** True when opened read-only: nothing on disk was changed. */
  readonly readOnly: boolean;
  /**
   * Read-only opens only: where damage of durable data in the last segment cut the readable
   * log short (positions before it read as usual), or null. A writable open throws instead.
   */
  readonly damagedAt: DamagedRegion | null;
}

/** Options of {@link openLog}. */
export interface OpenLogOptions {
  /** Stream id; required to create a log, checked against an existing one. */
  readonly streamId?: string | undefined;
  /** Take nothing, change nothing. */
  readonly readOnly: boolean;
  /** Clock for new segment headers. */
  readonly clock: () => number;
  /** Make a new log when the directory is missing or empty (default true); false: NotFoundError. */
  readonly create?: boolean;
  /** Told when bytes became durable (durable-listener.ts). */
  readonly onDurable?: DurableListener | undefined;
  /** Position of the first event of a new log (default 0; an incident bundle's log starts later). */
  readonly firstPosition?: number | undefined;
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
  damagedAt: null,
} as const;

/** Open the log in `dir`: verify, recover, and describe it. */
export async function openLog(
  dir: string,
  options: OpenLogOptions,
): Promise<{ state: LogState; recovery: RecoveryReport }> {
  const { readOnly } = options;
  const { segmentNames, others, tempFilesRemoved } = await prepareDirectory(dir, readOnly);
  const found: FoundSegment[] = [];
  for (const name of segmentNames) found.push(await readSegmentHeader(dir, name));
  const streamId = checkStreamIds(dir, found, options.streamId);
  const manifest = await readManifest(dir);
  const listed = found.map((f) => ({
    ...f,
    firstPosition: f.header.firstPosition,
    formatVersion: f.header.formatVersion,
  }));
  const { problems, stale } = checkManifest(dir, manifest, listed, found[0]?.header.streamId);
  if (problems.length > 0) throw corruptAt(problems[0]!, 0, problems[0]!.message);
  if (found.length === 0) {
    if (others.length > 0) throw foreignDirectory(dir, others);
    const state = await startEmptyLog(dir, streamId, options);
    return { state, recovery: { ...NO_TORN_TAIL, indexesRebuilt: [], tempFilesRemoved, readOnly } };
  }
  assertDefined(streamId);
  // The manifest says where the log starts: 0, or later for an incident bundle's log. A lost
  // first segment is caught by the manifest check above; without a manifest (a legacy log) it
  // must start at 0.
  const start = manifest?.firstPositions[0] ?? 0;
  if (found[0]!.header.firstPosition !== start) {
    throw corruptAt(
      found[0]!,
      0,
      `first segment starts at position ${found[0]!.header.firstPosition}, not ${start}: earlier segments are missing`,
    );
  }
  const { segments, indexesRebuilt } = await loadSealedSegments(dir, found, readOnly);
  const lastFound = found[found.length - 1]!;
  const { last, torn, damaged, lastRecordedAt } = await recoverLastSegment(
    lastFound,
    readOnly,
    options.onDurable,
  );
  segments.push(last);
  const state: LogState = {
    dir,
    streamId,
    segments,
    nextPosition: last.firstPosition + last.records,
    lastRecordedAt: Number.isNaN(lastRecordedAt) ? lastFound.header.createdAtMs : lastRecordedAt,
  };
  if (!readOnly) {
    // An index of the active segment is stale (left by a crash right after sealing): it
    // would be rewritten at the next seal anyway.
    await fs.rm(path.join(dir, indexFileName(last.firstPosition)), { force: true });
    if (indexesRebuilt.length > 0 || tempFilesRemoved.length > 0) await fsyncDirectory(dir);
    // The writer writes format-3 seals only into a format-3 segment: an older active segment
    // is sealed as it is and a new one started.
    const upgraded = last.formatVersion < SEGMENT_FORMAT_VERSION;
    if (upgraded) await startCurrentFormatSegment(state, options);
    if (upgraded || stale) await listInManifest(state, options.onDurable);
  }
  const recovery = {
    ...(torn ?? NO_TORN_TAIL),
    damagedAt: damaged,
    indexesRebuilt,
    tempFilesRemoved,
    readOnly,
  };
  return { state, recovery };
}

/**
 * Before taking the lock: refuse a directory that holds files but no log (no segment, no
 * manifest), so that even the lock file is not created in it. {@link openLog} checks again
 * under the lock.
 */
export async function refuseForeignDirectory(dir: string): Promise<void> {
  let listing: Awaited<ReturnType<typeof listLogDirectory>>;
  try {
    listing = await listLogDirectory(dir);
  } catch {
    return; // Missing: a new log may be created; any other problem shows under the lock.
  }
  if (
    listing.segments.length === 0 &&
    listing.others.length > 0 &&
    !listing.others.includes(MANIFEST_FILE_NAME)
  ) {
    throw foreignDirectory(dir, listing.others);
  }
}

function foreignDirectory(dir: string, others: readonly string[]): LogCorruptError {
  return new LogCorruptError(
    `event log corrupt: ${dir} holds ${others.slice(0, 5).join(', ')}${others.length > 5 ? ', ...' : ''} but no segment: its segments were lost, or it is not a shadowlog log; refusing to create a new log over it (restore it from a backup, or give an empty directory)`,
  );
}

/** Create the directory and remove leftover temp files (unless read-only); list the segments. */
async function prepareDirectory(
  dir: string,
  readOnly: boolean,
): Promise<{ segmentNames: string[]; others: string[]; tempFilesRemoved: string[] }> {
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
  return { segmentNames: listing.segments, others: listing.others, tempFilesRemoved };
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

/**
 * A missing or empty directory: an empty view when read-only, else (when creating is allowed)
 * a new log -- its first segment, then the manifest listing it.
 */
async function startEmptyLog(
  dir: string,
  streamId: string | undefined,
  options: OpenLogOptions,
): Promise<LogState> {
  if (options.readOnly) {
    return { dir, streamId: streamId ?? '', segments: [], nextPosition: 0, lastRecordedAt: 0 };
  }
  const start = options.firstPosition ?? 0;
  if (options.create === false) {
    throw new NotFoundError(`event log ${dir} does not exist (the directory is empty); create the log first`);
  }
  if (streamId === undefined) throw new InvalidArgumentError(`creating event log ${dir} needs a streamId`);
  const first = await createSegmentFile(dir, streamId, start, options.clock());
  options.onDurable?.({
    segmentPath: first.path,
    endOffsetBytes: SEGMENT_HEADER_BYTES,
    lastPosition: start - 1,
  });
  const state: LogState = { dir, streamId, segments: [first], nextPosition: start, lastRecordedAt: 0 };
  await listInManifest(state, options.onDurable);
  return state;
}

/**
 * A log whose last segment is an older format (1: no seals; 2: seals of one write in flight):
 * start a format-3 segment for the writer -- a new one after it, or, when it holds no record,
 * one in its place.
 */
async function startCurrentFormatSegment(state: LogState, options: OpenLogOptions): Promise<void> {
  const segments = state.segments;
  const last = segments[segments.length - 1]!;
  const createdAt = Math.max(options.clock(), state.lastRecordedAt);
  if (last.records > 0) {
    // A format-2 segment may end in a zero tail (zero-fill-ahead.ts); a sealed one may not.
    await cutToData(last);
    await writeIndexFile(state.dir, last, false);
    last.sealed = true;
  }
  const created = await createSegmentFile(state.dir, state.streamId, state.nextPosition, createdAt);
  if (last.records > 0) segments.push(created);
  else segments[segments.length - 1] = created;
  options.onDurable?.({
    segmentPath: created.path,
    endOffsetBytes: SEGMENT_HEADER_BYTES,
    lastPosition: state.nextPosition - 1,
  });
}

/** Truncate a segment file to its data end and make the size durable (no-op when it is that size). */
async function cutToData(segment: SegmentState): Promise<void> {
  let handle: fs.FileHandle | undefined;
  try {
    handle = await fs.open(segment.path, 'r+');
    if ((await handle.stat()).size === segment.bytes) return;
    await handle.truncate(segment.bytes);
    await handle.datasync();
  } catch (error) {
    throw ioError('cut the zero tail of', segment.path, error);
  } finally {
    await handle?.close();
  }
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
  let buf: Buffer;
  try {
    buf = await fs.readFile(f.path);
  } catch (error) {
    throw ioError('read segment', f.path, error);
  }
  const index = new SparseIndex();
  const scan = scanFrames(buf, SEGMENT_HEADER_BYTES, buf.length, {
    formatVersion: f.header.formatVersion,
    firstPosition: f.header.firstPosition,
    index,
  });
  if (scan.stop !== null || scan.sealEnd !== buf.length) {
    const tail = classifyTail(buf, scan, buf.length);
    const offset = tail.kind === 'clean' ? scan.sealEnd : tail.offset;
    const why =
      tail.kind === 'clean'
        ? `${buf.length - tail.dataEnd} zero bytes follow its last seal; only the active segment may have a zero tail`
        : tail.reason;
    throw corruptAt(f, offset, `sealed segment is damaged: ${why}`);
  }
  return segmentState(f, scan.committedRecords, buf.length, index, true);
}
