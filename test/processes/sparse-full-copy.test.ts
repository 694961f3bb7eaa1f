import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FileMemberAccess } from '../../adapters/devices/file-member-access.js';
import { createSparseImage } from '../../adapters/devices/sparse-image.js';
import { openEmbeddedStore } from '../../adapters/store/embedded/index.js';
import { VirtualUnit } from '../../processes/virtual-unit.js';
import { differingBlocks, pattern } from '../support/memory-members.js';

const SIZE = 4 * 1024 * 1024;
const BLOCKS = SIZE / 512;
const CHUNK_BLOCKS = 128; // 64 KiB chunks

const op = fc.record({
  kind: fc.constantFrom('write', 'write', 'trim', 'zeroes'),
  lbn: fc.integer({ min: 0, max: BLOCKS - 1 }),
  count: fc.integer({ min: 1, max: 400 }),
});

/** A fresh set on real sparse images, a random history, m2 away for part of it, then a full copy. */
async function copyAfter(
  history: ReadonlyArray<{ kind: string; lbn: number; count: number }>,
  options: { createdFresh?: boolean[]; assumeClean?: boolean; awayFromStart?: boolean },
): Promise<{ source: Buffer; target: Buffer; sourceAlloc: number; targetAlloc: number; reason: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'shadowlog-sparse-copy-'));
  try {
    const paths = [join(dir, 'm1.img'), join(dir, 'm2.img')];
    for (const p of paths) await createSparseImage(p, SIZE);
    const store = await openEmbeddedStore(join(dir, 'log'), { streamId: 'S' });
    const access = new FileMemberAccess();
    await VirtualUnit.create(store, access, {
      setId: 'S',
      blocks: BLOCKS,
      chunkBlocks: CHUNK_BLOCKS,
      memberPaths: paths,
      createdFresh: options.createdFresh,
      assumeClean: options.assumeClean,
    });
    const unit = await VirtualUnit.open({ store, access });
    // Away from the start: m2 never holds a block, so the copy leaves its holes alone (copy-pass.ts).
    const half = options.awayFromStart ? 0 : Math.floor(history.length / 2);
    const apply = async (h: { kind: string; lbn: number; count: number }, i: number) => {
      const count = Math.min(h.count, BLOCKS - h.lbn);
      if (h.kind === 'write') await unit.write(h.lbn, pattern(h.lbn, count, i + 1));
      else if (h.kind === 'trim') await unit.trim(h.lbn, count);
      else await unit.writeZeroes(h.lbn, count);
    };
    for (let i = 0; i < half; i++) await apply(history[i]!, i);
    await unit.dismount('m2', 'none');
    for (let i = half; i < history.length; i++) await apply(history[i]!, i);
    const handle = await unit.mount('m2', 'full');
    const started = await handle.started;
    await handle.done;
    await unit.close();
    await store.close();
    const [source, target] = await Promise.all(paths.map((p) => readFile(p)));
    const [sourceAlloc, targetAlloc] = await Promise.all(
      paths.map(async (p) => (await stat(p)).blocks * 512),
    );
    return {
      source: source!,
      target: target!,
      sourceAlloc: sourceAlloc!,
      targetAlloc: targetAlloc!,
      reason: (started.event as { reason: string }).reason,
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

describe('full copy of a fresh set skips what was never written', () => {
  it('the target equals the source and is about as sparse, for random write/trim/zero histories', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(op, { minLength: 1, maxLength: 24 }),
        fc.boolean(),
        async (history, awayFromStart) => {
          const r = await copyAfter(history, { createdFresh: [true, true], awayFromStart });
          expect(differingBlocks(r.source, r.target)).toEqual([]);
          // Within 10% of the source, plus what chunk granularity costs: a written chunk is copied
          // whole, so each operation's two edge chunks may be allocated on the target where the
          // source has a hole inside them; and a few file-system metadata blocks.
          const edgeBytes = history.length * 2 * CHUNK_BLOCKS * 512;
          expect(r.targetAlloc).toBeLessThanOrEqual(r.sourceAlloc * 1.1 + edgeBytes + 128 * 1024);
          expect(r.reason).toMatch(
            /chunks never written since the fresh create are zeroed on the target \(holes\), not copied/,
          );
        },
      ),
      { numRuns: 12 },
    );
  }, 180_000);

  it('a set created with --assume-clean copies every chunk and says why', async () => {
    const r = await copyAfter([{ kind: 'write', lbn: 0, count: 8 }], {
      createdFresh: [false, false],
      assumeClean: true,
    });
    expect(differingBlocks(r.source, r.target)).toEqual([]);
    expect(r.reason).toMatch(/every chunk copied: the set was created with --assume-clean/);
    // Copied whole: the target is fully allocated although the source is almost empty.
    expect(r.targetAlloc).toBeGreaterThanOrEqual(SIZE);
  }, 60_000);
});
