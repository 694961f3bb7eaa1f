import { InvalidArgumentError } from '../../domain/errors.js';
import { BLOCK_SIZE, MAX_VOLUME_BLOCKS } from '../../domain/geometry.js';
import { formatNumber } from './number-format.js';

const UNITS: Record<string, number> = { '': 1, K: 2 ** 10, M: 2 ** 20, G: 2 ** 30, T: 2 ** 40 };

/** Parse `--size`: bytes, or a number with K, M, G or T (binary units, as dd and qemu-img). */
export function parseSize(text: string): number {
  const match = /^(\d+)([KMGT]?)(i?B)?$/i.exec(text.trim());
  if (!match) {
    throw new InvalidArgumentError(
      `size '${text}' is invalid: give bytes or a number with K, M, G or T (e.g. 256M)`,
    );
  }
  const bytes = Number(match[1]) * UNITS[match[2]!.toUpperCase()]!;
  if (!Number.isSafeInteger(bytes) || bytes <= 0 || bytes % 512 !== 0) {
    throw new InvalidArgumentError(
      `size '${text}' is ${formatNumber(bytes)} bytes: it must be a positive multiple of 512 bytes`,
    );
  }
  return bytes;
}

/** Parse `create --size`: a size (see {@link parseSize}) no larger than the engine's volume limit. */
export function parseVolumeSize(text: string): number {
  const bytes = parseSize(text);
  const maxBytes = MAX_VOLUME_BLOCKS * BLOCK_SIZE;
  if (bytes > maxBytes) {
    throw new InvalidArgumentError(
      `size '${text}' is ${formatNumber(bytes)} bytes, more than the largest volume a shadow set supports: ${maxBytes / 2 ** 40}T (${formatNumber(maxBytes)} bytes, ${formatNumber(MAX_VOLUME_BLOCKS)} blocks)`,
    );
  }
  return bytes;
}

/** Parse a whole number option. */
export function parseCount(name: string, text: string, min = 0): number {
  if (!/^\d+$/.test(text.trim()) || Number(text) < min || !Number.isSafeInteger(Number(text))) {
    throw new InvalidArgumentError(`${name} '${text}' is invalid: give a whole number >= ${min}`);
  }
  return Number(text);
}

/** Parse `START-END` (inclusive LBNs) of `--lbn`. */
export function parseLbnRange(text: string): { start: number; end: number } {
  const match = /^(\d+)-(\d+)$/.exec(text.trim());
  if (!match || Number(match[2]) < Number(match[1])) {
    throw new InvalidArgumentError(
      `LBN range '${text}' is invalid: give START-END with START <= END, e.g. 0-1023`,
    );
  }
  return { start: Number(match[1]), end: Number(match[2]) };
}
