import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, open, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileMemberAccess } from '../adapters/devices/file-member-access.js';
import { createSparseImage } from '../adapters/devices/sparse-image.js';
import { openEmbeddedStore } from '../adapters/store/embedded/index.js';
import { VirtualUnit } from '../processes/virtual-unit.js';
import { median } from './median.js';

/** Result of `shadowlog bench copy --json`. */
export interface CopyBenchResult {
  suite: 'copy';
  /** Bytes of the set (and of the full copy and the cp). */
  bytesFull: number;
  /** `cp` of the member image plus fdatasync. */
  cpSeconds: number;
  /** Full copy to a returning member: the median of {@link FULL_COPY_ROUNDS} runs. */
  fullCopySeconds: number;
  /** Every full-copy run, in order. */
  fullCopyRunsSeconds: number[];
  /** Minicopy with 1% of the chunks marked: the median of {@link MINICOPY_ROUNDS} runs. */
  minicopy1pctSeconds: number;
  /** Every 1% minicopy run, in order; the first also compiles the mount and copy path (JIT). */
  minicopy1pctRunsSeconds: number[];
  /** Minicopy with 10% of the chunks marked: the median of {@link MINICOPY_ROUNDS} runs. */
  minicopy10pctSeconds: number;
  /** Full-copy throughput over cp throughput; target >= 0.9. */
  copyVsCpThroughputRatio: number;
  /** minicopy1pctSeconds / fullCopySeconds; target <= 0.02. */
  minicopy1pctOfFull: number;
  /** Full copy of a fresh sparse set with 10% of its chunks ever written. */
  fullCopySparse10pctSeconds: number;
  /** `cp` (default, sparse-aware) of that set's source image plus fdatasync. */
  cpSparseSeconds: number;
  /** `cp --sparse=never` of that set's source image plus fdatasync: every byte read and written. */
  cpSparseNeverSeconds: number;
  /** fullCopySparse10pctSeconds / cpSparseNeverSeconds; the target, <= 0.2 (see the doc comment). */
  sparseCopyOfCp: number;
  /** fullCopySparse10pctSeconds / cpSparseSeconds: against a copy that skips holes too; the floor is ~1. */
  sparseCopyOfSparseCp: number;
  /** Allocated bytes (st_blocks × 512) of the sparse copy's target after it. */
  targetAllocatedBytes: number;
  /** Allocated bytes of the sparse copy's source. */
  sourceAllocatedBytes: number;
  /** Bytes of the large set (8 GiB; 256 MiB with --quick). */
  bytesLarge: number;
  /** Full copy of the large set, every byte written. */
  fullCopy8gSeconds: number;
  /** Minicopy of the large set with 1% of the chunks marked. */
  minicopy1pct8gSeconds: number;
  /** minicopy1pct8gSeconds / fullCopy8gSeconds; target <= 0.02. */
  minicopy1pctOfFull8g: number;
}

/** Full copies timed on the 1 GiB set; the median is reported, so one run's writeback stall does not decide. */
const FULL_COPY_ROUNDS = 3;
/**
 * Minicopies timed per dirty fraction; the median is reported. The first run of a process
 * also compiles the mount and copy path: measured 45-112 ms against 28-60 ms for the next
 * ones at 1% of 1 GiB, so one run reported the JIT, not the copy.
 */
const MINICOPY_ROUNDS = 5;

