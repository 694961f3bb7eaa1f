import { type FileHandle, open } from 'node:fs/promises';
import { NBD_STATE_DIRTY } from '../../../adapters/nbd/nbd-constants.js';
import type {
  NbdExport,
  NbdExtent,
  NbdWriteOptions,
  NbdWriteZeroesOptions,
} from '../../../adapters/nbd/nbd-export.js';
import { OutOfRangeError } from '../../../domain/errors.js';

/** Blocks per dirty-bitmap chunk, as in OpenVMS and shadowlog. */
export const CHUNK_BLOCKS = 127;
/** Bytes per dirty-bitmap chunk. */
export const CHUNK_BYTES = CHUNK_BLOCKS * 512;
const ZERO_SLICE_BYTES = 1024 * 1024;

/** Hook run before each backend operation: lets tests slow the backend or inject failures. */
export type BackendHook = (operation: string, offset: number, length: number) => Promise<void> | undefined;

/** Options of {@link FileExport.create}. */
export interface FileExportOptions {
  /** Export name. */
  readonly name: string;
  /** Backing file (created or resized to `sizeBytes`). */
  readonly path: string;
  /** Size in bytes (a multiple of 512). */
  readonly sizeBytes: number;
  /** Refuse writes. */
  readonly readOnly?: boolean;
  /** Description for `nbdinfo --list`. */
  readonly description?: string;
  /** Name of a member whose dirty bitmap is exported as `qemu:dirty-bitmap:<member>`. */
  readonly bitmapMember?: string;
  /** Runs before each operation. */
  readonly hook?: BackendHook;
}

/**
 * A test backend: positional I/O on an image file, plus a dirty bitmap held as a Set of chunk
 * numbers (127 blocks each). The real shadow set plugs into the server through the same interface.
 */
export class FileExport implements NbdExport {
  readonly name: string;
  readonly description: string;
  readonly sizeBytes: number;
  readonly readOnly: boolean;
  /** Chunks marked dirty; tests add to it directly. */
  readonly dirtyChunks = new Set<number>();
  /** Write bytes inside the backend right now, and the most ever. */
  inFlightWriteBytes = 0;
  /** Highest {@link inFlightWriteBytes} seen. */
  peakInFlightWriteBytes = 0;
  /** Number of flush() calls. */
  flushes = 0;
  /** Every backend call, for assertions on alignment. */
  readonly calls: Array<{ operation: string; offset: number; length: number }> = [];

  private constructor(
    private readonly file: FileHandle,
    private readonly options: FileExportOptions,
  ) {
    this.name = options.name;
    this.description = options.description ?? `test export ${options.name}`;
    this.sizeBytes = options.sizeBytes;
    this.readOnly = options.readOnly ?? false;
  }

  /** Open (creating if needed) the backing file at the given size. */
  static async create(options: FileExportOptions): Promise<FileExport> {
    const file = await open(options.path, 'a+').then(async (handle) => {
      await handle.close();
      return open(options.path, 'r+');
    });
    await file.truncate(options.sizeBytes);
    return new FileExport(file, options);
  }

  /** Close the backing file. */
  async close(): Promise<void> {
    await this.file.close();
  }

  async read(offset: number, length: number): Promise<Uint8Array> {
    await this.enter('read', offset, length);
    const buffer = Buffer.alloc(length);
    let done = 0;
    while (done < length) {
      const { bytesRead } = await this.file.read(buffer, done, length - done, offset + done);
      if (bytesRead === 0) break;
      done += bytesRead;
    }
    return buffer;
  }

  async write(offset: number, data: Uint8Array, options: NbdWriteOptions): Promise<void> {
    await this.enter('write', offset, data.length);
    this.inFlightWriteBytes += data.length;
    this.peakInFlightWriteBytes = Math.max(this.peakInFlightWriteBytes, this.inFlightWriteBytes);
    try {
      await this.writeAll(offset, data);
      this.markDirty(offset, data.length);
      if (options.fua) await this.file.datasync();
    } finally {
      this.inFlightWriteBytes -= data.length;
    }
  }

  async flush(): Promise<void> {
    await this.enter('flush', 0, 0);
    this.flushes += 1;
    await this.file.datasync();
  }

  async trim(offset: number, length: number, options: NbdWriteOptions): Promise<void> {
    await this.enter('trim', offset, length);
    await this.zero(offset, length, options.fua);
  }

  async writeZeroes(offset: number, length: number, options: NbdWriteZeroesOptions): Promise<void> {
    await this.enter('write-zeroes', offset, length);
    await this.zero(offset, length, options.fua);
  }

  metaContexts(): readonly string[] {
    return this.options.bitmapMember ? [`qemu:dirty-bitmap:${this.options.bitmapMember}`] : [];
  }

  async blockStatus(context: string, offset: number, length: number): Promise<ReadonlyArray<NbdExtent>> {
    await this.enter('block-status', offset, length);
    if (context === 'base:allocation') return [{ length, flags: 0 }];
    if (context !== this.metaContexts()[0]) throw new OutOfRangeError(`no context ${context}`);
    const extents: Array<{ length: number; flags: number }> = [];
    let position = offset;
    const end = offset + length;
    while (position < end) {
      const chunk = Math.floor(position / CHUNK_BYTES);
      const chunkEnd = Math.min(end, (chunk + 1) * CHUNK_BYTES);
      const flags = this.dirtyChunks.has(chunk) ? NBD_STATE_DIRTY : 0;
      const last = extents[extents.length - 1];
      if (last && last.flags === flags) last.length += chunkEnd - position;
      else extents.push({ length: chunkEnd - position, flags });
      position = chunkEnd;
    }
    return extents;
  }

  private async enter(operation: string, offset: number, length: number): Promise<void> {
    this.calls.push({ operation, offset, length });
    if (this.calls.length > 10_000) this.calls.splice(0, 5_000);
    if (offset % 512 !== 0 || length % 512 !== 0) {
      throw new Error(`backend got an unaligned ${operation} ${offset}+${length}`);
    }
    if (offset + length > this.sizeBytes)
      throw new OutOfRangeError(`${operation} ${offset}+${length} past the end`);
    await this.options.hook?.(operation, offset, length);
  }

  private markDirty(offset: number, length: number): void {
    if (!this.options.bitmapMember || length === 0) return;
    const last = Math.floor((offset + length - 1) / CHUNK_BYTES);
    for (let chunk = Math.floor(offset / CHUNK_BYTES); chunk <= last; chunk++) this.dirtyChunks.add(chunk);
  }

  private async writeAll(offset: number, data: Uint8Array): Promise<void> {
    let done = 0;
    while (done < data.length) {
      const { bytesWritten } = await this.file.write(data, done, data.length - done, offset + done);
      done += bytesWritten;
    }
  }

  private async zero(offset: number, length: number, fua: boolean): Promise<void> {
    const zeroes = Buffer.alloc(Math.min(length, ZERO_SLICE_BYTES));
    for (let done = 0; done < length; done += zeroes.length) {
      await this.writeAll(offset + done, zeroes.subarray(0, Math.min(zeroes.length, length - done)));
    }
    this.markDirty(offset, length);
    if (fua) await this.file.datasync();
  }
}
