import { describe, expect, it } from 'vitest';
import { checkDeviceAccess } from '../../../adapters/devices/device-range.js';
import { InvalidArgumentError, OutOfRangeError } from '../../../domain/errors.js';

describe('checkDeviceAccess', () => {
  const size = 4096;

  it('accepts aligned ranges inside the device, including zero-length up to the end', () => {
    for (const [offset, length] of [
      [0, 4096],
      [512, 512],
      [3584, 512],
      [0, 0],
      [4096, 0],
    ] as const) {
      expect(() => checkDeviceAccess('d', size, offset, length)).not.toThrow();
    }
  });

  it.each([
    [1, 512],
    [0, 513],
    [0.5, 512],
    [Number.NaN, 512],
    [0, Number.POSITIVE_INFINITY],
  ])('refuses unaligned or non-integer offset %s / length %s', (offset, length) => {
    expect(() => checkDeviceAccess('d', size, offset, length)).toThrow(InvalidArgumentError);
  });

  it.each([
    [-512, 512],
    [4096, 512],
    [3584, 1024],
    [4608, 0],
  ])('refuses offset %i length %i outside the device, naming it and its size', (offset, length) => {
    expect(() => checkDeviceAccess('/dev/x', size, offset, length)).toThrow(OutOfRangeError);
    expect(() => checkDeviceAccess('/dev/x', size, offset, length)).toThrow(/\/dev\/x.*4096 bytes/);
  });
});
