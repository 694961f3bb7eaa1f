import { spawnSync } from 'node:child_process';
import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileMemberAccess } from '../adapters/devices/file-member-access.js';
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
    const round = (n: number) => Math.round(n * 1000) / 1000;
    return {
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
