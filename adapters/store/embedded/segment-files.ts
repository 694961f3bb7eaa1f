import { promises as fs } from 'node:fs';
import path from 'node:path';
import { LogCorruptError } from '../../../domain/errors.js';
import { ioError, TEMP_SUFFIX, writeFileAtomically } from './durable-file.js';
import { corruptAt, type SegmentState } from './log-state.js';
import {
  decodeSegmentHeader,
  encodeSegmentHeader,
  indexFileName,
  parseSegmentFileName,
  SEGMENT_HEADER_BYTES,
  type SegmentHeader,
  segmentFileName,
} from './segment-format.js';
import { encodeIndexFile, SparseIndex } from './segment-index.js';
import { LOCK_FILE_NAME } from './write-lock.js';

/**
 * The files of a log directory: listing the segments, reading a segment's header, creating a
 * segment and writing a sealed segment's index. Used when opening (open-log.ts), by the writer
 * when it rolls (group-commit-writer.ts), by read-only views (follow-tail.ts) and by
 * `log check` (log-check.ts).
 */

/** A segment file found on disk, header verified. */
export interface FoundSegment {
  /** Its verified header. */
  readonly header: SegmentHeader;
  /** File name. */
  readonly name: string;
  /** Full path. */
  readonly path: string;
  /** File size when found. */
  readonly sizeBytes: number;
}

/** Read and verify the header of a segment file. */
export async function readSegmentHeader(dir: string, name: string): Promise<FoundSegment> {
  const filePath = path.join(dir, name);
  let handle: fs.FileHandle | undefined;
  try {
    handle = await fs.open(filePath, 'r');
    const stat = await handle.stat();
    const buf = Buffer.alloc(Math.min(SEGMENT_HEADER_BYTES, stat.size));
    await handle.read(buf, 0, buf.length, 0);
    const header = decodeSegmentHeader(buf, filePath);
    if (header.firstPosition !== parseSegmentFileName(name)) {
      throw corruptAt({ path: filePath }, 0, `header says first position ${header.firstPosition}`);
    }
    return { header, name, path: filePath, sizeBytes: stat.size };
  } catch (error) {
    if (error instanceof LogCorruptError) throw error;
    throw ioError('read segment', filePath, error);
  } finally {
    await handle?.close();
  }
}

/**
 * Segment file names of `dir` in position order, leftover temp files, and every other name
 * but the lock file (index files, the manifest, anything else): a directory with other names
 * but no segment is not an empty directory to create a log in.
 */
export async function listLogDirectory(
  dir: string,
): Promise<{ segments: string[]; temps: string[]; others: string[] }> {
  let names: string[];
  try {
    names = await fs.readdir(dir);
  } catch (error) {
    throw ioError('list log directory', dir, error);
  }
  const segments = names.filter((n) => parseSegmentFileName(n) !== null);
  segments.sort((a, b) => parseSegmentFileName(a)! - parseSegmentFileName(b)!);
  const temps = names.filter((n) => n.endsWith(TEMP_SUFFIX));
  const others = names.filter(
    (n) => parseSegmentFileName(n) === null && !n.endsWith(TEMP_SUFFIX) && n !== LOCK_FILE_NAME,
  );
  return { segments, temps, others };
}

/**
 * The in-memory state of a found segment whose data ends with a whole batch (its last seal at
 * `bytes`); a recovered tail without its seal passes where its last seal ends.
 */
export function segmentState(
  found: FoundSegment,
  records: number,
  bytes: number,
  index: SparseIndex,
  sealed: boolean,
  lastSeal: { readonly end: number; readonly records: number } = { end: bytes, records },
): SegmentState {
  return {
    firstPosition: found.header.firstPosition,
    name: found.name,
    path: found.path,
    headerCrc: found.header.headerCrc,
    records,
    bytes,
    index,
    sealed,
    formatVersion: found.header.formatVersion,
    lastSealEnd: lastSeal.end,
    lastSealRecords: lastSeal.records,
  };
}

/** Write the `.idx` of a sealed segment. */
export async function writeIndexFile(dir: string, segment: SegmentState, syncDir: boolean): Promise<void> {
  const bytes = encodeIndexFile({
    firstPosition: segment.firstPosition,
    records: segment.records,
    segmentBytes: segment.bytes,
    segmentHeaderCrc: segment.headerCrc,
    index: segment.index,
  });
  await writeFileAtomically(dir, indexFileName(segment.firstPosition), bytes, syncDir);
}

/** Create a new, empty segment file (header only) durably. */
export async function createSegmentFile(
  dir: string,
  streamId: string,
  firstPosition: number,
  createdAtMs: number,
): Promise<SegmentState> {
  const name = segmentFileName(firstPosition);
  const header = encodeSegmentHeader(streamId, firstPosition, createdAtMs);
  await writeFileAtomically(dir, name, header);
  return segmentState(
    {
      header: decodeSegmentHeader(header, name),
      name,
      path: path.join(dir, name),
      sizeBytes: SEGMENT_HEADER_BYTES,
    },
    0,
    SEGMENT_HEADER_BYTES,
    new SparseIndex(),
    false,
  );
}
