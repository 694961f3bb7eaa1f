import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, open, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileMemberAccess } from '../adapters/devices/file-member-access.js';
import { createSparseImage } from '../adapters/devices/sparse-image.js';
import { openEmbeddedStore } from '../adapters/store/embedded/index.js';
import { VirtualUnit } from '../processes/virtual-unit.js';

/** Result of `shadowlog bench copy --json`. */
export interface CopyBenchResult {
  suite: 'copy';
  /** Bytes of the set (and of the full copy and the cp). */
  bytesFull: number;
  /** `cp` of the member image plus fdatasync. */
  cpSeconds: number;
  /** Full copy to a returning member. */
  fullCopySeconds: number;
  /** Minicopy with 1% of the chunks marked. */
  minicopy1pctSeconds: number;
  /** Minicopy with 10% of the chunks marked. */
  minicopy10pctSeconds: number;
  /** Full-copy throughput over cp throughput; target >= 0.9. */
  copyVsCpThroughputRatio: number;
  /** minicopy1pctSeconds / fullCopySeconds; target <= 0.02. */
  minicopy1pctOfFull: number;
  /** Full copy of a fresh sparse set with 10% of its chunks ever written. */
  fullCopySparse10pctSeconds: number;
  /** `cp` (default, sparse-aware) of that set's source image plus fdatasync. */
  cpSparseSeconds: number;
  /** fullCopySparse10pctSeconds / cpSparseSeconds; target <= 0.2. */
  sparseCopyOfCp: number;
  /** Allocated bytes (st_blocks × 512) of the sparse copy's target after it. */
  targetAllocatedBytes: number;
  /** Allocated bytes of the sparse copy's source. */
  sourceAllocatedBytes: number;
}

/** A 1 GiB set: minicopy at 1% and 10% dirty, full copy, and cp of the same bytes. */
export async function runCopyBench(
  options: { dir?: string; quick?: boolean } = {},
): Promise<CopyBenchResult> {
  const bytes = options.quick ? 128 * 1024 * 1024 : 1024 * 1024 * 1024;
  const base = await mkdtemp(join(options.dir ?? tmpdir(), 'shadowlog-bench-copy-'));
  try {
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
      const start = performance.now();
      const handle = await unit.mount('m2', policy);
      const result = await handle.done;
      if (result.outcome !== 'completed') throw new Error(`copy ended ${result.outcome}: ${result.reason}`);
      return (performance.now() - start) / 1000;
    };
    const fullCopySeconds = await timeCopy('full', 0);
    const minicopy1pctSeconds = await timeCopy('minicopy', 0.01);
    const minicopy10pctSeconds = await timeCopy('minicopy', 0.1);
    await unit.close();
    await store.close();
    const sparse = await sparseCopy(base, bytes);
    const round = (n: number) => Math.round(n * 1000) / 1000;
    return {
      fullCopySparse10pctSeconds: round(sparse.copySeconds),
      cpSparseSeconds: round(sparse.cpSeconds),
      sparseCopyOfCp: round(sparse.copySeconds / sparse.cpSeconds),
      targetAllocatedBytes: sparse.targetAllocatedBytes,
      sourceAllocatedBytes: sparse.sourceAllocatedBytes,
      suite: 'copy',
      bytesFull: bytes,
      cpSeconds: round(cpSeconds),
      fullCopySeconds: round(fullCopySeconds),
      minicopy1pctSeconds: round(minicopy1pctSeconds),
      minicopy10pctSeconds: round(minicopy10pctSeconds),
      copyVsCpThroughputRatio: round(cpSeconds / fullCopySeconds),
      minicopy1pctOfFull: round(minicopy1pctSeconds / fullCopySeconds),
    };
  } finally {
    await rm(base, { recursive: true, force: true });
  }
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
  const cpStart = performance.now();
  runTool('cp', [paths[0]!, join(dir, 'cp.img')]);
  await fdatasync(join(dir, 'cp.img'));
  const cpSeconds = (performance.now() - cpStart) / 1000;
  await rm(join(dir, 'cp.img'));
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
    sourceAllocatedBytes: source!.blocks * 512,
    targetAllocatedBytes: target!.blocks * 512,
  };
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
