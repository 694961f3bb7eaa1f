import { createHash } from 'node:crypto';
import { IoError, NotFoundError } from '../../domain/errors.js';
import type { Fingerprint } from '../../domain/events.js';
import { chunkBlockCount, chunkStartLbn, type Geometry } from '../../domain/geometry.js';
import type { BlockDevice } from '../../domain/ports/block-device.js';
import type { MemberAccess } from '../../domain/ports/member-access.js';
import type { CrashTrace } from './crash-trace.js';
import type { OpGate } from './op-gate.js';

/**
 * Members in memory for the crash-at-every-sync test. Recording (with a trace and a gate):
 * every write and flush is put in the trace when issued, parked at the gate, and takes effect
 * and is traced as completed only when the gate releases it, so a scheduler decides the order
 * and the trace says exactly which writes a flush covered. Plain (without): operations take
 * effect at once, for the engine opened on a rebuilt crash state.
 *
 * Fingerprints are a function of the content only (the "mtime" is a content hash): a rebuilt
 * member that holds what it held when it was fingerprinted has the same fingerprint, as a file
 * whose data survived a power loss keeps its mtime.
 */
export class TracedMembers implements MemberAccess {
  /** Each member's bytes by path: what reads see (completed writes, durable or not). */
  readonly disks = new Map<string, Uint8Array>();
  private readonly inodes = new Map<string, number>();

  constructor(
    images: ReadonlyMap<string, Uint8Array>,
    private readonly recorder: { readonly trace: CrashTrace; readonly gate: OpGate } | null = null,
  ) {
    let inode = 1;
    for (const [path, bytes] of images) {
      this.disks.set(path, bytes);
      this.inodes.set(path, inode++);
    }
  }

  async open(path: string, sizeBytes: number): Promise<BlockDevice> {
    const disk = this.disks.get(path);
    if (!disk) throw new NotFoundError(`member ${path} does not exist`);
    if (disk.length !== sizeBytes)
      throw new IoError(`member ${path} is ${disk.length} bytes, not ${sizeBytes}`);
    return new TracedDevice(path, disk, this.recorder);
  }

  async fingerprint(path: string, _device: BlockDevice, geometry: Geometry): Promise<Fingerprint> {
    return contentFingerprint(this.disks.get(path)!, this.inodes.get(path)!, geometry);
  }
}

/** Size, inode, a content hash standing in for the mtime, and three sampled chunks. */
export function contentFingerprint(disk: Uint8Array, inode: number, geometry: Geometry): Fingerprint {
  const samples: Fingerprint['samples'] = [];
  for (const chunk of [0, Math.floor(geometry.chunks / 2), geometry.chunks - 1]) {
    const start = chunkStartLbn(geometry, chunk) * 512;
    const bytes = disk.subarray(start, start + chunkBlockCount(geometry, chunk) * 512);
    samples.push({ chunk, hash: createHash('sha256').update(bytes).digest('hex').slice(0, 32) });
  }
  const whole = createHash('sha256').update(disk).digest();
  return { sizeBytes: disk.length, inode, mtimeMs: whole.readUIntLE(0, 6), samples };
}

/** One open of a member: reads at once; writes and flushes traced and gated when recording. */
class TracedDevice implements BlockDevice {
  private closed = false;

  constructor(
    readonly name: string,
    private readonly disk: Uint8Array,
    private readonly recorder: { readonly trace: CrashTrace; readonly gate: OpGate } | null,
  ) {}

  size(): number {
    return this.disk.length;
  }

  async read(buffer: Uint8Array, offset: number): Promise<void> {
    this.check(offset, buffer.length);
    buffer.set(this.disk.subarray(offset, offset + buffer.length));
  }

  write(buffer: Uint8Array, offset: number): Promise<void> {
    try {
      this.check(offset, buffer.length);
    } catch (error) {
      return Promise.reject(error);
    }
    if (this.recorder === null) {
      this.disk.set(buffer, offset);
      return Promise.resolve();
    }
    const { trace, gate } = this.recorder;
    const write = trace.writeIssued(this.name, offset, buffer);
    return gate.park(`write ${this.name}@${offset}+${buffer.length}`, this.name, () => {
      this.disk.set(write.data, offset);
      trace.writeCompleted(write);
    });
  }

  flush(): Promise<void> {
    if (this.closed) return Promise.reject(new IoError(`${this.name} is closed`));
    if (this.recorder === null) return Promise.resolve();
    const { trace, gate } = this.recorder;
    const flush = trace.flushIssued(this.name);
    return gate.park(`flush ${this.name}`, this.name, () => trace.flushCompleted(flush));
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  private check(offset: number, length: number): void {
    if (this.closed) throw new IoError(`${this.name} is closed`);
    if (offset % 512 !== 0 || length % 512 !== 0 || offset + length > this.disk.length) {
      throw new IoError(`${this.name}: bad access ${offset}+${length}`);
    }
  }
}