/**
 * The copy benchmark (issue 15).
 *
 * - A 1 GiB set of real data: full copy (median of 3), minicopy at 1% and 10% of the chunks
 *   marked (evenly spread, one block each: the copy moves whole chunks; medians of 5), and
 *   `cp --sparse=never` of the same image plus fdatasync. Targets: copyVsCpThroughputRatio
 *   >= 0.9, minicopy1pctOfFull <= 0.02.
 * - An 8 GiB set for the same minicopy ratio where the fixed costs of a copy (fingerprint, the
 *   durable control events, the final fdatasync) weigh less. Its source is 8 GiB of real data
 *   written before the timing, and the target is a fresh sparse image, so the full copy reads
 *   and writes all 8 GiB (a sparse source would make the denominator a sparse copy). Writing the
 *   source costs about as long as the full copy itself; that time is not measured. With --quick
 *   both sets are small (128 MiB, 256 MiB).
 * - A fresh set on sparse images with 10% of its chunks ever written: its full copy copies only
 *   those chunks and leaves holes. The target "<= 20% of cp of the same image" is
 *   judged against `cp --sparse=never` (sparseCopyOfCp): it reads and writes every byte, as a
 *   full copy did before the log vouched for the unwritten chunks. Default `cp` skips holes
 *   itself (SEEK_DATA) and writes the same 10% durably, so against it (sparseCopyOfSparseCp)
 *   0.2 is below the physical floor; it is reported to show how close to that floor we are.
 */
export async function runCopyBench(
  options: { dir?: string; quick?: boolean } = {},
): Promise<CopyBenchResult> {
  const bytes = options.quick ? 128 * 1024 * 1024 : 1024 * 1024 * 1024;
  const base = await mkdtemp(join(options.dir ?? tmpdir(), 'shadowlog-bench-copy-'));
  try {
    const full = await writtenSetCopies(base, bytes);
    const { cpSeconds, fullRuns, mini1Runs } = full;
    const fullCopySeconds = median(fullRuns);
    const minicopy1pctSeconds = median(mini1Runs);
    const minicopy10pctSeconds = median(full.mini10Runs);
    await rm(base, { recursive: true, force: true });
    await mkdir(base);
    const sparse = await sparseCopy(base, bytes);
    await rm(join(base, 'sparse'), { recursive: true, force: true });
    const bytesLarge = options.quick ? 256 * 1024 * 1024 : 8 * 1024 * 1024 * 1024;
    const large = await largeSet(base, bytesLarge);
    const round = (n: number) => Math.round(n * 1000) / 1000;
    return {
      fullCopySparse10pctSeconds: round(sparse.copySeconds),
      cpSparseSeconds: round(sparse.cpSeconds),
      cpSparseNeverSeconds: round(sparse.cpNeverSeconds),
      sparseCopyOfCp: round(sparse.copySeconds / sparse.cpNeverSeconds),
      sparseCopyOfSparseCp: round(sparse.copySeconds / sparse.cpSeconds),
      targetAllocatedBytes: sparse.targetAllocatedBytes,
      sourceAllocatedBytes: sparse.sourceAllocatedBytes,
      bytesLarge,
      fullCopy8gSeconds: round(large.fullSeconds),
      minicopy1pct8gSeconds: round(large.miniSeconds),
      minicopy1pctOfFull8g: round(large.miniSeconds / large.fullSeconds),
      suite: 'copy',
      bytesFull: bytes,
      cpSeconds: round(cpSeconds),
      fullCopySeconds: round(fullCopySeconds),
      fullCopyRunsSeconds: fullRuns.map(round),
      minicopy1pctSeconds: round(minicopy1pctSeconds),
      minicopy1pctRunsSeconds: mini1Runs.map(round),
      minicopy10pctSeconds: round(minicopy10pctSeconds),
      copyVsCpThroughputRatio: round(cpSeconds / fullCopySeconds),
      minicopy1pctOfFull: round(minicopy1pctSeconds / fullCopySeconds),
    };
  } finally {
    await rm(base, { recursive: true, force: true });
  }
}

/**
 * A set of two fully written images of `bytes`: `cp --sparse=never` of one (plus fdatasync),
 * then full copies and minicopies at 1% and 10% dirty, every run timed.
 */
