import { promises as fs } from 'node:fs';
import path from 'node:path';
import { LogCorruptError } from '../../../domain/errors.js';
import { ioError, readFileOrNull } from './durable-file.js';
import {
  checkManifest,
  type ListedSegment,
  type LogManifest,
  MANIFEST_FILE_NAME,
  readManifest,
} from './log-manifest.js';
import { decodeEvent, KIND_JSON, recordKind } from './record-codec.js';
import { listLogDirectory } from './segment-files.js';
import {
  decodeSegmentHeader,
  indexFileName,
  parseSegmentFileName,
  SEGMENT_FORMAT_VERSION,
  SEGMENT_HEADER_BYTES,
  type SegmentHeader,
} from './segment-format.js';
import { decodeIndexFile } from './segment-index.js';
import { type FrameScan, scanFrames } from './segment-scanner.js';
import { classifyTail } from './tail-classification.js';

/**
 * `shadowlog log check`: verify every record of every segment -- CRC, framing, batch seals, and
 * the schema of every JSON event -- plus headers, position continuity, the manifest (a lost
 * segment anywhere) and index files, and report what
 * was found. Unlike opening, it never stops at the first problem and never changes anything
 * (a torn tail is reported, not cut). Reads one segment at a time.
 */

/** One problem that makes the log unreadable past it. */
export interface LogCorruption {
  /** Segment file name. */
  readonly segment: string;
  /** Full path of the segment. */
  readonly path: string;
  /** Byte offset in the segment. */
  readonly offset: number;
  /** What is wrong. */
  readonly message: string;
}

/** A torn tail that the next writable open will cut off. */
export interface TornTailReport {
  /** Segment file name. */
  readonly segment: string;
  /** Byte offset where the dropped tail starts. */
  readonly offset: number;
  /** Bytes that would be dropped. */
  readonly bytesDropped: number;
  /** Records that would be dropped (a damaged or partial seal counts none). */
  readonly recordsDropped: number;
  /** Why. */
  readonly reason: string;
}

/** One segment as checked. */
export interface SegmentCheck {
  /** File name. */
  readonly file: string;
  /** First position from its header (from its name when the header is damaged). */
  readonly firstPosition: number;
  /** Valid committed records. */
  readonly records: number;
  /** File size in bytes. */
  readonly bytes: number;
  /** True for every segment but the last. */
  readonly sealed: boolean;
  /** State of its `.idx`: `ok`, `missing`, `invalid` (rebuilt at the next open), or `none` for the active segment. */
  readonly index: 'ok' | 'missing' | 'invalid' | 'none';
}

/** Result of {@link checkLog}. */
export interface LogCheckReport {
  /** Log directory. */
  readonly dir: string;
  /** True when no corruption was found (a torn tail is recoverable and does not count). */
  readonly ok: boolean;
  /** Stream id of the first readable header, or null. */
  readonly streamId: string | null;
  /** Segments in position order. */
  readonly segments: readonly SegmentCheck[];
  /** Valid committed records in all segments. */
  readonly records: number;
  /** Total bytes of all segment files. */
  readonly bytes: number;
  /** The torn tail of the last segment, or null. */
  readonly tornTail: TornTailReport | null;
  /** Every corruption found (at most one per segment: the first). */
  readonly corruptions: readonly LogCorruption[];
  /** Things the next writable open repairs by itself (invalid or stale index files). */
  readonly warnings: readonly string[];
}

/** What {@link checkLog} has found so far; each segment's check adds to it. */
interface CheckProgress {
  readonly dir: string;
  readonly segments: SegmentCheck[];
  readonly corruptions: LogCorruption[];
  readonly warnings: string[];
  streamId: string | null;
  tornTail: TornTailReport | null;
  records: number;
  bytes: number;
  /** Where the next segment must start, or null when unknown after damage. */
  expectedFirst: number | null;
  /** Every segment as the manifest check sees it. */
  readonly listed: ListedSegment[];
}

/** Verify the log in `dir` without modifying it. Throws IoError only when it cannot be read at all. */
export async function checkLog(dir: string): Promise<LogCheckReport> {
  const { segments: names, others } = await listLogDirectory(dir);
  const progress: CheckProgress = {
    listed: [],
    dir,
    segments: [],
    corruptions: [],
    warnings: [],
    streamId: null,
    tornTail: null,
    records: 0,
    bytes: 0,
    expectedFirst: 0,
  };
  // One segment in memory at a time; bounded by the directory listing.
  for (let i = 0; i < names.length; i++) await checkSegment(progress, names[i]!, i < names.length - 1);
  await checkAgainstManifest(progress, names.length === 0 ? others : []);
  const { segments, corruptions, warnings, streamId, tornTail, records, bytes } = progress;
  return {
    dir,
    ok: corruptions.length === 0,
    streamId,
    segments,
    records,
    bytes,
    tornTail,
    corruptions,
    warnings,
  };
}

