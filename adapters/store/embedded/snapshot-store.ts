import { promises as fs } from 'node:fs';
import path from 'node:path';
import { InvalidArgumentError } from '../../../domain/errors.js';
import { crc32cOf } from './crc32c.js';
import { ioError, readFileOrNull, TEMP_SUFFIX, writeFileAtomically } from './durable-file.js';
import { readU32 } from './record-codec.js';
import { readU64, writeU64 } from './segment-format.js';

/**
 * Projection snapshots as opaque bytes, so time travel to position P starts from the newest
 * snapshot at or before P instead of replaying from 0. The projection code (de)serialises;
 * this file only stores bytes durably and never trusts a damaged one. One file per snapshot,
 * `snapshot-<position, 20 digits>.snap`:
 *
 *   0   8  magic "SHDWSNP1"
 *   8   4  format version (u32 LE)
 *   12  8  position (u64 LE): the snapshot covers events 0..position
 *   20  8  body length in bytes (u64 LE)
 *   28  8  createdAt, ms since epoch (f64 LE)
 *   36  4  crc32c over bytes [0, 36) followed by the body
 *   40  .. body
 *
 * Saved through temp file + fsync + rename, so a crash leaves the old set of snapshots or
 * the new one. Only the newest `keep` are kept.
 */

const MAGIC = Buffer.from('SHDWSNP1', 'latin1');
const FORMAT_VERSION = 1;
const HEADER_BYTES = 40;
const CRC_OFFSET = 36;
const PREFIX = 'snapshot-';
const SUFFIX = '.snap';
/** Snapshots kept by default. */
export const DEFAULT_SNAPSHOTS_KEPT = 3;
/** Most warnings remembered in {@link SnapshotStore.warnings}. */
const MAX_WARNINGS_KEPT = 100;

/** A snapshot that was skipped because it failed its checks. */
export interface SnapshotWarning {
  /** Path of the snapshot file. */
  readonly file: string;
  /** Position from its file name. */
  readonly position: number;
  /** Why it was not used. */
  readonly reason: string;
}

/** Options of {@link SnapshotStore}. */
export interface SnapshotStoreOptions {
  /** How many snapshots to keep (default 3). */
  readonly keep?: number;
  /** Told of every damaged snapshot skipped. */
  readonly onWarning?: (warning: SnapshotWarning) => void;
  /** Clock for the createdAt field. */
  readonly clock?: () => number;
}

/** A loaded snapshot. */
export interface LoadedSnapshot {
  /** Position the snapshot covers (events 0..position). */
  readonly position: number;
  /** The bytes as saved. */
  readonly bytes: Uint8Array;
}

function fileName(position: number): string {
  return `${PREFIX}${String(position).padStart(20, '0')}${SUFFIX}`;
}

function positionOf(name: string): number | null {
  if (!name.startsWith(PREFIX) || !name.endsWith(SUFFIX)) return null;
  const digits = name.slice(PREFIX.length, -SUFFIX.length);
  if (!/^[0-9]{20}$/.test(digits)) return null;
  const value = Number(digits);
  return Number.isSafeInteger(value) ? value : null;
}

/** Durable store of opaque projection snapshots in one directory. */
export class SnapshotStore {
  /** Directory holding the snapshots. */
  readonly dir: string;
  /** Damaged snapshots skipped so far (the latest {@link MAX_WARNINGS_KEPT}). */
  readonly warnings: SnapshotWarning[] = [];
  private readonly keep: number;
  private readonly onWarning: ((warning: SnapshotWarning) => void) | undefined;
  private readonly clock: () => number;
  /** Saves run one at a time: a prune must not remove another save's temp file. */
  private saving: Promise<void> = Promise.resolve();

  constructor(dir: string, options: SnapshotStoreOptions = {}) {
    const keep = options.keep ?? DEFAULT_SNAPSHOTS_KEPT;
    if (!(Number.isSafeInteger(keep) && keep >= 1 && keep <= 1000)) {
      throw new InvalidArgumentError(`keep must be an integer from 1 to 1000, got ${options.keep}`);
    }
    this.dir = dir;
    this.keep = keep;
    this.onWarning = options.onWarning;
    this.clock = options.clock ?? Date.now;
  }

  /** Save a snapshot of the state after event `position`; replaces one at the same position. */
  save(position: number, bytes: Uint8Array): Promise<void> {
    const run = this.saving.then(() => this.saveNow(position, bytes));
    this.saving = run.catch(() => undefined);
    return run;
  }

