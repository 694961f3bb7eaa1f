import type { BigIntStats } from 'node:fs';
import { stat } from 'node:fs/promises';
import { decodeDevT } from './block-device-size.js';
import { statError } from './member-stat.js';

/**
 * What storage the member at `path` is, in words, following symlinks: a block device by its
 * device number (two device nodes of one disk are the same member), anything else by the file
 * system it lives on and its inode (a hard link or a symlink to an image is the same member).
 * Two paths with the same identity would mirror onto themselves.
 */
export async function memberIdentity(path: string): Promise<string> {
  let stats: BigIntStats;
  try {
    stats = await stat(path, { bigint: true });
  } catch (error) {
    throw statError(path, error);
  }
  if (stats.isBlockDevice()) {
    const { major, minor } = decodeDevT(stats.rdev);
    return `block device ${major}:${minor}`;
  }
  const { major, minor } = decodeDevT(stats.dev);
  return `file on device ${major}:${minor}, inode ${stats.ino}`;
}
