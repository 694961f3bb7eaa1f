import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvariantViolationError } from '../../domain/errors.js';
import { WriteTracker } from '../../processes/coordination/write-tracker.js';

describe('WriteTracker', () => {
  it('starts below every position, and skipped positions advance the watermark', () => {
    const t = new WriteTracker();
    expect(t.watermark()).toBe(-1);
    t.skip(0);
    t.skip(1);
    expect(t.watermark()).toBe(1);
  });

  it('holds the watermark below the oldest write in flight, whatever completes first', () => {
    const t = new WriteTracker();
    t.skip(0);
    t.begin(1);
    t.begin(2);
    t.skip(3);
    t.begin(4);
    expect(t.size).toBe(3);
    expect(t.watermark()).toBe(0);
    t.end(2);
    expect(t.watermark()).toBe(0);
    t.end(1);
    expect(t.watermark()).toBe(3);
    t.end(4);
    expect(t.watermark()).toBe(4);
    expect(t.size).toBe(0);
  });

  it('refuses positions out of order and ends that do not match a begin', () => {
    const t = new WriteTracker();
    t.begin(5);
    expect(() => t.begin(5)).toThrow(InvariantViolationError);
    expect(() => t.skip(3)).toThrow(InvariantViolationError);
    expect(() => t.end(4)).toThrow(InvariantViolationError);
    t.end(5);
    expect(() => t.end(5)).toThrow(/ended twice or never began/);
  });

  it('the watermark never passes a write in flight, never goes back, and is the exact completed prefix', () => {
    // Each step: issue a write, issue a control event, or end one write in flight (by index).
    const step = fc.oneof(
      fc.constant({ kind: 'begin' as const }),
      fc.constant({ kind: 'skip' as const }),
      fc.record({ kind: fc.constant('end' as const), pick: fc.nat() }),
    );
    fc.assert(
      fc.property(fc.array(step, { maxLength: 200 }), (steps) => {
        const t = new WriteTracker();
        const inFlight: number[] = [];
        let next = 0;
        let previous = t.watermark();
        for (const s of steps) {
          if (s.kind === 'begin') {
            t.begin(next);
            inFlight.push(next++);
          } else if (s.kind === 'skip') {
            t.skip(next++);
          } else if (inFlight.length > 0) {
            const [position] = inFlight.splice(s.pick % inFlight.length, 1);
            t.end(position!);
          }
          const mark = t.watermark();
          const lowest = inFlight.length === 0 ? next : Math.min(...inFlight);
          expect(mark).toBe(lowest - 1);
          for (const p of inFlight) expect(mark).toBeLessThan(p);
          expect(mark).toBeGreaterThanOrEqual(previous);
          expect(t.size).toBe(inFlight.length);
          previous = mark;
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe('WriteTracker.rewind', () => {
  it('forgets positions issued for rejected appends, keeping the watermark exact', () => {
    const t = new WriteTracker();
    t.skip(0);
    t.begin(1);
    t.begin(2);
    t.begin(3);
    // 2 and 3 were rejected (ended); 1 was durable and is still on its way to the members.
    t.end(2);
    t.end(3);
    t.rewind(1);
    expect(t.issued).toBe(1);
    expect(t.watermark()).toBe(0);
    t.begin(2);
    t.end(1);
    expect(t.watermark()).toBe(1);
    t.end(2);
    expect(t.watermark()).toBe(2);
  });

  it('refuses a rewind past the last issued position or below a write in flight', () => {
    const t = new WriteTracker();
    t.begin(0);
    t.begin(1);
    expect(() => t.rewind(2)).toThrow(InvariantViolationError);
    expect(() => t.rewind(0)).toThrow(/still in flight/);
    t.end(1);
    t.rewind(0);
    expect(() => t.begin(0)).toThrow(InvariantViolationError);
    t.begin(1);
    expect(t.size).toBe(2);
  });
});