  private async saveNow(position: number, bytes: Uint8Array): Promise<void> {
    if (!(Number.isSafeInteger(position) && position >= 0)) {
      throw new InvalidArgumentError(`snapshot position must be a non-negative integer, got ${position}`);
    }
    const file = Buffer.allocUnsafe(HEADER_BYTES + bytes.length);
    MAGIC.copy(file, 0);
    file.writeUInt32LE(FORMAT_VERSION, 8);
    writeU64(file, position, 12);
    writeU64(file, bytes.length, 20);
    file.writeDoubleLE(this.clock(), 28);
    file.set(bytes, HEADER_BYTES);
    file.writeUInt32LE(checksum(file), CRC_OFFSET);
    try {
      await fs.mkdir(this.dir, { recursive: true });
    } catch (error) {
      throw ioError('create snapshot directory', this.dir, error);
    }
    await writeFileAtomically(this.dir, fileName(position), file);
    await this.prune();
  }

  /**
   * The newest snapshot with position <= `maxPosition` that verifies, or null. Damaged ones
   * are skipped and reported (onWarning and {@link warnings}), never returned.
   */
  async loadLatest(maxPosition: number): Promise<LoadedSnapshot | null> {
    if (!(Number.isSafeInteger(maxPosition) || maxPosition === Number.POSITIVE_INFINITY)) {
      throw new InvalidArgumentError(`maxPosition must be an integer, got ${maxPosition}`);
    }
    const positions = (await this.list()).filter((p) => p <= maxPosition);
    for (let i = positions.length - 1; i >= 0; i--) {
      const position = positions[i]!;
      const file = path.join(this.dir, fileName(position));
      const data = await readFileOrNull(file);
      if (data === null) continue; // Pruned meanwhile.
      const problem = verify(data, position);
      if (problem === null) {
        return {
          position,
          bytes: new Uint8Array(data.buffer, data.byteOffset + HEADER_BYTES, data.length - HEADER_BYTES),
        };
      }
      this.warn({ file, position, reason: problem });
    }
    return null;
  }

  /** Positions of the stored snapshots, ascending (unverified). */
  async list(): Promise<number[]> {
    let names: string[];
    try {
      names = await fs.readdir(this.dir);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw ioError('list snapshot directory', this.dir, error);
    }
    const positions: number[] = [];
    for (const name of names) {
      const position = positionOf(name);
      if (position !== null) positions.push(position);
    }
    return positions.sort((a, b) => a - b);
  }

  private warn(warning: SnapshotWarning): void {
    this.warnings.push(warning);
    if (this.warnings.length > MAX_WARNINGS_KEPT) this.warnings.shift();
    this.onWarning?.(warning);
  }

  private async prune(): Promise<void> {
    const positions = await this.list();
    for (const position of positions.slice(0, Math.max(0, positions.length - this.keep))) {
      await fs.rm(path.join(this.dir, fileName(position)), { force: true });
    }
    // Debris of a save interrupted by a crash.
    for (const name of await fs.readdir(this.dir)) {
      if (name.startsWith(PREFIX) && name.endsWith(`${SUFFIX}${TEMP_SUFFIX}`)) {
        await fs.rm(path.join(this.dir, name), { force: true });
      }
    }
  }
}

function checksum(file: Buffer): number {
  return crc32cOf(file.subarray(HEADER_BYTES), crc32cOf(file.subarray(0, CRC_OFFSET)));
}

/** Why a snapshot file is unusable, or null when it verifies. */
function verify(data: Buffer, position: number): string | null {
  if (data.length < HEADER_BYTES)
    return `truncated: ${data.length} bytes, less than its ${HEADER_BYTES}-byte header`;
  if (!data.subarray(0, MAGIC.length).equals(MAGIC)) return 'magic missing: not a shadowlog snapshot';
  if (readU32(data, CRC_OFFSET) !== checksum(data)) return 'CRC32C mismatch';
  if (readU32(data, 8) !== FORMAT_VERSION) return `format version ${readU32(data, 8)} unknown`;
  if (readU64(data, 12) !== position)
    return `header position ${readU64(data, 12)} differs from its file name`;
  if (readU64(data, 20) !== data.length - HEADER_BYTES) return 'body length differs from the file size';
  return null;
}
