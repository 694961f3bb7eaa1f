import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { binCounts, runsContain, runsCount, runsMinus } from '../../dashboard/runs.js';

/** Runs of a set of chunks, ascending and non-adjacent, as the read API sends them. */
function runsOf(chunks: Iterable<number>): number[] {
  const sorted = [...new Set(chunks)].sort((a, b) => a - b);
  const out: number[] = [];
  for (const c of sorted) {
    const n = out.length;
    if (n > 0 && out[n - 2]! + out[n - 1]! === c) out[n - 1]! += 1;
    else out.push(c, 1);
  }
  return out;
}

const chunkSets = fc.uniqueArray(fc.integer({ min: 0, max: 300 }), { maxLength: 120 });

describe('bitmap runs in the page (dashboard/runs.ts)', () => {
  test.prop([chunkSets, chunkSets])('runsMinus is set difference, in runs', (a, b) => {
    const inB = new Set(b);
    expect(runsMinus(runsOf(a), runsOf(b))).toEqual(runsOf(a.filter((c) => !inB.has(c))));
  });

  test.prop([chunkSets, fc.integer({ min: 0, max: 50 }), fc.integer({ min: 1, max: 40 })])(
    'binCounts counts the chunks of each bin; runsCount and runsContain agree',
    (a, from, binChunks) => {
      const runs = runsOf(a);
      const bins = Math.ceil((301 - from) / binChunks);
      const expected = new Uint32Array(bins);
      for (const c of a) if (c >= from) expected[Math.floor((c - from) / binChunks)]! += 1;
      expect([...binCounts(runs, from, binChunks, bins)]).toEqual([...expected]);
      expect(runsCount(runs)).toBe(a.length);
      for (let c = 0; c <= 300; c += 7) expect(runsContain(runs, c)).toBe(a.includes(c));
    },
  );

  it('a run across a bin boundary splits over both bins', () => {
    expect([...binCounts([3, 10], 0, 5, 3)]).toEqual([2, 5, 3]);
  });
});
