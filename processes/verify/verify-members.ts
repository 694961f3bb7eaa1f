import { chunkRunBlocks } from '../../domain/geometry.js';
import type { EngineParts } from '../engine/engine-parts.js';
import { blockMajority } from './block-majority.js';
import { VerifyProgress } from './verify-progress.js';

/** A block range where valid members differ. */
export interface Difference {
  /** First block. */
  readonly lbn: number;
  /** Blocks. */
  readonly count: number;
}

/** Result of a verify. */
export interface VerifyResult {
  /** True when every valid member holds the same bytes. */
  readonly identical: boolean;
  /** Members compared. */
  readonly members: readonly string[];
  /** Differing ranges, merged, at most `maxDifferences`. */
  readonly differences: readonly Difference[];
  /** Bytes compared per member. */
  readonly bytes: number;
  /**
   * Per member that differs from the majority of the members somewhere: how many blocks
   * (its copy is the one to repair). Empty when identical or when no majority exists.
   */
  readonly outliers: Readonly<Record<string, number>>;
  /** Differing blocks where no strict majority agrees (always so with two members). */
  readonly blocksWithoutMajority: number;
}

/** What verify uses of the engine. */
export type VerifyParts = Pick<EngineParts, 'geometry' | 'rangeLock' | 'follower' | 'devices' | 'progress'>;

/** Most differing ranges reported: a wholly different member must not fill memory. */
const MAX_DIFFERENCES = 10_000;
const VERIFY_IO_BYTES = 1024 * 1024;

/**
 * Online verify: read every chunk from every valid member and compare. Each I/O unit holds
 * the range lock, so a write in flight can never show up as a false difference; application
 * I/O goes on between units. Differences are reported at block granularity, merged.
 * Progress goes to `onProgress` after every unit and, rate-bounded, to the engine's progress
 * stream (kind `verify`), where a running server's `GET /api/state` shows it.
 */
export async function verifyMembers(
  parts: VerifyParts,
  onProgress: (chunksDone: number, chunks: number) => void = () => undefined,
): Promise<VerifyResult> {
  const g = parts.geometry;
  const chunkBytes = g.chunkBlocks * g.blockSize;
  const unitChunks = Math.max(1, Math.floor(VERIFY_IO_BYTES / chunkBytes));
  const differences: Difference[] = [];
  const tally: Tally = { outliers: {}, blocksWithoutMajority: 0 };
  let compared: string[] = [];
  const progress = new VerifyProgress(parts.progress, g.chunks, chunkBytes, g.blocks * g.blockSize);
  let chunksDone = 0;
  progress.report(0);
  try {
    for (let first = 0; first < g.chunks; first += unitChunks) {
      const count = Math.min(unitChunks, g.chunks - first);
      compared = await verifyUnit(parts, first, count, differences, tally);
      chunksDone = first + count;
      progress.report(chunksDone);
      onProgress(chunksDone, g.chunks);
    }
  } finally {
    progress.finish(chunksDone);
  }
  return {
    identical: differences.length === 0,
    members: compared,
    differences,
    bytes: g.blocks * g.blockSize,
    outliers: tally.outliers,
    blocksWithoutMajority: tally.blocksWithoutMajority,
  };
}

/** Compare one I/O unit of `count` chunks from `first` under its range lock; the members compared. */
async function verifyUnit(
  parts: VerifyParts,
  first: number,
  count: number,
  differences: Difference[],
  tally: Tally,
): Promise<string[]> {
  const g = parts.geometry;
  const blocks = chunkRunBlocks(g, first, count);
  const lbn = first * g.chunkBlocks;
  const release = await parts.rangeLock.acquire(lbn, lbn + blocks);
  try {
    const members = parts.follower.state.set.members.filter(
      (m) => m.status === 'valid' && parts.devices.get(m.id) !== undefined,
    );
    const compared = members.map((m) => m.id);
    const buffers = await Promise.all(
      members.map(async (m) => {
        const buffer = new Uint8Array(blocks * g.blockSize);
        await parts.devices.get(m.id)!.read(buffer, lbn * g.blockSize);
        return buffer;
      }),
    );
    for (let block = 0; block < blocks && buffers.length > 1; block++) {
      const start = block * g.blockSize;
      const reference = buffers[0]!.subarray(start, start + g.blockSize);
      let same = true;
      for (let i = 1; i < buffers.length && same; i++) {
        same = Buffer.compare(reference, buffers[i]!.subarray(start, start + g.blockSize)) === 0;
      }
      if (!same) {
        addDifference(differences, lbn + block);
        judge(tally, compared, buffers, start, g.blockSize);
      }
    }
    return compared;
  } finally {
    release();
  }
}

/** Counts of who differs from the majority, over the whole verify. */
interface Tally {
  /** Blocks per outlying member. */
  outliers: Record<string, number>;
  /** Blocks without a majority. */
  blocksWithoutMajority: number;
}

function judge(
  tally: Tally,
  members: readonly string[],
  buffers: readonly Uint8Array[],
  start: number,
  blockSize: number,
): void {
  const verdict = blockMajority(buffers.map((b) => b.subarray(start, start + blockSize)));
  if (verdict.kind === 'no-majority') {
    tally.blocksWithoutMajority++;
    return;
  }
  for (const i of verdict.indexes) {
    const id = members[i]!;
    tally.outliers[id] = (tally.outliers[id] ?? 0) + 1;
  }
}

function addDifference(differences: Difference[], lbn: number): void {
  const last = differences.at(-1);
  if (last && last.lbn + last.count === lbn) {
    differences[differences.length - 1] = { lbn: last.lbn, count: last.count + 1 };
  } else if (differences.length < MAX_DIFFERENCES) {
    differences.push({ lbn, count: 1 });
  }
}
