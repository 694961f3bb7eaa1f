import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  endFromStreamState,
  positionFromRevision,
  revisionFromPosition,
  streamStateBefore,
  subscriptionStart,
} from '../../../../adapters/store/kurrentdb/revision-mapping.js';
import { OutOfRangeError } from '../../../../domain/errors.js';

const MAX = Number.MAX_SAFE_INTEGER;

describe('positions and revisions', () => {
  it('maps the edges exactly', () => {
    expect(positionFromRevision(0n)).toBe(0);
    expect(positionFromRevision(1n)).toBe(1);
    expect(positionFromRevision(BigInt(MAX))).toBe(MAX);
    expect(revisionFromPosition(0)).toBe(0n);
    expect(revisionFromPosition(MAX)).toBe(BigInt(MAX));
  });

  it('refuses revisions past 2^53 - 1 instead of rounding them', () => {
    for (const revision of [BigInt(MAX) + 1n, 2n ** 63n, 2n ** 64n - 1n]) {
      expect(() => positionFromRevision(revision)).toThrow(OutOfRangeError);
      expect(() => positionFromRevision(revision)).toThrow(
        new RegExp(`revision ${revision} is past ${MAX}, the last position shadowlog can represent exactly`),
      );
    }
    expect(() => positionFromRevision(-1n)).toThrow(/negative/);
  });

  it('refuses positions that are not non-negative safe integers', () => {
    for (const position of [-1, 1.5, MAX + 1, Number.NaN]) {
      expect(() => revisionFromPosition(position)).toThrow(OutOfRangeError);
    }
  });

  it('round-trips every safe revision', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: BigInt(MAX) }), (revision) => {
        expect(revisionFromPosition(positionFromRevision(revision))).toBe(revision);
      }),
    );
  });

  it('expects no stream before position 0 and revision p - 1 before position p', () => {
    expect(streamStateBefore(0)).toBe('no_stream');
    expect(streamStateBefore(1)).toBe(0n);
    expect(streamStateBefore(MAX)).toBe(BigInt(MAX - 1));
  });

  it('reads the end of a stream from the state a conflict reports', () => {
    expect(endFromStreamState('no_stream')).toBe(0);
    expect(endFromStreamState(0n)).toBe(1);
    expect(endFromStreamState(41n)).toBe(42);
    expect(() => endFromStreamState(-5n)).toThrow(/deleted/);
    expect(() => endFromStreamState(BigInt(MAX))).not.toThrow();
  });

  it('subscribes from the start for 0 and after revision p - 1 for p', () => {
    expect(subscriptionStart(0)).toBe('start');
    expect(subscriptionStart(1)).toBe(0n);
    expect(subscriptionStart(1000)).toBe(999n);
  });
});
