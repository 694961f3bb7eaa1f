import { describe, expect, it } from 'vitest';
import { blockMajority } from '../../processes/verify/block-majority.js';

const block = (byte: number) => new Uint8Array(512).fill(byte);

describe('blockMajority: who holds the odd copy of a block', () => {
  it('three members, one odd: that one is the outlier', () => {
    expect(blockMajority([block(1), block(2), block(1)])).toEqual({ kind: 'outliers', indexes: [1] });
    expect(blockMajority([block(9), block(1), block(1)])).toEqual({ kind: 'outliers', indexes: [0] });
  });

  it('two members that differ: no majority', () => {
    expect(blockMajority([block(1), block(2)])).toEqual({ kind: 'no-majority' });
  });

  it('a tie or three different copies: no majority', () => {
    expect(blockMajority([block(1), block(1), block(2), block(2)])).toEqual({ kind: 'no-majority' });
    expect(blockMajority([block(1), block(2), block(3)])).toEqual({ kind: 'no-majority' });
  });

  it('five members, two odd (different from each other): both are outliers', () => {
    expect(blockMajority([block(1), block(7), block(1), block(8), block(1)])).toEqual({
      kind: 'outliers',
      indexes: [1, 3],
    });
  });

  it('all equal: a majority with no outliers', () => {
    expect(blockMajority([block(4), block(4), block(4)])).toEqual({ kind: 'outliers', indexes: [] });
  });
});
