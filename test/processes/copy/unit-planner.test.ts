import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { makeGeometry } from '../../../domain/geometry.js';
import { UNIT_SPAN_UNITS, UnitPlanner } from '../../../processes/copy/unit-planner.js';
import type { WrittenChunks } from '../../../projections/written-chunks.js';
import { writtenChunksOf } from '../../support/written-chunks-of.js';

const CHUNK_BLOCKS = 4;

function written(chunks: number, bits: readonly boolean[] | null): WrittenChunks | undefined {
  return bits === null ? undefined : writtenChunksOf(chunks, bits, CHUNK_BLOCKS, chunks * CHUNK_BLOCKS);
}

/** Ascending disjoint runs from a set of marked chunks. */
function runsOf(marked: readonly boolean[]) {
  const runs: { first: number; count: number }[] = [];
  marked.forEach((m, i) => {
    if (!m) return;
    const last = runs.at(-1);
    if (last && last.first + last.count === i) last.count++;
    else runs.push({ first: i, count: 1 });
  });
  return runs;
}

describe('UnitPlanner: planned runs into copy units', () => {
  it('hands out every planned chunk exactly once, in order, each unit within its span and data bound', () => {
    fc.assert(
      fc.property(
        fc.array(fc.boolean(), { minLength: 1, maxLength: 600 }),
        fc.option(fc.array(fc.boolean(), { minLength: 600, maxLength: 600 }), { nil: null }),
        fc.integer({ min: 1, max: 6 }),
        (marked, bits, unitChunks) => {
          const chunks = marked.length;
          const g = makeGeometry(chunks * CHUNK_BLOCKS, CHUNK_BLOCKS);
          const w = written(chunks, bits === null ? null : bits.slice(0, chunks));
          const planner = new UnitPlanner(runsOf(marked), g, unitChunks, () => w);
          const seen: number[] = [];
          let previousEnd = 0;
          for (let unit = planner.next(); unit !== null; unit = planner.next()) {
            expect(unit.first).toBeGreaterThanOrEqual(previousEnd);
            expect(unit.end - unit.first).toBeLessThanOrEqual(unitChunks * UNIT_SPAN_UNITS);
            let count = 0;
            let data = 0;
            for (const r of unit.runs) {
              for (let c = r.first; c < r.first + r.count; c++) {
                seen.push(c);
                if (w === undefined || bits![c]) data++;
              }
              count += r.count;
            }
            expect(unit.count).toBe(count);
            expect(unit.bytes).toBe(count * CHUNK_BLOCKS * 512);
            expect(data).toBeLessThanOrEqual(unitChunks);
            expect(unit.runs.at(-1)!.first + unit.runs.at(-1)!.count).toBe(unit.end);
            previousEnd = unit.end;
          }
          expect(seen).toEqual(marked.flatMap((m, i) => (m ? [i] : [])));
        },
      ),
      { numRuns: 300 },
    );
  });

  it("groups a minicopy's scattered marked chunks into one unit of unitChunks chunks", () => {
    const g = makeGeometry(1000 * CHUNK_BLOCKS, CHUNK_BLOCKS);
    const runs = Array.from({ length: 10 }, (_, i) => ({ first: i * 50, count: 1 }));
    const planner = new UnitPlanner(runs, g, 4, () => undefined);
    const first = planner.next()!;
    expect(first.runs).toEqual(runs.slice(0, 4));
    expect(first).toMatchObject({ first: 0, end: 151, count: 4 });
    expect(planner.next()!.runs).toEqual(runs.slice(4, 8));
    expect(planner.next()!.runs).toEqual(runs.slice(8));
    expect(planner.next()).toBeNull();
  });
});
