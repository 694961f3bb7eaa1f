import { type BigIntStats, read as readCallback, write as writeCallback } from 'node:fs';
import { type FileHandle, open, stat } from 'node:fs/promises';
import { InvalidArgumentError, IoError } from '../../domain/errors.js';
import { BLOCK_SIZE } from '../../domain/geometry.js';
import type { BlockDevice } from '../../domain/ports/block-device.js';
import { checkDeviceAccess } from './device-range.js';
import { fsIoError } from './fs-error.js';
import { punchHole } from './hole-punch.js';
import { describeMember, statError } from './member-stat.js';

// A member is made (createSparseImage) and examined (statMember) alongside being opened; they are
// re-exported here so callers that handle members find all three in one place.
export { type MemberStat, statMember } from './member-stat.js';
export { createSparseImage } from './sparse-image.js';

/** Options of {@link openBlockDevice}. */
export interface OpenBlockDeviceOptions {
  /** Refuse the member unless it is exactly this many bytes (the shadow set's volume size). */
  readonly expectedSizeBytes?: number;
  /** Open without write access; writes are then refused. Default false. */
  readonly readOnly?: boolean;
}

/**
 * Open an image file or a Linux block device as a {@link BlockDevice}. The member must exist,
 * be a multiple of 512 bytes and, when `expectedSizeBytes` is given, be exactly that size.
 */
export async function openBlockDevice(
  path: string,
  options: OpenBlockDeviceOptions = {},
): Promise<FileBlockDevice> {
  const { expectedSizeBytes, readOnly = false } = options;
  if (
    expectedSizeBytes !== undefined &&
    (!Number.isSafeInteger(expectedSizeBytes) || expectedSizeBytes < 0)
  ) {
    throw new InvalidArgumentError(
      `expected size ${expectedSizeBytes} for ${path} is invalid: give a whole number of bytes`,
    );
  }
  // Stat by path before opening: opening a named pipe would block, and a directory is better
  // refused with a sentence than with EISDIR.
  try {
    await describeKind(path, await stat(path, { bigint: true }));
  } catch (error) {
    throw error instanceof InvalidArgumentError ? error : statError(path, error);
  }
  let handle: FileHandle;
  try {
    handle = await open(path, readOnly ? 'r' : 'r+');
  } catch (error) {
    throw statError(path, error);
  }
  try {
    // Size from the open handle, so a path swapped between stat and open cannot fool us.
    const member = await describeMember(path, await handle.stat({ bigint: true }), handle);
    if (member.sizeBytes % BLOCK_SIZE !== 0) {
      throw new InvalidArgumentError(
        `member ${path} is ${member.sizeBytes} bytes, not a multiple of ${BLOCK_SIZE}: resize it to whole blocks (truncate -s ${roundUp(member.sizeBytes)} ${path})`,
      );
    }
    if (expectedSizeBytes !== undefined && member.sizeBytes !== expectedSizeBytes) {
      const fix = member.isBlockDevice
        ? `use a block device of exactly ${expectedSizeBytes} bytes`
        : `use an image of exactly ${expectedSizeBytes} bytes (a blank one can be resized with truncate -s ${expectedSizeBytes} ${path})`;
      throw new InvalidArgumentError(
        `member ${path} is ${member.sizeBytes} bytes but the shadow set needs ${expectedSizeBytes} bytes: every member must be the same size; ${fix}`,
      );
    }
    return new FileBlockDevice(path, handle, member.sizeBytes, member.isBlockDevice, readOnly);
  } catch (error) {
    await handle.close().catch(() => undefined);
    throw error;
  }
}

/**
 * A member backed by an image file or a block device, read and written with positional I/O
 * through one file handle. Concurrent operations are allowed (positional I/O has no shared
 * file offset); `close()` waits for the ones in flight. Create with {@link openBlockDevice}.
 */
