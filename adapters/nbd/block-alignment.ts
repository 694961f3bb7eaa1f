import { IoError } from '../../domain/errors.js';
import type { RangeLock } from '../../primitives/range-lock.js';
import { MIN_BLOCK_SIZE_BYTES } from './nbd-constants.js';
import type { NbdExport, NbdWriteZeroesOptions } from './nbd-export.js';

/**
 * Byte-granular I/O on a block backend.
 *
 * The backend only accepts whole 512-byte blocks. A client that negotiated NBD_INFO_BLOCK_SIZE
 * promised to send only aligned requests (its unaligned ones are refused with EINVAL before they
 * get here). A client that did not (NBD_OPT_EXPORT_NAME, or NBD_OPT_GO without the request) is
 * entitled by the spec to the default minimum block size of 1 byte, so for it we do the work:
 * reads are widened to whole blocks and sliced; writes and write-zeroes read the partial edge
 * blocks, patch them and write them back (read-modify-write) under the export's range lock;
 * trims are shrunk to the whole blocks inside the range (the spec lets a server round a trim
 * inwards, and a trim is only a hint). Aligned requests take the same lock but skip the extra I/O.
 */

const BLOCK = MIN_BLOCK_SIZE_BYTES;

function alignDown(value: number): number {
  return value - (value % BLOCK);
}

function alignUp(value: number): number {
  const rest = value % BLOCK;
  return rest === 0 ? value : value + BLOCK - rest;
}

/** View a Uint8Array as a Buffer without copying. */
export function asBuffer(data: Uint8Array): Buffer {
  return Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

/** Backend read that insists on the promised length: a short read must not reach the client as data. */
async function readExact(exp: NbdExport, offset: number, length: number): Promise<Buffer> {
  const data: unknown = await exp.read(offset, length);
  if (!(data instanceof Uint8Array) || data.byteLength !== length) {
    const got = data instanceof Uint8Array ? `${data.byteLength} bytes` : typeof data;
    throw new IoError(`backend read of ${length} bytes at ${offset} returned ${got}`);
  }
  return asBuffer(data);
}

/** Read `length` bytes at any byte offset. */
export async function readBytes(exp: NbdExport, offset: number, length: number): Promise<Buffer> {
  if (length === 0) return Buffer.alloc(0);
  const start = alignDown(offset);
  const end = alignUp(offset + length);
  const data = await readExact(exp, start, end - start);
  if (start === offset && end === offset + length) return data;
  return data.subarray(offset - start, offset - start + length);
}

/** Write `data` at any byte offset; unaligned edges are read-modify-written under the range lock. */
export async function writeBytes(
  exp: NbdExport,
  lock: RangeLock,
  offset: number,
  data: Buffer,
  fua: boolean,
): Promise<void> {
  // Nothing to write: the spec leaves zero-length writes unspecified; success is the kind answer.
  if (data.length === 0) return;
  const end = offset + data.length;
  const alignedStart = alignDown(offset);
  const alignedEnd = alignUp(end);
  const release = await lock.acquire(alignedStart, alignedEnd);
  try {
    if (alignedStart === offset && alignedEnd === end) {
      await exp.write(offset, data, { fua });
      return;
    }
    const blocks = Buffer.allocUnsafe(alignedEnd - alignedStart);
    if (alignedEnd - alignedStart <= 2 * BLOCK) {
      (await readExact(exp, alignedStart, alignedEnd - alignedStart)).copy(blocks, 0);
    } else {
      if (offset > alignedStart) (await readExact(exp, alignedStart, BLOCK)).copy(blocks, 0);
      if (end < alignedEnd)
        (await readExact(exp, alignedEnd - BLOCK, BLOCK)).copy(blocks, alignedEnd - BLOCK - alignedStart);
    }
    data.copy(blocks, offset - alignedStart);
    await exp.write(alignedStart, blocks, { fua });
  } finally {
    release();
  }
}

/** Zero `length` bytes at any byte offset: partial edge blocks by read-modify-write, whole blocks by writeZeroes. */
export async function zeroBytes(
  exp: NbdExport,
  lock: RangeLock,
  offset: number,
  length: number,
  options: NbdWriteZeroesOptions,
): Promise<void> {
  if (length === 0) return;
  const end = offset + length;
  const alignedStart = alignDown(offset);
  const alignedEnd = alignUp(end);
  const release = await lock.acquire(alignedStart, alignedEnd);
  try {
    if (alignedStart === offset && alignedEnd === end) {
      await exp.writeZeroes(offset, length, options);
      return;
    }
    const innerStart = alignUp(offset);
    const innerEnd = alignDown(end);
    if (innerStart >= innerEnd) {
      // No whole block inside: patch the one or two blocks the range touches.
      const blocks = await readExact(exp, alignedStart, alignedEnd - alignedStart);
      const patched = Buffer.from(blocks);
      patched.fill(0, offset - alignedStart, end - alignedStart);
      await exp.write(alignedStart, patched, { fua: options.fua });
      return;
    }
    if (offset > alignedStart) {
      const head = Buffer.from(await readExact(exp, alignedStart, BLOCK));
      head.fill(0, offset - alignedStart);
      await exp.write(alignedStart, head, { fua: options.fua });
    }
    if (end < alignedEnd) {
      const tail = Buffer.from(await readExact(exp, alignedEnd - BLOCK, BLOCK));
      tail.fill(0, 0, end - (alignedEnd - BLOCK));
      await exp.write(alignedEnd - BLOCK, tail, { fua: options.fua });
    }
    await exp.writeZeroes(innerStart, innerEnd - innerStart, options);
  } finally {
    release();
  }
}

/** Trim the whole blocks inside `[offset, offset + length)`; a range with none is a successful no-op. */
export async function trimBytes(
  exp: NbdExport,
  lock: RangeLock,
  offset: number,
  length: number,
  fua: boolean,
): Promise<void> {
  const innerStart = alignUp(offset);
  const innerEnd = alignDown(offset + length);
  if (innerStart >= innerEnd) return;
  const release = await lock.acquire(innerStart, innerEnd);
  try {
    await exp.trim(innerStart, innerEnd - innerStart, { fua });
  } finally {
    release();
  }
}
