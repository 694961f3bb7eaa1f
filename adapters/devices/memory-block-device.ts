import { InvalidArgumentError, IoError } from '../../domain/errors.js';
import { BLOCK_SIZE } from '../../domain/geometry.js';
import type { BlockDevice } from '../../domain/ports/block-device.js';
import { checkDeviceAccess } from './device-range.js';

/**
 * A member held in memory, for model-based tests: fast and deterministic, and refusing exactly
 * what a {@link FileBlockDevice} refuses (same checks, same error classes). Writes are
 * "durable" as soon as they complete, so `flush()` only checks that the device is open.
 */
export class MemoryBlockDevice implements BlockDevice {
  /** Human-readable name, used in error messages. */
  readonly name: string;

  private readonly data: Uint8Array;
  private closed = false;

  /** A zero-filled device of `sizeBytes` (a multiple of 512). */
  constructor(sizeBytes: number, name = 'memory-device') {
    if (!Number.isSafeInteger(sizeBytes) || sizeBytes < 0 || sizeBytes % BLOCK_SIZE !== 0) {
      throw new InvalidArgumentError(
        `${name}: size ${sizeBytes} is invalid: give a non-negative multiple of ${BLOCK_SIZE} bytes`,
      );
    }
    this.name = name;
    try {
      this.data = new Uint8Array(sizeBytes);
    } catch (error) {
      throw new InvalidArgumentError(
        `${name}: cannot hold ${sizeBytes} bytes in memory (${String(error)}); use a smaller device or an image file`,
      );
    }
  }

  /** A device whose content is a copy of `content` (whose length must be a multiple of 512). */
  static from(content: Uint8Array, name?: string): MemoryBlockDevice {
    const device = new MemoryBlockDevice(content.length, name);
    device.data.set(content);
    return device;
  }

  /** Size in bytes. */
  size(): number {
    return this.data.length;
  }

  /** Copy `buffer.length` bytes at `offset` into `buffer`. */
  async read(buffer: Uint8Array, offset: number): Promise<void> {
    this.checkOpen('read');
    checkDeviceAccess(this.name, this.data.length, offset, buffer.length);
    buffer.set(this.data.subarray(offset, offset + buffer.length));
  }

  /** Copy all of `buffer` to `offset`. */
  async write(buffer: Uint8Array, offset: number): Promise<void> {
    this.checkOpen('write');
    checkDeviceAccess(this.name, this.data.length, offset, buffer.length);
    this.data.set(buffer, offset);
  }

  /** Nothing to make durable; refuses only a closed device, like a file device. */
  async flush(): Promise<void> {
    this.checkOpen('flush');
  }

  /** Idempotent; later operations are refused. The content stays readable through {@link snapshot}. */
  async close(): Promise<void> {
    this.closed = true;
  }

  /** A copy of the whole content, for assertions; works after close too. */
  snapshot(): Uint8Array {
    return this.data.slice();
  }

  /** Refuse operations on a closed device, as the file device does. */
  private checkOpen(operation: string): void {
    if (this.closed) {
      throw new IoError(`cannot ${operation} ${this.name}: the device is closed`);
    }
  }
}
