import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../domain/errors.js';
import { type LbnRange, LbnRangeSet } from '../../domain/lbn-range-set.js';

const UNIVERSE = 200;
const BIG = 2 ** 40;

/** Ranges of the naive model, computed independently of the implementation. */
function modelRanges(model: ReadonlySet<number>): LbnRange[] {
  const sorted = [...model].sort((a, b) => a - b);
  const ranges: LbnRange[] = [];
  for (const lbn of sorted) {
    const last = ranges[ranges.length - 1];
    if (last && last.lbn + last.count === lbn)
      ranges[ranges.length - 1] = { lbn: last.lbn, count: last.count + 1 };
    else ranges.push({ lbn, count: 1 });
  }
  return ranges;
}

function modelAdd(model: Set<number>, lbn: number, count: number): void {
  for (let b = lbn; b < lbn + count; b++) model.add(b);
}

function modelSubtract(model: Set<number>, lbn: number, count: number): void {
  for (let b = lbn; b < lbn + count; b++) model.delete(b);
}

function expectMatches(set: LbnRangeSet, model: ReadonlySet<number>): void {
  expect(set.toArray()).toEqual(modelRanges(model));
  expect(set.blockCount).toBe(model.size);
  expect(set.rangeCount).toBe(modelRanges(model).length);
  for (let b = 0; b < UNIVERSE + 20; b++) expect(set.has(b)).toBe(model.has(b));
}

const rangeArb = fc
  .tuple(fc.integer({ min: 0, max: UNIVERSE - 1 }), fc.integer({ min: 1, max: 40 }))
  .map(([lbn, count]) => ({ lbn, count: Math.min(count, UNIVERSE - lbn) }));

const opArb = fc.record({ add: fc.boolean(), range: rangeArb });

function build(ops: readonly { add: boolean; range: LbnRange }[]): { set: LbnRangeSet; model: Set<number> } {
  const set = new LbnRangeSet();
  const model = new Set<number>();
  for (const { add, range } of ops) {
    if (add) {
      set.add(range.lbn, range.count);
      modelAdd(model, range.lbn, range.count);
    } else {
      set.subtract(range.lbn, range.count);
      modelSubtract(model, range.lbn, range.count);
    }
  }
  return { set, model };
}