async function writtenSetCopies(base: string, bytes: number) {
  const paths = [join(base, 'm1.img'), join(base, 'm2.img')];
  await fillImage(paths[0]!, bytes);
  runTool('cp', ['--sparse=never', paths[0]!, paths[1]!]);
  // cp of the same bytes, made durable like the copy's final flush.
  const cpStart = performance.now();
  runTool('cp', ['--sparse=never', paths[0]!, join(base, 'cp.img')]);
  await fdatasync(join(base, 'cp.img'));
  const cpSeconds = (performance.now() - cpStart) / 1000;
  await rm(join(base, 'cp.img'));

  const store = await openEmbeddedStore(join(base, 'log'), { streamId: 'bench' });
  const access = new FileMemberAccess();
  await VirtualUnit.create(store, access, { setId: 'bench', blocks: bytes / 512, memberPaths: paths });
  const unit = await VirtualUnit.open({ store, access, recover: false });
  const chunks = unit.geometry.chunks;

  const timeCopy = async (policy: 'full' | 'minicopy', dirtyFraction: number) => {
    await unit.dismount('m2', policy === 'full' ? 'none' : 'minicopy');
    const marked = Math.round(chunks * dirtyFraction);
    const block = new Uint8Array(512).fill(0xa5);
    // Spread the dirty chunks evenly, one block each: the copy moves whole chunks.
    for (let i = 0; i < marked; i++) {
      const chunk = Math.floor((i * chunks) / marked);
      await unit.write(chunk * unit.geometry.chunkBlocks, block);
    }
    return timeMount(unit, policy);
  };
  const timeRounds = async (rounds: number, policy: 'full' | 'minicopy', dirtyFraction: number) => {
    const runs: number[] = [];
    for (let i = 0; i < rounds; i++) runs.push(await timeCopy(policy, dirtyFraction));
    return runs;
  };
  const fullRuns = await timeRounds(FULL_COPY_ROUNDS, 'full', 0);
  const mini1Runs = await timeRounds(MINICOPY_ROUNDS, 'minicopy', 0.01);
  const mini10Runs = await timeRounds(MINICOPY_ROUNDS, 'minicopy', 0.1);
  await unit.close();
  await store.close();
  return { cpSeconds, fullRuns, mini1Runs, mini10Runs };
}

/**
 * A fresh set on sparse images with 10% of its chunks written whole (evenly spread), m2 away
 * for all of it, then a full copy to m2, side by side with `cp` of the source image.
 */
async function sparseCopy(base: string, bytes: number) {
  const dir = join(base, 'sparse');
  const paths = [join(dir, 's1.img'), join(dir, 's2.img')];
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir);
  for (const p of paths) await createSparseImage(p, bytes);
  const store = await openEmbeddedStore(join(dir, 'log'), { streamId: 'sparse' });
  const access = new FileMemberAccess();
  await VirtualUnit.create(store, access, {
    setId: 'sparse',
    blocks: bytes / 512,
    memberPaths: paths,
    createdFresh: [true, true],
  });
  const unit = await VirtualUnit.open({ store, access, recover: false });
  const g = unit.geometry;
  await unit.dismount('m2', 'none');
  const written = Math.round(g.chunks * 0.1);
  const data = new Uint8Array(g.chunkBlocks * 512).fill(0x5a);
  // Bounded: `written` chunks, one write each; the last chunk may be short, so it is skipped.
  for (let i = 0; i < written; i++) {
    const chunk = Math.min(Math.floor((i * g.chunks) / written), g.chunks - 2);
    await unit.write(chunk * g.chunkBlocks, data);
  }
  await unit.flush();
  const cpSeconds = await timeCp([], paths[0]!, join(dir, 'cp.img'));
  const cpNeverSeconds = await timeCp(['--sparse=never'], paths[0]!, join(dir, 'cp.img'));
  const start = performance.now();
  const result = await (await unit.mount('m2', 'full')).done;
  if (result.outcome !== 'completed')
    throw new Error(`sparse copy ended ${result.outcome}: ${result.reason}`);
  const copySeconds = (performance.now() - start) / 1000;
  await unit.close();
  await store.close();
  const [source, target] = await Promise.all(paths.map((p) => stat(p)));
  return {
    copySeconds,
    cpSeconds,
    cpNeverSeconds,
    sourceAllocatedBytes: source!.blocks * 512,
    targetAllocatedBytes: target!.blocks * 512,
  };
}

