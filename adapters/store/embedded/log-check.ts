import { promises as fs } from 'node:fs';
import path from 'node:path';
import { LogCorruptError } from '../../../domain/errors.js';
import { ioError, readFileOrNull } from './durable-file.js';
import { listLogDirectory } from './open-log.js';
import { decodeEvent, KIND_JSON, recordKind } from './record-codec.js';
import {
  decodeSegmentHeader,
  indexFileName,
  parseSegmentFileName,
  SEGMENT_HEADER_BYTES,
} from './segment-format.js';
import { decodeIndexFile } from './segment-index.js';
import { classifyTail, scanFrames } from './segment-scanner.js';

/**
 * `shadowlog log check`: verify every record of every segment -- CRC, framing, and the schema
 * of every JSON event -- plus headers, position continuity and index files, and report what
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
  /** Frames that would be dropped. */
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

/** Verify the log in `dir` without modifying it. Throws IoError only when it cannot be read at all. */
export async function checkLog(dir: string): Promise<LogCheckReport> {
  const { segments: names } = await listLogDirectory(dir);
  const segments: SegmentCheck[] = [];
  const corruptions: LogCorruption[] = [];
  const warnings: string[] = [];
  let streamId: string | null = null;
  let tornTail: TornTailReport | null = null;
  let records = 0;
  let bytes = 0;
  /** Where the next segment must start, or null when unknown after damage. */
  let expectedFirst: number | null = 0;
  for (let i = 0; i < names.length; i++) {
    const name = names[i]!;
    const filePath = path.join(dir, name);
    const sealed = i < names.length - 1;
    const corrupt = (offset: number, message: string) =>
      corruptions.push({ segment: name, path: filePath, offset, message });
    let buf: Buffer;
    try {
      buf = await fs.readFile(filePath);
    } catch (error) {
      throw ioError('read segment', filePath, error);
    }
    bytes += buf.length;
    let first = parseSegmentFileName(name)!;
    let headerCrc = 0;
    try {
      const header = decodeSegmentHeader(buf, filePath);
      headerCrc = header.headerCrc;
      if (header.firstPosition !== first)
        throw new LogCorruptError(`header says first position ${header.firstPosition}`);
      first = header.firstPosition;
      streamId ??= header.streamId;
      if (header.streamId !== streamId)
        throw new LogCorruptError(`segment belongs to stream '${header.streamId}', the log to '${streamId}'`);
    } catch (error) {
      corrupt(0, (error as Error).message);
      segments.push({
        file: name,
        firstPosition: first,
        records: 0,
        bytes: buf.length,
        sealed,
        index: 'none',
      });
      expectedFirst = null;
      continue;
    }
    if (expectedFirst !== null && first !== expectedFirst) {
      corrupt(
        0,
        `segment starts at position ${first} but the previous data ends before ${expectedFirst}: a segment is missing or damaged`,
      );
    }
    const scan = scanFrames(buf, SEGMENT_HEADER_BYTES, buf.length);
    const tail = classifyTail(buf, scan, buf.length);
    let segmentRecords = scan.committedRecords;
    let damaged = false;
    const jsonProblem = firstInvalidJson(buf, scan.validEnd);
    if (jsonProblem !== null) {
      corrupt(jsonProblem.offset, `record passes its CRC but its event is invalid: ${jsonProblem.message}`);
      damaged = true;
    } else if (tail.kind === 'corrupt') {
      corrupt(tail.offset, tail.reason);
      damaged = true;
    } else if (tail.kind === 'torn') {
      if (sealed) {
        corrupt(tail.offset, `sealed segment is damaged: ${tail.reason}`);
        damaged = true;
      } else {
        const { offset, bytesDropped, recordsDropped, reason } = tail;
        tornTail = { segment: name, offset, bytesDropped, recordsDropped, reason };
      }
    }
    if (damaged) segmentRecords = scan.validRecords;
    let index: SegmentCheck['index'] = 'none';
    const indexBytes = await readFileOrNull(path.join(dir, indexFileName(first)));
    if (sealed) {
      if (indexBytes === null) index = 'missing';
      else {
        const contents = decodeIndexFile(indexBytes);
        const matches =
          typeof contents !== 'string' &&
          contents.firstPosition === first &&
          contents.records === scan.committedRecords &&
          contents.segmentBytes === buf.length &&
          contents.segmentHeaderCrc === headerCrc;
        index = matches ? 'ok' : 'invalid';
      }
      if (index !== 'ok') warnings.push(`index of ${name} is ${index}; the next writable open rebuilds it`);
    } else if (indexBytes !== null) {
      warnings.push(
        `stale index ${indexFileName(first)} beside the active segment; the next writable open removes it`,
      );
    }
    segments.push({
      file: name,
      firstPosition: first,
      records: segmentRecords,
      bytes: buf.length,
      sealed,
      index,
    });
    records += segmentRecords;
    expectedFirst = damaged ? null : first + segmentRecords;
  }
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