describe('LbnRangeSet', () => {
  it('starts empty', () => {
    const set = new LbnRangeSet();
    expect(set.blockCount).toBe(0);
    expect(set.rangeCount).toBe(0);
    expect(set.toArray()).toEqual([]);
    expect(set.has(0)).toBe(false);
  });

  describe('add', () => {
    it('keeps disjoint ranges sorted', () => {
      const set = new LbnRangeSet();
      set.add(50, 10);
      set.add(0, 5);
      set.add(20, 1);
      expect(set.toArray()).toEqual([
        { lbn: 0, count: 5 },
        { lbn: 20, count: 1 },
        { lbn: 50, count: 10 },
      ]);
      expect(set.blockCount).toBe(16);
    });

    it('merges adjacent ranges on either side', () => {
      const set = new LbnRangeSet();
      set.add(10, 5);
      set.add(15, 5);
      set.add(5, 5);
      expect(set.toArray()).toEqual([{ lbn: 5, count: 15 }]);
      expect(set.blockCount).toBe(15);
    });

    it('merges overlapping ranges and bridges gaps', () => {
      const set = new LbnRangeSet();
      set.add(0, 2);
      set.add(4, 2);
      set.add(8, 2);
      set.add(1, 8);
      expect(set.toArray()).toEqual([{ lbn: 0, count: 10 }]);
      expect(set.blockCount).toBe(10);
    });

    it('ignores a range already covered', () => {
      const set = new LbnRangeSet();
      set.add(0, 100);
      set.add(10, 10);
      expect(set.toArray()).toEqual([{ lbn: 0, count: 100 }]);
      expect(set.blockCount).toBe(100);
    });

    it('works with LBNs around 2^40', () => {
      const set = new LbnRangeSet();
      set.add(BIG, 10);
      set.add(BIG + 10, 5);
      set.add(BIG - 3, 1);
      set.add(2 ** 32 - 1, 2);
      expect(set.toArray()).toEqual([
        { lbn: 2 ** 32 - 1, count: 2 },
        { lbn: BIG - 3, count: 1 },
        { lbn: BIG, count: 15 },
      ]);
      expect(set.has(BIG + 14)).toBe(true);
      expect(set.has(BIG + 15)).toBe(false);
      expect(set.has(2 ** 32)).toBe(true);
      expect(set.has(2 ** 32 + 1)).toBe(false);
      expect(set.blockCount).toBe(18);
    });

    it.each([
      [-1, 1],
      [0, 0],
      [0, -5],
      [1.5, 1],
      [0, 2.5],
      [Number.NaN, 1],
      [Number.MAX_SAFE_INTEGER, 1],
    ])('rejects lbn %s count %s', (lbn, count) => {
      const set = new LbnRangeSet();
      expect(() => set.add(lbn, count)).toThrow(InvalidArgumentError);
      expect(() => set.subtract(lbn, count)).toThrow(InvalidArgumentError);
      expect(() => LbnRangeSet.from([{ lbn, count }])).toThrow(InvalidArgumentError);
    });
  });

  describe('subtract', () => {
    it('splits a range', () => {
      const set = LbnRangeSet.from([{ lbn: 0, count: 10 }]);
      set.subtract(3, 2);
      expect(set.toArray()).toEqual([
        { lbn: 0, count: 3 },
        { lbn: 5, count: 5 },
      ]);
      expect(set.blockCount).toBe(8);
    });

    it('trims ends and removes whole ranges', () => {
      const set = LbnRangeSet.from([
        { lbn: 0, count: 5 },
        { lbn: 10, count: 5 },
        { lbn: 20, count: 5 },
      ]);
      set.subtract(3, 19);
      expect(set.toArray()).toEqual([
        { lbn: 0, count: 3 },
        { lbn: 22, count: 3 },
      ]);
      expect(set.blockCount).toBe(6);
    });

    it('ignores blocks not in the set, including adjacent ones', () => {
      const set = LbnRangeSet.from([{ lbn: 10, count: 5 }]);
      set.subtract(5, 5);
      set.subtract(15, 5);
      set.subtract(100, 1);
      expect(set.toArray()).toEqual([{ lbn: 10, count: 5 }]);
      expect(set.blockCount).toBe(5);
    });

    it('empties the set', () => {
      const set = LbnRangeSet.from([
        { lbn: 1, count: 2 },
        { lbn: 7, count: 2 },
      ]);
      set.subtract(0, 100);
      expect(set.rangeCount).toBe(0);
      expect(set.blockCount).toBe(0);
    });

    it('works with LBNs around 2^40', () => {
      const set = new LbnRangeSet();
      set.add(BIG, 100);
      set.subtract(BIG + 10, 80);
      expect(set.toArray()).toEqual([
        { lbn: BIG, count: 10 },
        { lbn: BIG + 90, count: 10 },
      ]);
      expect(set.blockCount).toBe(20);
    });
  });

  describe('from', () => {
    it('accepts unordered, overlapping and adjacent ranges', () => {
      const set = LbnRangeSet.from([
        { lbn: 30, count: 5 },
        { lbn: 0, count: 10 },
        { lbn: 5, count: 3 },
        { lbn: 10, count: 2 },
        { lbn: 35, count: 1 },
      ]);
      expect(set.toArray()).toEqual([
        { lbn: 0, count: 12 },
        { lbn: 30, count: 6 },
      ]);
      expect(set.blockCount).toBe(18);
    });

    it('accepts any iterable', () => {
      function* ranges(): Generator<LbnRange> {
        yield { lbn: 4, count: 1 };
        yield { lbn: 2, count: 1 };
      }
      expect(LbnRangeSet.from(ranges()).toArray()).toEqual([
        { lbn: 2, count: 1 },
        { lbn: 4, count: 1 },
      ]);
    });
  });

  describe('set operations', () => {
    const a = LbnRangeSet.from([
      { lbn: 0, count: 10 },
      { lbn: 20, count: 10 },
      { lbn: BIG, count: 4 },
    ]);
    const b = LbnRangeSet.from([
      { lbn: 5, count: 20 },
      { lbn: 40, count: 1 },
      { lbn: BIG + 2, count: 4 },
    ]);

    it('union', () => {
      expect(a.union(b).toArray()).toEqual([
        { lbn: 0, count: 30 },
        { lbn: 40, count: 1 },
        { lbn: BIG, count: 6 },
      ]);
      expect(a.union(b).blockCount).toBe(37);
    });

    it('intersect', () => {
      expect(a.intersect(b).toArray()).toEqual([
        { lbn: 5, count: 5 },
        { lbn: 20, count: 5 },
        { lbn: BIG + 2, count: 2 },
      ]);
      expect(a.intersect(b).blockCount).toBe(12);
    });

    it('difference', () => {
      expect(a.difference(b).toArray()).toEqual([
        { lbn: 0, count: 5 },
        { lbn: 25, count: 5 },
        { lbn: BIG, count: 2 },
      ]);
      expect(b.difference(a).toArray()).toEqual([
        { lbn: 10, count: 10 },
        { lbn: 40, count: 1 },
        { lbn: BIG + 4, count: 2 },
      ]);
    });

    it('difference punches several holes in one range', () => {
      const whole = LbnRangeSet.from([{ lbn: 0, count: 20 }]);
      const holes = LbnRangeSet.from([
        { lbn: 2, count: 2 },
        { lbn: 8, count: 1 },
        { lbn: 18, count: 5 },
      ]);
      expect(whole.difference(holes).toArray()).toEqual([
        { lbn: 0, count: 2 },
        { lbn: 4, count: 4 },
        { lbn: 9, count: 9 },
      ]);
    });

    it('returns new sets and leaves the operands alone', () => {
      const before = a.toArray();
      const u = a.union(b);
      u.add(1000, 1);
      expect(a.toArray()).toEqual(before);
      expect(a.union(new LbnRangeSet()).equals(a)).toBe(true);
      expect(a.intersect(new LbnRangeSet()).rangeCount).toBe(0);
      expect(a.difference(new LbnRangeSet()).equals(a)).toBe(true);
      expect(new LbnRangeSet().difference(a).rangeCount).toBe(0);
    });
  });

  it('iterates ascending with for-of', () => {
    const set = LbnRangeSet.from([
      { lbn: 9, count: 1 },
      { lbn: 1, count: 2 },
    ]);
    const seen: LbnRange[] = [];
    for (const range of set) seen.push(range);
    expect(seen).toEqual([
      { lbn: 1, count: 2 },
      { lbn: 9, count: 1 },
    ]);
  });

  it('clone is independent', () => {
    const set = LbnRangeSet.from([{ lbn: 0, count: 10 }]);
    const copy = set.clone();
    expect(copy.equals(set)).toBe(true);
    copy.subtract(5, 1);
    expect(copy.equals(set)).toBe(false);
    expect(set.toArray()).toEqual([{ lbn: 0, count: 10 }]);
    expect(set.blockCount).toBe(10);
    expect(copy.blockCount).toBe(9);
  });

  it('equals compares contents', () => {
    const x = LbnRangeSet.from([
      { lbn: 0, count: 5 },
      { lbn: 10, count: 5 },
    ]);
    expect(
      x.equals(
        LbnRangeSet.from([
          { lbn: 0, count: 5 },
          { lbn: 10, count: 5 },
        ]),
      ),
    ).toBe(true);
    // Same block count and range count, different LBNs.
    expect(
      x.equals(
        LbnRangeSet.from([
          { lbn: 0, count: 5 },
          { lbn: 11, count: 5 },
        ]),
      ),
    ).toBe(false);
    // Same first start, different end, same total.
    expect(
      x.equals(
        LbnRangeSet.from([
          { lbn: 0, count: 4 },
          { lbn: 10, count: 6 },
        ]),
      ),
    ).toBe(false);
    expect(x.equals(LbnRangeSet.from([{ lbn: 0, count: 10 }]))).toBe(false);
    expect(x.equals(LbnRangeSet.from([{ lbn: 0, count: 5 }]))).toBe(false);
    expect(new LbnRangeSet().equals(new LbnRangeSet())).toBe(true);
  });

  it('handles many ranges (sequential and interleaved writes)', () => {
    const set = new LbnRangeSet();
    for (let i = 0; i < 10_000; i++) set.add(BIG + i * 2, 1);
    expect(set.rangeCount).toBe(10_000);
    for (let i = 0; i < 10_000; i++) set.add(BIG + i * 2 + 1, 1);
    expect(set.toArray()).toEqual([{ lbn: BIG, count: 20_000 }]);
    expect(set.clone().blockCount).toBe(20_000);
  });

  describe('properties against a Set<number> model', () => {
    it('add and subtract', () => {
      fc.assert(
        fc.property(fc.array(opArb, { maxLength: 40 }), (ops) => {
          const { set, model } = build(ops);
          expectMatches(set, model);
        }),
      );
    });

    it('from equals adding one by one', () => {
      fc.assert(
        fc.property(fc.array(rangeArb, { maxLength: 30 }), (ranges) => {
          const model = new Set<number>();
          for (const r of ranges) modelAdd(model, r.lbn, r.count);
          const set = LbnRangeSet.from(ranges);
          expectMatches(set, model);
          const added = new LbnRangeSet();
          for (const r of ranges) added.add(r.lbn, r.count);
          expect(added.equals(set)).toBe(true);
        }),
      );
    });

    it('union, intersect and difference', () => {
      const opsArb = fc.array(opArb, { maxLength: 25 });
      fc.assert(
        fc.property(opsArb, opsArb, (opsA, opsB) => {
          const a = build(opsA);
          const b = build(opsB);
          expectMatches(a.set.union(b.set), new Set([...a.model, ...b.model]));
          expectMatches(a.set.intersect(b.set), new Set([...a.model].filter((x) => b.model.has(x))));
          expectMatches(a.set.difference(b.set), new Set([...a.model].filter((x) => !b.model.has(x))));
          expectMatches(b.set.difference(a.set), new Set([...b.model].filter((x) => !a.model.has(x))));
          // Operands untouched.
          expectMatches(a.set, a.model);
          expectMatches(b.set, b.model);
        }),
      );
    });

    it('equals agrees with model equality', () => {
      const opsArb = fc.array(opArb, { maxLength: 8 });
      fc.assert(
        fc.property(opsArb, opsArb, (opsA, opsB) => {
          const a = build(opsA);
          const b = build(opsB);
          const same = a.model.size === b.model.size && [...a.model].every((x) => b.model.has(x));
          expect(a.set.equals(b.set)).toBe(same);
          expect(a.set.equals(a.set.clone())).toBe(true);
        }),
      );
    });

    it('ranges stay canonical: sorted, disjoint and non-adjacent', () => {
      fc.assert(
        fc.property(fc.array(opArb, { maxLength: 40 }), (ops) => {
          const ranges = build(ops).set.toArray();
          for (let i = 0; i < ranges.length; i++) {
            expect(ranges[i]!.count).toBeGreaterThan(0);
            if (i > 0) expect(ranges[i]!.lbn).toBeGreaterThan(ranges[i - 1]!.lbn + ranges[i - 1]!.count);
          }
        }),
      );
    });
  });
});
