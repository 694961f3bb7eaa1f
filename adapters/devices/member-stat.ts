import type { BigIntStats } from 'node:fs';
import { type FileHandle, open, stat } from 'node:fs/promises';
import { InvalidArgumentError, NotFoundError } from '../../domain/errors.js';
import { blockDeviceSize, sysfsBlockDeviceSize } from './block-device-size.js';
import { errnoCode, fsIoError } from './fs-error.js';

/** What a member is on disk: the identity half of a fingerprint, plus its kind. */
export interface MemberStat {
  /** Size in bytes. */
  readonly sizeBytes: number;
  /** Inode number for image files; null for block devices, whose inode says nothing about the medium. */
  readonly inode: number | null;
  /** Modification time in ms (µs precision) for image files; null for block devices, which do not keep one. */
  readonly mtimeMs: number | null;
  /** True for a block device, false for an image file. */
  readonly isBlockDevice: boolean;
}

/**
 * Describe the member at `path` (following symlinks). Refuses anything that is neither a
 * regular file nor a block device with an {@link InvalidArgumentError}, and a missing path with
 * a {@link NotFoundError}.
 */
export async function statMember(path: string): Promise<MemberStat> {
  let stats: BigIntStats;
  try {
    stats = await stat(path, { bigint: true });
  } catch (error) {
    throw statError(path, error);
  }
  if (stats.isBlockDevice() && (await sysfsBlockDeviceSize(stats.rdev)) === null) {
    // Without sysfs the size can only be probed through an open handle.
    let handle: FileHandle;
    try {
      handle = await open(path, 'r');
    } catch (error) {
      throw fsIoError('opening block device', path, error);
    }
    try {
      return await describeMember(path, stats, handle);
    } finally {
      await handle.close();
    }
  }
  return describeMember(path, stats, null);
}

/**
 * Describe a member from stats already taken (by path or on an open handle). `handle`, when
 * given, lets a block device without sysfs be sized by probing.
 */
export async function describeMember(
  path: string,
  stats: BigIntStats,
  handle: FileHandle | null,
): Promise<MemberStat> {
  if (stats.isFile()) {
    return {
      sizeBytes: Number(stats.size),
      inode: inodeNumber(stats.ino),
      // Nanoseconds since 1970 exceed 2^53; microseconds do not, so this is exact and stable.
      mtimeMs: Number(stats.mtimeNs / 1000n) / 1000,
      isBlockDevice: false,
    };
  }
  if (stats.isBlockDevice()) {
    return {
      sizeBytes: await blockDeviceSize(path, stats.rdev, handle),
      inode: null,
      mtimeMs: null,
      isBlockDevice: true,
    };
  }
  throw new InvalidArgumentError(
    `${path} is ${kindOf(stats)}, not a member: give an image file (create one with createSparseImage or \`truncate -s SIZE ${path}\`) or a block device`,
  );
}

/** Map a failed stat/open of a member path to the error a caller can act on. */
export function statError(path: string, error: unknown): Error {
  const code = errnoCode(error);
  if (code === 'ENOENT') {
    return new NotFoundError(
      `member ${path} does not exist: check the path, or create an image file there first (createSparseImage)`,
    );
  }
  if (code === 'ENOTDIR') {
    return new NotFoundError(`member ${path} does not exist: a parent in the path is not a directory`);
  }
  return fsIoError('examining member', path, error);
}

/**
 * Inode as a number. ext4/xfs inode numbers fit easily; the reduction only matters for file
 * systems with 64-bit inode numbers, where a stable value with a negligible collision chance is
 * better for change detection than null ("unknown").
 */
function inodeNumber(ino: bigint): number {
  return ino <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(ino) : Number(ino % 2n ** 53n);
}

/** Words for the kinds of file a member must not be. */
function kindOf(stats: BigIntStats): string {
  if (stats.isDirectory()) return 'a directory';
  if (stats.isCharacterDevice()) return 'a character device';
  if (stats.isFIFO()) return 'a named pipe';
  if (stats.isSocket()) return 'a socket';
  return 'not a regular file';
}
