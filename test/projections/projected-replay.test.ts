import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { RecordedEvent } from '../../domain/events.js';
import { makeGeometry } from '../../domain/geometry.js';
import { ChunkHistory } from '../../projections/chunk-history.js';
import { MinimergeBitmap } from '../../projections/minimerge-bitmap.js';
import { initialProjectedState, projectBatch, projectingVisitor } from '../../projections/projected-state.js';
import { WriteAudit } from '../../projections/write-audit.js';
import { recordedLogArb } from '../support/command-arbitraries.js';
import { visitAsRuns } from '../support/write-runs.js';

/** The geometry of a log's ShadowSetCreated. */
function geometryOf(log: readonly RecordedEvent[]) {
  const created = log[0]!.event;
  if (created.type !== 'ShadowSetCreated') throw new Error('log does not start with ShadowSetCreated');
  return makeGeometry(created.blocks, created.chunkBlocks);
}

describe('write-run fast path', () => {
  it('folds every projection exactly like project, for any run size', () => {
    fc.assert(
      fc.property(recordedLogArb, fc.integer({ min: 1, max: 9 }), (log, capacity) => {
        const plain = projectBatch(initialProjectedState(), log);
        const fast = initialProjectedState();
        visitAsRuns(log, capacity, projectingVisitor(fast));
        expect(fast).toEqual(plain);
      }),
      { numRuns: 200 },
    );
  });

  it('marks the same minimerge bitmap as apply', () => {
    fc.assert(
      fc.property(recordedLogArb, fc.nat(), fc.integer({ min: 1, max: 9 }), (log, cut, capacity) => {
        const geometry = geometryOf(log);
        const from = cut % (log.length + 2);
        const plain = new MinimergeBitmap(geometry, from);
        for (const e of log) plain.apply(e);
        const fast = new MinimergeBitmap(geometry, from);
        visitAsRuns(log, capacity, {
          onWrites: (run) => fast.applyWrites(run),
          onEvent: (e) => fast.apply(e),
        });
        expect(fast.writes).toBe(plain.writes);
        expect(fast.chunks.equals(plain.chunks)).toBe(true);
      }),
      { numRuns: 200 },
    );
  });

  it('audits the same ranges as apply, for any window', () => {
    const bound = fc.option(fc.nat({ max: 400 }), { nil: undefined });
    const lbn = fc.option(fc.nat({ max: 5000 }), { nil: undefined });
    fc.assert(
      fc.property(
        recordedLogArb,
        bound,
        bound,
        lbn,
        lbn,
        fc.integer({ min: 1, max: 9 }),
        (log, a, b, s, e, cap) => {
          const times = log.map((r) => r.recordedAt).sort((x, y) => x - y);
          const window = {
            fromPosition: a,
            toPosition: b === undefined ? undefined : (a ?? 0) + b,
            fromTime: a === undefined ? undefined : times[a % times.length],
            toTime: b === undefined ? undefined : times[(b * 7) % times.length],
            lbnStart: s,
            lbnEnd: e === undefined ? undefined : (s ?? 0) + e,
          };
          const plain = new WriteAudit(window);
          for (const r of log) plain.apply(r);
          const fast = new WriteAudit(window);
          visitAsRuns(log, cap, { onWrites: (run) => fast.applyWrites(run), onEvent: (r) => fast.apply(r) });
          expect(fast.events).toBe(plain.events);
          expect(fast.result()).toEqual(plain.result());
        },
      ),
      { numRuns: 200 },
    );
  });

  it('follows a chunk through every bitmap exactly like apply', () => {
    fc.assert(
      fc.property(
        recordedLogArb,
        fc.nat(),
        fc.integer({ min: 1, max: 9 }),
        fc.integer({ min: 1, max: 4 }),
        (log, pick, capacity, maxMarks) => {
          const chunk = pick % geometryOf(log).chunks;
          const plain = new ChunkHistory(chunk, maxMarks);
          for (const r of log) plain.apply(r);
          const fast = new ChunkHistory(chunk, maxMarks);
          visitAsRuns(log, capacity, {
            onWrites: (run) => fast.applyWrites(run),
            onEvent: (r) => fast.apply(r),
          });
          expect(fast.result()).toEqual(plain.result());
        },
      ),
      { numRuns: 200 },
    );
  });
});
