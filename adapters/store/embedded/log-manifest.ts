import path from 'node:path';
import { LogCorruptError } from '../../../domain/errors.js';
import { crc32cOf } from './crc32c.js';
import { readFileOrNull, writeFileAtomically } from './durable-file.js';
import type { DurableListener } from './durable-listener.js';
import type { LogState } from './log-state.js';
import { readU32 } from './record-codec.js';
import {
  checkStreamId,
  LEGACY_SEGMENT_FORMAT_VERSION,
  readU64,
  SEGMENT_FORMAT_VERSION,
  SEGMENT_HEADER_BYTES,
  segmentFileName,
  writeU64,
} from './segment-format.js';

/**
 * The manifest: a small CRC-checked file beside the segments that lists the first position of
 * every segment, so that a lost segment -- the last one, the only one, or one in the middle --
 * is detected instead of read as a shorter log. Replaced atomically (temp file, fsync,
 * rename, directory fsync) at creation and after each roll, once the new segment is durable:
 *
 *   0   8  magic "SHDWMAN1"
 *   8   4  manifest version (u32 LE, 1)
 *   12  4  segment format version of the log (u32 LE)
 *   16  4  segment count n (u32 LE)
 *   20  2  stream id length in UTF-8 bytes (u16 LE)
 *   22  .. stream id
 *   ..  8n first position of each segment (u64 LE), increasing; the first is 0, or the first
 *          position of an incident bundle's log (docs/log-format.md, "Incident bundles")
 *   ..  4  crc32c over everything before
 *
 * Crash windows (docs/log-format.md): a roll creates segment N+1 before the manifest lists it,
 * so one segment past the manifest's last, starting where that one ends, is accepted (and
 * listed by the next writable open); a log created before manifests existed (format-1
 * segments) has none, and gets one at its next writable open.
 */

/** File name of the manifest inside a log directory. */
export const MANIFEST_FILE_NAME = 'MANIFEST';
const MAGIC = Buffer.from('SHDWMAN1', 'latin1');
const MANIFEST_VERSION = 1;
const FIXED_BYTES = 22;
/** Most segments a manifest lists: bounds its size (64 MiB segments: 4 PiB of log). */
const MAX_SEGMENTS = 1 << 26;

/** What a manifest says. */
export interface LogManifest {
  /** Stream id of the log. */
  readonly streamId: string;
  /** Segment format version of the log. */
  readonly formatVersion: number;
  /** First position of every segment, increasing. */
  readonly firstPositions: readonly number[];
}

/** A segment as the manifest check sees it. */
export interface ListedSegment {
  /** First position (from the file name and verified header). */
  readonly firstPosition: number;
  /** File name. */
  readonly name: string;
  /** Format version from the header. */
  readonly formatVersion: number;
  /** File size in bytes. */
  readonly sizeBytes: number;
}

/** One thing the manifest check found wrong. */
export interface ManifestProblem {
  /** Path of the file concerned (a segment, or the manifest). */
  readonly path: string;
  /** What is wrong and what to do. */
  readonly message: string;
}

/** Encode a manifest. */
export function encodeManifest(manifest: LogManifest): Buffer {
  checkStreamId(manifest.streamId);
  const id = Buffer.from(manifest.streamId, 'utf8');
  const n = manifest.firstPositions.length;
  const buf = Buffer.alloc(FIXED_BYTES + id.length + 8 * n + 4);
  MAGIC.copy(buf, 0);
  buf.writeUInt32LE(MANIFEST_VERSION, 8);
  buf.writeUInt32LE(manifest.formatVersion, 12);
  buf.writeUInt32LE(n, 16);
  buf.writeUInt16LE(id.length, 20);
  id.copy(buf, FIXED_BYTES);
  for (let i = 0; i < n; i++) writeU64(buf, manifest.firstPositions[i]!, FIXED_BYTES + id.length + 8 * i);
  const end = buf.length - 4;
  buf.writeUInt32LE(crc32cOf(buf.subarray(0, end)), end);
  return buf;
}

/** Decode and verify a manifest; throws LogCorruptError naming `where` and the offset. */
export function decodeManifest(buf: Buffer, where: string): LogManifest {
  const fail = (offset: number, why: string): never => {
    throw new LogCorruptError(
      `event log corrupt: manifest ${where} at byte offset ${offset}: ${why}; the segment list cannot be trusted (restore the log directory from a backup)`,
    );
  };
  if (buf.length < FIXED_BYTES + 4) fail(0, `truncated (${buf.length} bytes)`);
  if (!buf.subarray(0, MAGIC.length).equals(MAGIC)) fail(0, 'magic missing: not a shadowlog manifest');
  const end = buf.length - 4;
  if (crc32cOf(buf.subarray(0, end)) !== readU32(buf, end)) fail(end, 'CRC32C mismatch');
  if (readU32(buf, 8) !== MANIFEST_VERSION) fail(8, `manifest version ${readU32(buf, 8)} unknown`);
  const formatVersion = readU32(buf, 12);
  const n = readU32(buf, 16);
  const idLength = buf.readUInt16LE(20);
  if (n < 1 || n > MAX_SEGMENTS || FIXED_BYTES + idLength + 8 * n + 4 !== buf.length) {
    fail(16, 'segment count does not match the size');
  }
  const firstPositions: number[] = [];
  for (let i = 0; i < n; i++) {
    const at = FIXED_BYTES + idLength + 8 * i;
    const p = readU64(buf, at);
    if (Number.isNaN(p) || (i > 0 && p <= firstPositions[i - 1]!)) {
      fail(at, `segment entry ${i} (${p}) out of order`);
    }
    firstPositions.push(p);
  }
  return {
    streamId: buf.toString('utf8', FIXED_BYTES, FIXED_BYTES + idLength),
    formatVersion,
    firstPositions,
  };
}

