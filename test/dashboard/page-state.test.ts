import { describe, expect, it } from 'vitest';
import { ProgressRates } from '../../dashboard/progress-rate.js';
import { fragmentOf, readUrlState } from '../../dashboard/url-state.js';

describe('the permalink fragment (dashboard/url-state.ts)', () => {
  it('round-trips the token and the cursors; a missing or malformed cursor is null', () => {
    const state = { token: 'a1b2', at: 42, a: 3, b: 40 };
    expect(fragmentOf(state)).toBe('#token=a1b2&at=42&a=3&b=40');
    expect(readUrlState(fragmentOf(state))).toEqual(state);
    expect(readUrlState('#token=t&at=-5&b=x')).toEqual({ token: 't', at: null, a: null, b: null });
    expect(readUrlState('')).toEqual({ token: null, at: null, a: null, b: null });
  });
});

describe('copy rate and ETA from progress updates (dashboard/progress-rate.ts)', () => {
  const update = (bytesDone: number, finished = false) => ({
    kind: 'copy' as const,
    member: 'm2',
    chunksDone: 0,
    chunksPlanned: 10,
    bytesDone,
    bytesPlanned: 1000,
    finished,
  });

  it('has no rate after one update, then the byte rate and the time left at it', () => {
    const rates = new ProgressRates();
    rates.update(update(100), 0);
    expect(rates.copyOf('m2')).toMatchObject({ percent: 10, bytesPerSecond: null, etaSeconds: null });
    rates.update(update(300), 1000);
    expect(rates.copyOf('m2')).toMatchObject({ percent: 30, bytesPerSecond: 200, etaSeconds: 3.5 });
    rates.update(update(1000, true), 2000);
    expect(rates.copyOf('m2')).toMatchObject({ percent: 100, etaSeconds: 0 });
    expect(rates.merges()).toEqual([]);
  });
});
