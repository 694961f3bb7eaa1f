import { describe, expect, it } from 'vitest';
import { parsePoint } from '../../../adapters/cli/point-argument.js';

const NOW = Date.UTC(2026, 11, 1, 12, 0, 0);

describe('parsePoint: the one parser of --at, --from, --to, --until', () => {
  it('takes a position, an ISO time with a zone, a relative time', () => {
    expect(parsePoint('--at', '0', NOW)).toEqual({ position: 0 });
    expect(parsePoint('--at', '1042', NOW)).toEqual({ position: 1042 });
    expect(parsePoint('--at', '2026-12-01T08:23:00Z', NOW)).toEqual({ timeMs: Date.UTC(2026, 11, 1, 8, 23) });
    expect(parsePoint('--at', '2026-12-01T09:23:00+01:00', NOW)).toEqual({
      timeMs: Date.UTC(2026, 11, 1, 8, 23),
    });
    expect(parsePoint('--at', '2026-12-01T08:23:00.250Z', NOW)).toEqual({
      timeMs: Date.UTC(2026, 11, 1, 8, 23, 0, 250),
    });
    expect(parsePoint('--at', '-30s', NOW)).toEqual({ timeMs: NOW - 30_000 });
    expect(parsePoint('--at', '-15m', NOW)).toEqual({ timeMs: NOW - 900_000 });
    expect(parsePoint('--at', '-2h', NOW)).toEqual({ timeMs: NOW - 7_200_000 });
    expect(parsePoint('--at', '-1d', NOW)).toEqual({ timeMs: NOW - 86_400_000 });
  });

  it.each([
    '-5',
    '-100',
    '2026-12-01 08:23:00',
    '2026-12-01T08:23:00',
    '2026-12-01',
    'now',
    '1.5',
    '',
    '2026-13-45T99:00:00Z',
    '99999999999999999999',
  ])('refuses %j naming the accepted forms', (text) => {
    expect(() => parsePoint('--from', text, NOW)).toThrow(
      /--from '.*' is invalid: give a position .* with a zone .* -15m/,
    );
  });
});
