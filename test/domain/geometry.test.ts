import { describe, expect, it } from 'vitest';
import { InvalidArgumentError, OutOfRangeError } from '../../domain/errors.js';
import {
  checkRange,
  chunkBlockCount,
  chunkOf,
  chunkRunBlocks,
  chunkSpan,
  chunkStartLbn,
  makeGeometry,
  volumeBytes,
} from '../../domain/geometry.js';

describe('geometry', () => {
  it('defaults to 127-block chunks and clips the last chunk', () => {
    const g = makeGeometry(1000);
    expect(g).toEqual({ blockSize: 512, blocks: 1000, chunkBlocks: 127, chunks: 8 });
    expect(chunkBlockCount(g, 7)).toBe(1000 - 7 * 127);
    expect(chunkBlockCount(g, 0)).toBe(127);
    expect(chunkRunBlocks(g, 6, 2)).toBe(127 + (1000 - 7 * 127));
    expect(volumeBytes(g)).toBe(512_000);
  });

  it('maps LBNs to chunks and back', () => {
    const g = makeGeometry(10_000, 100);
    expect(chunkOf(g, 0)).toBe(0);
    expect(chunkOf(g, 99)).toBe(0);
    expect(chunkOf(g, 100)).toBe(1);
    expect(chunkSpan(g, 99, 2)).toEqual({ first: 0, last: 1 });
    expect(chunkSpan(g, 100, 100)).toEqual({ first: 1, last: 1 });
    expect(chunkStartLbn(g, 3)).toBe(300);
  });

  it('handles a 2 TiB volume', () => {
    const g = makeGeometry(2 ** 32);
    expect(g.chunks).toBe(Math.ceil(2 ** 32 / 127));
    expect(chunkOf(g, 2 ** 32 - 1)).toBe(g.chunks - 1);
  });

  it('rejects bad sizes and ranges with typed errors', () => {
    expect(() => makeGeometry(0)).toThrow(InvalidArgumentError);
    expect(() => makeGeometry(1.5)).toThrow(InvalidArgumentError);
    expect(() => makeGeometry(100, 0)).toThrow(/chunk size/);
    const g = makeGeometry(100);
    expect(() => checkRange(g, 0, 100)).not.toThrow();
    expect(() => checkRange(g, 99, 2)).toThrow(OutOfRangeError);
    expect(() => checkRange(g, 99, 2)).toThrow(/past the end/);
    expect(() => checkRange(g, -1, 1)).toThrow(OutOfRangeError);
    expect(() => checkRange(g, 0, 0)).toThrow(OutOfRangeError);
    expect(() => chunkBlockCount(g, 1)).toThrow(OutOfRangeError);
  });
});
