import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LogCorruptError } from '../../domain/errors.js';
import {
  cloneProjectedState,
  initialProjectedState,
  projectBatch,
} from '../../projections/projected-state.js';
import { decodeProjectedState, encodeProjectedState } from '../../projections/state-snapshot.js';
import { recordedLogArb } from '../support/command-arbitraries.js';

describe('projection snapshots', () => {
  it('round-trip every projection exactly, and folding on from a decoded state matches', () => {
    fc.assert(
      fc.property(recordedLogArb, fc.nat(), (log, cut) => {
        const at = cut % log.length;
        const state = projectBatch(initialProjectedState(), log.slice(0, at + 1));
        const decoded = decodeProjectedState(encodeProjectedState(state));
        expect(decoded).toEqual(state);
        const clone = cloneProjectedState(state);
        projectBatch(decoded, log.slice(at + 1));
        projectBatch(clone, log.slice(at + 1));
        expect(decoded).toEqual(clone);
        expect(decoded).toEqual(projectBatch(initialProjectedState(), log));
      }),
      { numRuns: 100 },
    );
  });

  it('rejects damaged bytes with LogCorruptError', () => {
    const bytes = encodeProjectedState(
      projectBatch(initialProjectedState(), fc.sample(recordedLogArb, 1)[0]!),
    );
    expect(() => decodeProjectedState(bytes.subarray(0, 8))).toThrow(LogCorruptError);
    const wrongMagic = bytes.slice();
    wrongMagic[0] = 0;
    expect(() => decodeProjectedState(wrongMagic)).toThrow(/bad magic/);
    const wrongVersion = bytes.slice();
    wrongVersion[4] = 9;
    expect(() => decodeProjectedState(wrongVersion)).toThrow(/unknown format version/);
    const badJson = bytes.slice();
    badJson[12] = 0x7b + 1;
    expect(() => decodeProjectedState(badJson)).toThrow(LogCorruptError);
    expect(() => decodeProjectedState(bytes.subarray(0, bytes.length - 1))).toThrow(LogCorruptError);
    expect(() => decodeProjectedState(encodeProjectedState(initialProjectedState()))).toThrow(
      /missing fields/,
    );
  });
});
