import { seededRandom } from '../../adapters/devices/seeded-random.js';
import type { CrashTrace, LogSnapshot, MemberWrite } from '../support/crash-trace.js';
import { BLOCK_BYTES } from './crash-blocks.js';
import type { CrashState } from './crash-states.js';

/** Sector size of the simulated disks: the unit a power loss keeps or loses whole. */
const SECTOR_BYTES = 512;

/** How the next log batch was torn. */
export interface TornBatch {
  /** The segment written to. */
  readonly segment: string;
  /** Its durable length: where the batch starts. */
  readonly from: number;
  /** Its length had the batch completed. */
  readonly to: number;
  /** Its length as the power loss left it. */
  readonly length: number;
  /** How: `cut at N`, `sectors a,b missing`, both. */
  readonly how: string;
  /** False when what is left happens to be the whole batch (nothing is missing). */
  readonly damaged: boolean;
  /**
   * True when every byte left of the batch is zero: nothing of it reached the disk but the
   * file's extension, which a reader cannot tell from the writer's zero tail (docs/log-format.md).
   */
  readonly allZero: boolean;
}

/** What a power loss at a crash state left on the disks. */
export interface DiskState {
  /** The last durable snapshot of the log (null before the log had its first segment). */
  readonly durable: LogSnapshot | null;
  /** The snapshot whose batch was torn, when the log was. */
  readonly next: LogSnapshot | null;
  /** The torn batch, when the log was torn. */
  readonly torn: TornBatch | null;
  /** The log directory's files. */
  readonly files: Map<string, Uint8Array>;
  /** Each member's bytes, by path. */
  readonly images: Map<string, Uint8Array>;
}

/** Build the disk state of `state` from the trace. */
export function diskState(
  trace: CrashTrace,
  state: CrashState,
  memberPaths: readonly string[],
  memberBytes: number,
): DiskState {
  const random = seededRandom(state.seed);
  const durable = trace.snapshotBefore(state.at);
  const files = new Map(durable?.files ?? []);
  let torn: TornBatch | null = null;
  let next: LogSnapshot | null = null;
  if (state.tornNext !== null) {
    next = trace.snapshots[state.tornNext]!;
    torn = tearBatch(durable!, next, files, random);
  }
  const images = new Map<string, Uint8Array>();
  for (const path of memberPaths) {
    images.set(path, memberImage(trace, path, state, memberBytes, random));
  }
  return { durable, next, torn, files, images };
}

/**
 * The segment of `next` with its batch torn: cut at a byte, or with sectors missing (zeroes:
 * the file was extended and those sectors never reached the disk), or both. The other files
 * (manifest, indexes) are replaced atomically, so each is either as it was or as it became.
 */
function tearBatch(
  durable: LogSnapshot,
  next: LogSnapshot,
  files: Map<string, Uint8Array>,
  random: () => number,
): TornBatch {
  const segment = next.segment;
  const from = durable.files.get(segment)!.length;
  const whole = next.files.get(segment)!;
  const to = whole.length;
  // A copy: `slice` of a Buffer (what readFileSync gives) would be a view of the snapshot.
  const bytes = new Uint8Array(whole);
  const mode = random();
  const parts: string[] = [];
  let length = to;
  if (mode >= 0.4) {
    const missing = missingSectors(from, to, random);
    for (const s of missing)
      bytes.fill(0, Math.max(from, s * SECTOR_BYTES), Math.min(to, (s + 1) * SECTOR_BYTES));
    parts.push(`sectors ${missing.join(',')} missing`);
  }
  if (mode < 0.4 || mode >= 0.8) {
    length = from + 1 + Math.floor(random() * Math.max(1, to - from - 1));
    length = Math.min(length, to);
    parts.push(`cut at ${length}`);
  }
  const left = bytes.subarray(0, length);
  files.set(segment, left);
  for (const [name, newer] of next.files) {
    if (name.endsWith('.seg') || random() < 0.5) continue;
    files.set(name, newer);
  }
  for (const name of durable.files.keys()) {
    if (!name.endsWith('.seg') && !next.files.has(name) && random() < 0.5) files.delete(name);
  }
  const damaged = length !== to || Buffer.compare(left, whole) !== 0;
  const allZero = left.subarray(from).every((b) => b === 0);
  return { segment, from, to, length, how: parts.join(', '), damaged, allZero };
}

/** A non-empty random subset of the sectors overlapping bytes [from, to). */
function missingSectors(from: number, to: number, random: () => number): number[] {
  const first = Math.floor(from / SECTOR_BYTES);
  const last = Math.ceil(to / SECTOR_BYTES) - 1;
  const missing: number[] = [];
  for (let s = first; s <= last; s++) if (random() < 0.5) missing.push(s);
  if (missing.length === 0) missing.push(first + Math.floor(random() * (last - first + 1)));
  return missing;
}

/**
 * A member after the crash: every write completed before the issue of its last completed flush
 * is there. Unflushed writes: `flushed` loses them all; `completed` keeps the completed ones
 * (the process died, the disk did not); `subset` keeps them sector by sector at random. Writes
 * still in flight are kept sector by sector at random except in `flushed`. Applied in the order
 * they completed (overlapping writes are serialised by the engine).
 */
function memberImage(
  trace: CrashTrace,
  path: string,
  state: CrashState,
  memberBytes: number,
  random: () => number,
): Uint8Array {
  let flushIssued = -1;
  for (const f of trace.flushes) {
    if (f.member === path && f.completedAt >= 0 && f.completedAt < state.at) {
      flushIssued = Math.max(flushIssued, f.issuedAt);
    }
  }
  const done = (w: MemberWrite) => w.completedAt >= 0 && w.completedAt < state.at;
  const image = new Uint8Array(memberBytes);
  const kept: MemberWrite[] = [];
  const maybe: MemberWrite[] = [];
  for (const w of trace.writes) {
    if (w.member !== path || w.issuedAt >= state.at) continue;
    if (done(w) && (w.completedAt < flushIssued || state.members === 'completed')) kept.push(w);
    else if (state.members !== 'flushed') maybe.push(w);
  }
  kept.sort((a, b) => a.completedAt - b.completedAt);
  for (const w of kept) image.set(w.data, w.offset);
  const order = (w: MemberWrite) => (done(w) ? w.completedAt : w.issuedAt + 1e12);
  maybe.sort((a, b) => order(a) - order(b));
  const keep = [0.25, 0.5, 0.9][Math.floor(random() * 3)]!;
  for (const w of maybe) {
    for (let at = 0; at < w.data.length; at += BLOCK_BYTES) {
      if (random() < keep) image.set(w.data.subarray(at, at + BLOCK_BYTES), w.offset + at);
    }
  }
  return image;
}