/**
 * The segments against the manifest: a lost segment (listed, not on disk), an unexplained
 * one, a missing or damaged manifest; `strays` are the files of a directory without segments.
 */
async function checkAgainstManifest(progress: CheckProgress, strays: readonly string[]): Promise<void> {
  const manifestPath = path.join(progress.dir, MANIFEST_FILE_NAME);
  let manifest: LogManifest | null;
  try {
    manifest = await readManifest(progress.dir);
  } catch (error) {
    if (!(error instanceof LogCorruptError)) throw error;
    const offset = Number(/byte offset (\d+)/.exec(error.message)?.[1] ?? 0);
    progress.corruptions.push({
      segment: MANIFEST_FILE_NAME,
      path: manifestPath,
      offset,
      message: error.message,
    });
    return;
  }
  const { problems } = checkManifest(progress.dir, manifest, progress.listed, progress.streamId ?? undefined);
  for (const problem of problems) {
    const segment = path.basename(problem.path);
    progress.corruptions.push({ segment, path: problem.path, offset: 0, message: problem.message });
  }
  if (manifest === null && progress.listed.length === 0 && strays.length > 0) {
    progress.corruptions.push({
      segment: strays[0]!,
      path: path.join(progress.dir, strays[0]!),
      offset: 0,
      message: `${progress.dir} holds ${strays.join(', ')} but no segment and no manifest: its segments were lost, or it is not a shadowlog log`,
    });
  }
}

/** Check one segment file: header, continuity, frames, index. */
async function checkSegment(progress: CheckProgress, name: string, sealed: boolean): Promise<void> {
  const filePath = path.join(progress.dir, name);
  const corrupt = (offset: number, message: string) =>
    progress.corruptions.push({ segment: name, path: filePath, offset, message });
  const buf = await readSegmentFile(filePath);
  progress.bytes += buf.length;
  const header = checkHeader(progress, buf, name, filePath);
  if (typeof header === 'string') {
    corrupt(0, header);
    const firstPosition = parseSegmentFileName(name)!;
    progress.listed.push({
      firstPosition,
      name,
      formatVersion: SEGMENT_FORMAT_VERSION,
      sizeBytes: buf.length,
    });
    progress.segments.push({
      file: name,
      firstPosition,
      records: 0,
      bytes: buf.length,
      sealed,
      index: 'none',
    });
    progress.expectedFirst = null;
    return;
  }
  const first = header.firstPosition;
  progress.listed.push({
    firstPosition: first,
    name,
    formatVersion: header.formatVersion,
    sizeBytes: buf.length,
  });
  if (progress.expectedFirst !== null && first !== progress.expectedFirst) {
    corrupt(
      0,
      `segment starts at position ${first} but the previous data ends before ${progress.expectedFirst}: a segment is missing or damaged`,
    );
  }
  const scan = scanFrames(buf, SEGMENT_HEADER_BYTES, buf.length, {
    formatVersion: header.formatVersion,
    firstPosition: first,
  });
  const frames = checkFrames(buf, scan, sealed);
  if (frames.damage !== null) corrupt(frames.damage.offset, frames.damage.message);
  if (frames.torn !== null) {
    const { offset, bytesDropped, recordsDropped, reason } = frames.torn;
    progress.tornTail = { segment: name, offset, bytesDropped, recordsDropped, reason };
  }
  const damaged = frames.damage !== null;
  const kept = frames.torn?.keptRecords ?? scan.committedRecords;
  const records = damaged ? scan.validRecords : kept;
  const index = await checkIndex(progress, name, sealed, header, scan.committedRecords, buf.length);
  const bytes = frames.dataEnd;
  progress.segments.push({ file: name, firstPosition: first, records, bytes, sealed, index });
  progress.records += records;
  progress.expectedFirst = damaged ? null : first + records;
}

async function readSegmentFile(filePath: string): Promise<Buffer> {
  try {
    return await fs.readFile(filePath);
  } catch (error) {
    throw ioError('read segment', filePath, error);
  }
}

