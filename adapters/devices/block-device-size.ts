import type { FileHandle } from 'node:fs/promises';
import { readFile } from 'node:fs/promises';
import { IoError } from '../../domain/errors.js';
import { BLOCK_SIZE, MAX_VOLUME_BLOCKS } from '../../domain/geometry.js';
import { errnoCode } from './fs-error.js';

/**
 * Size of a Linux block device without ioctl (Node has no BLKGETSIZE64): first sysfs, which
 * the kernel keeps exact for disks and partitions, then a read probe on an open handle for
 * environments without /sys (some containers).
 */

/** Major and minor numbers of a device. */
export interface DeviceNumbers {
  /** Major number (driver), e.g. 7 for loop devices. */
  readonly major: number;
  /** Minor number (unit of that driver). */
  readonly minor: number;
}

/**
 * Split a Linux `dev_t` (as in `stat.rdev`) into major and minor, with glibc's encoding:
 * the low 20 bits of the minor and 12 bits of the major are interleaved in the low 32 bits,
 * the rest sits above. Bigint because large majors/minors use bits above 2^32.
 */
export function decodeDevT(rdev: bigint): DeviceNumbers {
  const major = ((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & 0xfffff000n);
  const minor = (rdev & 0xffn) | ((rdev >> 12n) & 0xffffff00n);
  return { major: Number(major), minor: Number(minor) };
}

/**
 * Size in bytes from `/sys/dev/block/MAJ:MIN/size`, or null when sysfs does not have it.
 * The file counts 512-byte sectors whatever the device's logical block size.
 */
export async function sysfsBlockDeviceSize(rdev: bigint, sysfsRoot = '/sys'): Promise<number | null> {
  const { major, minor } = decodeDevT(rdev);
  let text: string;
  try {
    text = await readFile(`${sysfsRoot}/dev/block/${major}:${minor}/size`, 'utf8');
  } catch (error) {
    const code = errnoCode(error);
    // Missing or unreadable sysfs is the case the read probe exists for; anything else is real.
    if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'EACCES') return null;
    throw new IoError(`reading the size of block device ${major}:${minor} from sysfs failed: ${code}`, {
      cause: error,
    });
  }
  const sectors = Number(text.trim());
  return Number.isSafeInteger(sectors) && sectors >= 0 ? sectors * 512 : null;
}

/**
 * Size of an open block device found by reading: a read at or past the end returns 0 bytes,
 * so an exponential then binary search over 512-byte blocks finds the end in about
 * 2·log2(blocks) small reads (served from the page cache after the first). Only exact for
 * media whose size is a multiple of 512 bytes, which every block device is.
 */
export async function probeSizeByReading(handle: FileHandle, name: string): Promise<number> {
  const probe = new Uint8Array(BLOCK_SIZE);
  const readable = async (block: number): Promise<boolean> => {
    try {
      return (await handle.read(probe, 0, BLOCK_SIZE, block * BLOCK_SIZE)).bytesRead > 0;
    } catch (error) {
      // Some drivers answer a read past the end with EINVAL/ENXIO rather than EOF.
      const code = errnoCode(error);
      if (code === 'EINVAL' || code === 'ENXIO') return false;
      throw new IoError(`probing the size of ${name} by reading failed (${code}); check the device`, {
        cause: error,
      });
    }
  };
  if (!(await readable(0))) return 0;
  let lo = 0; // known readable
  let hi = 1; // not yet known
  while (await readable(hi)) {
    lo = hi;
    hi *= 2;
    if (hi > MAX_VOLUME_BLOCKS * 2) {
      throw new IoError(
        `${name} still returns data past ${MAX_VOLUME_BLOCKS} blocks; it is not a block device shadowlog can size`,
      );
    }
  }
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (await readable(mid)) lo = mid;
    else hi = mid;
  }
  return (lo + 1) * BLOCK_SIZE;
}

/**
 * Size in bytes of the block device `name` with device number `rdev`: sysfs, else a read probe
 * on `handle` when one is given. Throws an {@link IoError} saying what to do when neither works.
 */
export async function blockDeviceSize(
  name: string,
  rdev: bigint,
  handle: FileHandle | null,
): Promise<number> {
  const fromSysfs = await sysfsBlockDeviceSize(rdev);
  if (fromSysfs !== null) return fromSysfs;
  if (handle !== null) return probeSizeByReading(handle, name);
  const { major, minor } = decodeDevT(rdev);
  throw new IoError(
    `cannot find the size of block device ${name}: /sys/dev/block/${major}:${minor}/size is unavailable; mount sysfs on /sys or open the device so it can be probed`,
  );
}