/** `cp` with `flags` from `from` to `to` plus fdatasync of `to`, timed; `to` is removed after. */
async function timeCp(flags: string[], from: string, to: string): Promise<number> {
  const start = performance.now();
  runTool('cp', [...flags, from, to]);
  await fdatasync(to);
  const seconds = (performance.now() - start) / 1000;
  await rm(to);
  return seconds;
}

/**
 * The large set: m1 holds `bytes` of real data, m2 is a fresh sparse image; a full copy to m2
 * (every chunk: the set is not fresh, so the log vouches for none), then a minicopy with 1% of
 * the chunks marked while m2 was away.
 */
async function largeSet(base: string, bytes: number): Promise<{ fullSeconds: number; miniSeconds: number }> {
  const dir = join(base, 'large');
  await mkdir(dir);
  const paths = [join(dir, 'l1.img'), join(dir, 'l2.img')];
  await fillImage(paths[0]!, bytes);
  await createSparseImage(paths[1]!, bytes);
  const store = await openEmbeddedStore(join(dir, 'log'), { streamId: 'large' });
  const access = new FileMemberAccess();
  await VirtualUnit.create(store, access, {
    setId: 'large',
    blocks: bytes / 512,
    memberPaths: paths,
  });
  const unit = await VirtualUnit.open({ store, access, recover: false });
  try {
    await unit.dismount('m2', 'none');
    const fullSeconds = await timeMount(unit, 'full');
    await unit.dismount('m2', 'minicopy');
    const g = unit.geometry;
    const marked = Math.round(g.chunks * 0.01);
    const block = new Uint8Array(512).fill(0xa5);
    // Bounded: `marked` writes, one block each, evenly spread.
    for (let i = 0; i < marked; i++)
      await unit.write(Math.floor((i * g.chunks) / marked) * g.chunkBlocks, block);
    const miniSeconds = await timeMount(unit, 'minicopy');
    return { fullSeconds, miniSeconds };
  } finally {
    await unit.close();
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
}

/** Mount m2 with `policy` and time it to the copy's end. */
async function timeMount(unit: VirtualUnit, policy: 'full' | 'minicopy'): Promise<number> {
  const start = performance.now();
  const result = await (await unit.mount('m2', policy)).done;
  if (result.outcome !== 'completed') throw new Error(`copy ended ${result.outcome}: ${result.reason}`);
  return (performance.now() - start) / 1000;
}

async function fillImage(path: string, bytes: number): Promise<void> {
  const handle = await open(path, 'w');
  try {
    const piece = new Uint8Array(8 * 1024 * 1024);
    let x = 0x9e3779b9;
    for (let i = 0; i < piece.length; i += 4) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      piece[i] = x & 0xff;
      piece[i + 1] = (x >>> 8) & 0xff;
      piece[i + 2] = (x >>> 16) & 0xff;
      piece[i + 3] = (x >>> 24) & 0xff;
    }
    for (let offset = 0; offset < bytes; offset += piece.length) {
      piece[0] = offset / piece.length; // no two pieces alike
      await handle.write(piece, 0, Math.min(piece.length, bytes - offset), offset);
    }
    await handle.datasync();
  } finally {
    await handle.close();
  }
}

async function fdatasync(path: string): Promise<void> {
  const handle = await open(path, 'r+');
  await handle.datasync();
  await handle.close();
}

function runTool(command: string, args: string[]): void {
  const result = spawnSync(command, args, { stdio: 'inherit' });
  if (result.status !== 0)
    throw new Error(`${command} ${args.join(' ')} failed with status ${result.status}`);
}
