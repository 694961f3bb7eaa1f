import { createHash } from 'node:crypto';
import { FaultInjectingDevice } from '../../adapters/devices/fault-injecting-device.js';
import { IoError, NotFoundError } from '../../domain/errors.js';
import type { Fingerprint } from '../../domain/events.js';
import { chunkBlockCount, chunkStartLbn, type Geometry } from '../../domain/geometry.js';
import type { BlockDevice } from '../../domain/ports/block-device.js';
import type { MemberAccess } from '../../domain/ports/member-access.js';

/** One member's bytes, surviving open/close like a file. */
export class MemoryDisk {
  readonly data: Uint8Array;
  /** Bumped on every write, like an mtime. */
  generation = 0;
  constructor(sizeBytes: number) {
    this.data = new Uint8Array(sizeBytes);
  }
}

/** A BlockDevice over a MemoryDisk; closing it leaves the disk as it is. */
class MemoryDiskDevice implements BlockDevice {
  private closed = false;
  constructor(
    readonly name: string,
    private readonly disk: MemoryDisk,
  ) {}
  size(): number {
    return this.disk.data.length;
  }
  async read(buffer: Uint8Array, offset: number): Promise<void> {
    this.check(offset, buffer.length);
    buffer.set(this.disk.data.subarray(offset, offset + buffer.length));
  }
  async write(buffer: Uint8Array, offset: number): Promise<void> {
    this.check(offset, buffer.length);
    this.disk.data.set(buffer, offset);
    this.disk.generation++;
  }
  async flush(): Promise<void> {
    if (this.closed) throw new IoError(`${this.name} is closed`);
  }
  async close(): Promise<void> {
    this.closed = true;
  }
  private check(offset: number, length: number): void {
    if (this.closed) throw new IoError(`${this.name} is closed`);
    if (offset % 512 !== 0 || length % 512 !== 0 || offset + length > this.disk.data.length) {
      throw new IoError(`${this.name}: bad access ${offset}+${length}`);
    }
  }
}

/**
 * Members in memory for engine tests: each path is a MemoryDisk; every open wraps it in a
 * FaultInjectingDevice the test can reach through `faults(path)` to make it fail.
 */
export class MemoryMembers implements MemberAccess {
  readonly disks = new Map<string, MemoryDisk>();
  private readonly devices = new Map<string, FaultInjectingDevice>();
  /** Paths whose open fails. */
  readonly unopenable = new Set<string>();

  constructor(paths: readonly string[], sizeBytes: number) {
    for (const path of paths) this.disks.set(path, new MemoryDisk(sizeBytes));
  }

  async open(path: string, sizeBytes: number): Promise<BlockDevice> {
    const disk = this.disks.get(path);
    if (!disk || this.unopenable.has(path)) throw new NotFoundError(`member ${path} does not exist`);
    if (disk.data.length !== sizeBytes)
      throw new IoError(`member ${path} is ${disk.data.length} bytes, not ${sizeBytes}`);
    const device = new FaultInjectingDevice(new MemoryDiskDevice(path, disk));
    this.devices.set(path, device);
    return device;
  }

  async fingerprint(path: string, device: BlockDevice, geometry: Geometry): Promise<Fingerprint> {
    const disk = this.disks.get(path)!;
    const samples: Fingerprint['samples'] = [];
    for (const chunk of [0, Math.floor(geometry.chunks / 2), geometry.chunks - 1]) {
      const buffer = new Uint8Array(chunkBlockCount(geometry, chunk) * 512);
      await device.read(buffer, chunkStartLbn(geometry, chunk) * 512);
      samples.push({ chunk, hash: createHash('sha256').update(buffer).digest('hex').slice(0, 32) });
    }
    return { sizeBytes: disk.data.length, inode: 1, mtimeMs: disk.generation, samples };
  }

  /** The fault injector of the member's last open. */
  faults(path: string): FaultInjectingDevice {
    const device = this.devices.get(path);
    if (!device) throw new Error(`${path} was never opened`);
    return device;
  }

  /** The member's bytes. */
  bytes(path: string): Uint8Array {
    return this.disks.get(path)!.data;
  }
}

/** Deterministic block content: every byte derives from the seed and the LBN. */
export function pattern(lbn: number, blocks: number, seed: number): Uint8Array {
  const out = new Uint8Array(blocks * 512);
  for (let b = 0; b < blocks; b++) {
    const v = ((lbn + b) * 31 + seed * 7) & 0xff;
    out.fill(v === 0 ? 1 : v, b * 512, (b + 1) * 512);
    out[b * 512] = seed & 0xff;
  }
  return out;
}

/** Byte ranges (in blocks) where two buffers differ. */
export function differingBlocks(a: Uint8Array, b: Uint8Array): number[] {
  const out: number[] = [];
  for (let block = 0; block < a.length / 512; block++) {
    const x = a.subarray(block * 512, (block + 1) * 512);
    const y = b.subarray(block * 512, (block + 1) * 512);
    if (Buffer.compare(x, y) !== 0) out.push(block);
  }
  return out;
}