export class FileBlockDevice implements BlockDevice {
  /** The path the member was opened with. */
  readonly path: string;
  /** Same as {@link path}: the port's human-readable name. */
  readonly name: string;
  /** True for a block device, false for an image file. */
  readonly isBlockDevice: boolean;
  /** True when opened without write access. */
  readonly readOnly: boolean;

  private readonly handle: FileHandle;
  private readonly sizeBytes: number;
  private inFlight = 0;
  private wakeCloser: (() => void) | null = null;
  private closing: Promise<void> | null = null;
  /** False once the file system refused a hole punch: later calls write zeroes straight away. */
  private canPunch: boolean;

  /** Use {@link openBlockDevice}, which checks the member before wrapping its handle. */
  constructor(
    path: string,
    handle: FileHandle,
    sizeBytes: number,
    isBlockDevice: boolean,
    readOnly: boolean,
  ) {
    this.path = path;
    this.name = path;
    this.handle = handle;
    this.sizeBytes = sizeBytes;
    this.isBlockDevice = isBlockDevice;
    this.readOnly = readOnly;
    // Block devices have no hole punch from Node (BLKDISCARD/BLKZEROOUT need an ioctl that
    // fs-native-extensions does not offer), so they get zeroes written.
    this.canPunch = !isBlockDevice;
  }

  /** Size in bytes, as found when the device was opened. */
  size(): number {
    return this.sizeBytes;
  }

  /** Read `buffer.length` bytes at `offset`; hitting end of file first is an {@link IoError}. */
  async read(buffer: Uint8Array, offset: number): Promise<void> {
    this.checkOpen('read');
    checkDeviceAccess(this.path, this.sizeBytes, offset, buffer.length);
    await this.track(async () => {
      let done = 0;
      while (done < buffer.length) {
        let bytesRead: number;
        try {
          bytesRead = await positionalRead(this.handle.fd, buffer, done, buffer.length - done, offset + done);
        } catch (error) {
          throw fsIoError(`reading ${buffer.length} bytes at offset ${offset} of`, this.path, error);
        }
        if (bytesRead === 0) {
          // Inside the size found at open, so the member shrank under us: never return zeroes for it.
          throw new IoError(
            `reading ${this.path} at offset ${offset + done} hit end of file before ${offset + buffer.length}: the member shrank since it was opened; check what truncated it`,
          );
        }
        done += bytesRead;
      }
    });
  }

  /** Write all of `buffer` at `offset`, looping over short writes. */
  async write(buffer: Uint8Array, offset: number): Promise<void> {
    this.checkOpen('write');
    if (this.readOnly) {
      throw new IoError(
        `cannot write ${this.path}: it was opened read-only; open it without readOnly to write`,
      );
    }
    checkDeviceAccess(this.path, this.sizeBytes, offset, buffer.length);
    await this.track(async () => {
      let done = 0;
      while (done < buffer.length) {
        let bytesWritten: number;
        try {
          bytesWritten = await positionalWrite(
            this.handle.fd,
            buffer,
            done,
            buffer.length - done,
            offset + done,
          );
        } catch (error) {
          throw fsIoError(`writing ${buffer.length} bytes at offset ${offset} of`, this.path, error);
        }
        if (bytesWritten === 0) {
          // A write that makes no progress would otherwise spin forever.
          throw new IoError(
            `writing ${this.path} at offset ${offset + done} made no progress; check the device`,
          );
        }
        done += bytesWritten;
      }
    });
  }