/** The segment's verified header, or what is wrong with it; notes the log's stream id. */
function checkHeader(
  progress: CheckProgress,
  buf: Buffer,
  name: string,
  filePath: string,
): SegmentHeader | string {
  try {
    const header = decodeSegmentHeader(buf, filePath);
    if (header.firstPosition !== parseSegmentFileName(name)) {
      return `header says first position ${header.firstPosition}`;
    }
    progress.streamId ??= header.streamId;
    if (header.streamId !== progress.streamId) {
      return `segment belongs to stream '${header.streamId}', the log to '${progress.streamId}'`;
    }
    return header;
  } catch (error) {
    return (error as Error).message;
  }
}

/** The first damage among a segment's frames (schema, CRC or framing), or its torn tail. */
function checkFrames(
  buf: Buffer,
  scan: FrameScan,
  sealed: boolean,
): {
  readonly damage: { readonly offset: number; readonly message: string } | null;
  readonly torn: (Omit<TornTailReport, 'segment'> & { readonly keptRecords: number }) | null;
  /** Where the segment's data ends: the file's end, or the last seal before a zero tail. */
  readonly dataEnd: number;
} {
  const dataEnd = buf.length;
  const jsonProblem = firstInvalidJson(buf, scan.validEnd);
  if (jsonProblem !== null) {
    const message = `record passes its CRC but its event is invalid: ${jsonProblem.message}`;
    return { damage: { offset: jsonProblem.offset, message }, torn: null, dataEnd };
  }
  const tail = classifyTail(buf, scan, buf.length);
  if (tail.kind === 'corrupt') {
    return { damage: { offset: tail.offset, message: tail.reason }, torn: null, dataEnd };
  }
  if (tail.kind === 'clean') {
    if (!sealed || tail.dataEnd === dataEnd) return { damage: null, torn: null, dataEnd: tail.dataEnd };
    // The writer cuts the zero tail off before it seals a segment (group-commit-writer.ts roll).
    const message = `sealed segment has ${dataEnd - tail.dataEnd} zero bytes after its last seal; only the active segment may have a zero tail`;
    return { damage: { offset: tail.dataEnd, message }, torn: null, dataEnd };
  }
  if (sealed) {
    return {
      damage: { offset: tail.offset, message: `sealed segment is damaged: ${tail.reason}` },
      torn: null,
      dataEnd,
    };
  }
  const { offset, bytesDropped, recordsDropped, reason, keptRecords } = tail;
  return { damage: null, torn: { offset, bytesDropped, recordsDropped, reason, keptRecords }, dataEnd };
}

/** State of a segment's `.idx`; a missing, invalid or stale one adds a warning. */
async function checkIndex(
  progress: CheckProgress,
  name: string,
  sealed: boolean,
  header: SegmentHeader,
  committedRecords: number,
  segmentBytes: number,
): Promise<SegmentCheck['index']> {
  const first = header.firstPosition;
  const indexBytes = await readFileOrNull(path.join(progress.dir, indexFileName(first)));
  if (!sealed) {
    if (indexBytes !== null) {
      progress.warnings.push(
        `stale index ${indexFileName(first)} beside the active segment; the next writable open removes it`,
      );
    }
    return 'none';
  }
  let index: SegmentCheck['index'] = 'missing';
  if (indexBytes !== null) {
    const contents = decodeIndexFile(indexBytes);
    const matches =
      typeof contents !== 'string' &&
      contents.firstPosition === first &&
      contents.records === committedRecords &&
      contents.segmentBytes === segmentBytes &&
      contents.segmentHeaderCrc === header.headerCrc;
    index = matches ? 'ok' : 'invalid';
  }
  if (index !== 'ok')
    progress.warnings.push(`index of ${name} is ${index}; the next writable open rebuilds it`);
  return index;
}

/** First JSON record before `end` whose event fails its schema, or null. */
function firstInvalidJson(buf: Buffer, end: number): { offset: number; message: string } | null {
  let off = SEGMENT_HEADER_BYTES;
  // Bounded by `end`: the frames up to it were checked by scanFrames.
  while (off < end) {
    const frameBytes = 8 + buf.readUInt32LE(off + 4);
    if (recordKind(buf, off) === KIND_JSON) {
      try {
        decodeEvent(buf, off, frameBytes);
      } catch (error) {
        return { offset: off, message: (error as Error).message };
      }
    }
    off += frameBytes;
  }
  return null;
}