/** The manifest of `dir`, or null when it has none. */
export async function readManifest(dir: string): Promise<LogManifest | null> {
  const filePath = path.join(dir, MANIFEST_FILE_NAME);
  const bytes = await readFileOrNull(filePath);
  return bytes === null ? null : decodeManifest(bytes, filePath);
}

/** Replace the manifest of `dir` atomically; returns its path and size. */
export async function writeManifest(
  dir: string,
  streamId: string,
  firstPositions: readonly number[],
): Promise<{ path: string; sizeBytes: number }> {
  const bytes = encodeManifest({ streamId, formatVersion: SEGMENT_FORMAT_VERSION, firstPositions });
  await writeFileAtomically(dir, MANIFEST_FILE_NAME, bytes);
  return { path: path.join(dir, MANIFEST_FILE_NAME), sizeBytes: bytes.length };
}

/** Replace the manifest with one listing every segment of `state` (and `extra`, a segment being added). */
export async function listInManifest(
  state: LogState,
  onDurable: DurableListener | undefined,
  extra: number | null = null,
): Promise<void> {
  const positions = state.segments.map((s) => s.firstPosition);
  if (extra !== null) positions.push(extra);
  const written = await writeManifest(state.dir, state.streamId, positions);
  onDurable?.({
    segmentPath: written.path,
    endOffsetBytes: written.sizeBytes,
    lastPosition: state.nextPosition - 1,
  });
}

/**
 * Compare the segments found with the manifest (null: none). Returns the problems (each one a
 * lost or unexplained segment, or a missing manifest) and whether a writable open should
 * write the manifest anew (a roll's crash window, or a log from before manifests).
 */
export function checkManifest(
  dir: string,
  manifest: LogManifest | null,
  found: readonly ListedSegment[],
  streamId: string | undefined,
): { readonly problems: ManifestProblem[]; readonly stale: boolean } {
  const manifestPath = path.join(dir, MANIFEST_FILE_NAME);
  if (manifest === null) {
    // Before manifests: format-1 segments, plus at most a header-only later-format segment at the
    // end (created, by a log's creation or its upgrade, just before the manifest).
    const legacy = found.every(
      (f, i) =>
        f.formatVersion === LEGACY_SEGMENT_FORMAT_VERSION ||
        (i === found.length - 1 && f.sizeBytes === SEGMENT_HEADER_BYTES),
    );
    if (legacy) return { problems: [], stale: found.length > 0 };
    const message = `the manifest ${manifestPath} is missing, so lost segments cannot be ruled out; restore it (or the log directory) from a backup`;
    return { problems: [{ path: manifestPath, message }], stale: false };
  }
  const problems: ManifestProblem[] = [];
  if (streamId !== undefined && manifest.streamId !== streamId) {
    const message = `the manifest ${manifestPath} belongs to stream '${manifest.streamId}', the segments to '${streamId}'`;
    problems.push({ path: manifestPath, message });
  }
  const onDisk = new Set(found.map((f) => f.firstPosition));
  for (const p of manifest.firstPositions) {
    if (onDisk.has(p)) continue;
    const name = segmentFileName(p);
    problems.push({
      path: path.join(dir, name),
      message: `segment ${name} listed in the manifest is missing: it was deleted or lost, and every event in it with it; restore it from a backup`,
    });
  }
  const listed = new Set(manifest.firstPositions);
  const lastListed = manifest.firstPositions[manifest.firstPositions.length - 1]!;
  let stale = false;
  for (let i = 0; i < found.length; i++) {
    const f = found[i]!;
    if (listed.has(f.firstPosition)) continue;
    // A roll's crash window: the newest segment, after every listed one. Continuity with the
    // last listed one is checked with the segments themselves (open-log.ts, log-check.ts).
    if (i === found.length - 1 && f.firstPosition > lastListed && !stale) {
      stale = true;
      continue;
    }
    problems.push({
      path: path.join(dir, f.name),
      message: `segment ${f.name} is not in the manifest ${manifestPath}: it does not belong to this log`,
    });
  }
  return { problems, stale };
}