  /**
   * Make the range read as zeroes: a punched hole in an image file (its blocks are freed, the size
   * stays), zeroes written on a block device or a file system without hole punching.
   */
  async zeroRange(offset: number, length: number): Promise<void> {
    this.checkOpen('zero');
    if (this.readOnly) {
      throw new IoError(
        `cannot zero ${this.path}: it was opened read-only; open it without readOnly to write`,
      );
    }
    checkDeviceAccess(this.path, this.sizeBytes, offset, length);
    if (length === 0) return;
    if (this.canPunch) {
      let punched: boolean;
      try {
        punched = await this.trackValue(() => punchHole(this.handle.fd, offset, length));
      } catch (error) {
        throw fsIoError(`punching a hole of ${length} bytes at offset ${offset} in`, this.path, error);
      }
      if (punched) return;
      this.canPunch = false;
    }
    // Bounded: `left` shrinks by up to 1 MiB each pass.
    let left = length;
    let at = offset;
    while (left > 0) {
      const n = Math.min(left, ZEROES.length);
      await this.write(ZEROES.subarray(0, n), at);
      at += n;
      left -= n;
    }
  }

  /** Allocated bytes of an image file (st_blocks × 512); null for a block device, whose blocks always exist. */
  async allocatedBytes(): Promise<number | null> {
    this.checkOpen('stat');
    if (this.isBlockDevice) return null;
    try {
      return Number((await this.handle.stat({ bigint: true })).blocks) * 512;
    } catch (error) {
      throw fsIoError('examining (fstat)', this.path, error);
    }
  }

  /** fdatasync: every write completed before the call is durable when it resolves. */
  async flush(): Promise<void> {
    this.checkOpen('flush');
    await this.track(async () => {
      try {
        await this.handle.datasync();
      } catch (error) {
        throw fsIoError('flushing (fdatasync)', this.path, error);
      }
    });
  }

  /** Close the handle once operations in flight finish. Idempotent: later calls share the first. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      if (this.inFlight > 0) await new Promise<void>((resolve) => (this.wakeCloser = resolve));
      try {
        await this.handle.close();
      } catch (error) {
        throw fsIoError('closing', this.path, error);
      }
    })();
    return this.closing;
  }

  /** Refuse new operations once close has been asked for. */
  private checkOpen(operation: string): void {
    if (this.closing !== null) {
      throw new IoError(
        `cannot ${operation} ${this.path}: the device is closed; open it again with openBlockDevice`,
      );
    }
  }

  /** Count an operation in flight so close() can wait for it. */
  private async track(operation: () => Promise<void>): Promise<void> {
    await this.trackValue(operation);
  }

  /** {@link track} for an operation with a result. */
  private async trackValue<T>(operation: () => Promise<T>): Promise<T> {
    this.inFlight++;
    try {
      return await operation();
    } finally {
      this.inFlight--;
      if (this.inFlight === 0 && this.wakeCloser !== null) this.wakeCloser();
    }
  }
}

/** Zeroes for {@link FileBlockDevice.zeroRange} where no hole can be punched; never written to. */
const ZEROES = new Uint8Array(1024 * 1024);

/** Throw unless the stats describe something a member can be. */
async function describeKind(path: string, stats: BigIntStats): Promise<void> {
  if (stats.isFile() || stats.isBlockDevice()) return;
  // describeMember owns the wording for every other kind.
  await describeMember(path, stats, null);
}

/** Round up to whole blocks, for the resize hint. */
function roundUp(bytes: number): number {
  return Math.ceil(bytes / BLOCK_SIZE) * BLOCK_SIZE;
}

// The callback API costs half the CPU of FileHandle's promise API per call (measured: 229k vs
// 112k 4 KiB pwrites/s from one thread at queue depth 32), and members see one call per write.
function positionalRead(
  fd: number,
  buffer: Uint8Array,
  at: number,
  length: number,
  position: number,
): Promise<number> {
  return new Promise((resolve, reject) => {
    readCallback(fd, buffer, at, length, position, (error, bytes) =>
      error ? reject(error) : resolve(bytes),
    );
  });
}

function positionalWrite(
  fd: number,
  buffer: Uint8Array,
  at: number,
  length: number,
  position: number,
): Promise<number> {
  return new Promise((resolve, reject) => {
    writeCallback(fd, buffer, at, length, position, (error, bytes) =>
      error ? reject(error) : resolve(bytes),
    );
  });
}
