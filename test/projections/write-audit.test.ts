import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { RecordedEvent } from '../../domain/events.js';
import { WriteAudit } from '../../projections/write-audit.js';
import { recordedLogArb } from '../support/command-arbitraries.js';

function w(position: number, lbn: number, count: number, type = 'BlocksWritten'): RecordedEvent {
  return {
    position,
    recordedAt: 1000 + position,
    event: { type, v: 1, lbn, count } as RecordedEvent['event'],
  };
}

describe('write audit', () => {
  it('merges overlapping and adjacent writes with counts and positions', () => {
    const audit = new WriteAudit();
    [
      w(1, 10, 5),
      w(2, 15, 5),
      w(3, 100, 1),
      w(4, 12, 1, 'BlocksTrimmed'),
      w(5, 200, 8, 'ZeroesWritten'),
    ].forEach((e) => {
      audit.apply(e);
    });
    expect(audit.result()).toEqual([
      { lbn: 10, count: 10, writes: 3, trims: 1, zeroes: 0, firstPosition: 1, lastPosition: 4 },
      { lbn: 100, count: 1, writes: 1, trims: 0, zeroes: 0, firstPosition: 3, lastPosition: 3 },
      { lbn: 200, count: 8, writes: 1, trims: 0, zeroes: 1, firstPosition: 5, lastPosition: 5 },
    ]);
    expect(audit.events).toBe(5);
  });

  it('filters by position, time and LBN, clipping ranges to the filter', () => {
    const events = [w(1, 0, 10), w(2, 50, 10), w(3, 95, 10)];
    const byPosition = new WriteAudit({ fromPosition: 2, toPosition: 2 });
    events.forEach((e) => {
      byPosition.apply(e);
    });
    expect(byPosition.result().map((r) => r.lbn)).toEqual([50]);
    const byTime = new WriteAudit({ fromTime: 1002, toTime: 1003 });
    events.forEach((e) => {
      byTime.apply(e);
    });
    expect(byTime.result().map((r) => r.lbn)).toEqual([50, 95]);
    const byLbn = new WriteAudit({ lbnStart: 5, lbnEnd: 99 });
    events.forEach((e) => {
      byLbn.apply(e);
    });
    expect(byLbn.result().map((r) => [r.lbn, r.count])).toEqual([
      [5, 5],
      [50, 10],
      [95, 5],
    ]);
    expect(() => new WriteAudit({ lbnStart: 9, lbnEnd: 3 })).toThrow(/is empty/);
  });

  it('grows past its first buffer', () => {
    const audit = new WriteAudit();
    for (let i = 0; i < 5000; i++) audit.apply(w(i, i * 2, 1));
    expect(audit.result()).toHaveLength(5000);
  });

  it('equals a naive per-block model on random logs and windows', () => {
    fc.assert(
      fc.property(
        recordedLogArb,
        fc.nat(120),
        fc.nat(120),
        fc.nat(400),
        fc.nat(400),
        (log, p1, p2, l1, l2) => {
          const window = {
            fromPosition: Math.min(p1, p2),
            toPosition: Math.max(p1, p2),
            lbnStart: Math.min(l1, l2),
            lbnEnd: Math.max(l1, l2),
          };
          const audit = new WriteAudit(window);
          const blocks = new Map<number, number[]>();
          for (const r of log) {
            audit.apply(r);
            const e = r.event;
            if (e.type !== 'BlocksWritten' && e.type !== 'BlocksTrimmed' && e.type !== 'ZeroesWritten')
              continue;
            if (r.position < window.fromPosition || r.position > window.toPosition) continue;
            for (
              let lbn = Math.max(e.lbn, window.lbnStart);
              lbn < Math.min(e.lbn + e.count, window.lbnEnd + 1);
              lbn++
            ) {
              blocks.set(lbn, [...(blocks.get(lbn) ?? []), r.position]);
            }
          }
          const ranges = audit.result();
          const covered = new Set<number>();
          let previousEnd = -2;
          for (const range of ranges) {
            expect(range.lbn).toBeGreaterThan(previousEnd); // disjoint and not adjacent
            previousEnd = range.lbn + range.count;
            const positions: number[] = [];
            for (let lbn = range.lbn; lbn < range.lbn + range.count; lbn++) {
              covered.add(lbn);
              positions.push(...(blocks.get(lbn) ?? []));
            }
            expect(range.firstPosition).toBe(Math.min(...positions));
            expect(range.lastPosition).toBe(Math.max(...positions));
            expect(range.writes).toBe(new Set(positions).size);
          }
          expect(covered).toEqual(new Set(blocks.keys()));
        },
      ),
      { numRuns: 200 },
    );
  });
});
