import { unlink } from 'node:fs/promises';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createSparseImage, openBlockDevice } from '../../../adapters/devices/file-block-device.js';
import { MemoryBlockDevice } from '../../../adapters/devices/memory-block-device.js';
import { InvalidArgumentError, IoError, OutOfRangeError } from '../../../domain/errors.js';
import type { BlockDevice } from '../../../domain/ports/block-device.js';
import { expectSameBytes, pattern, useTempDirs } from './temp-dir.js';

describe('MemoryBlockDevice', () => {
  it('starts zeroed, round-trips and keeps its content readable after close', async () => {
    const device = new MemoryBlockDevice(8192, 'm');
    expect(device.name).toBe('m');
    expect(device.size()).toBe(8192);
    expect(device.snapshot().every((b) => b === 0)).toBe(true);
    await device.write(pattern(1024, 4), 2048);
    const back = new Uint8Array(1024);
    await device.read(back, 2048);
    expectSameBytes(back, pattern(1024, 4));
    await device.flush();
    await device.close();
    await device.close();
    expectSameBytes(device.snapshot().subarray(2048, 3072), pattern(1024, 4));
    await expect(device.read(back, 0)).rejects.toBeInstanceOf(IoError);
    await expect(device.write(back, 0)).rejects.toBeInstanceOf(IoError);
    await expect(device.flush()).rejects.toBeInstanceOf(IoError);
  });

  it('copies content in from() and out of snapshot(), never sharing it', async () => {
    const content = pattern(1024, 1);
    const device = MemoryBlockDevice.from(content);
    content[0] = content[0]! ^ 0xff;
    const snap = device.snapshot();
    snap[1] = snap[1]! ^ 0xff;
    expectSameBytes(device.snapshot(), pattern(1024, 1));
  });

  it('refuses invalid sizes and requests like the file device', async () => {
    expect(() => new MemoryBlockDevice(1000)).toThrow(InvalidArgumentError);
    expect(() => new MemoryBlockDevice(-512)).toThrow(InvalidArgumentError);
    const device = new MemoryBlockDevice(4096);
    await expect(device.read(new Uint8Array(512), 1)).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(device.write(new Uint8Array(511), 0)).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(device.write(new Uint8Array(512), 4096)).rejects.toBeInstanceOf(OutOfRangeError);
  });
});

/** One operation of a random sequence; offsets and lengths are sometimes invalid on purpose. */
type Op =
  | { kind: 'write'; offset: number; length: number; seed: number }
  | { kind: 'read'; offset: number; length: number }
  | { kind: 'flush' };

const BLOCKS = 64;
const SIZE = BLOCKS * 512;
const offsetArb = fc.oneof(
  { weight: 4, arbitrary: fc.integer({ min: 0, max: BLOCKS + 1 }).map((b) => b * 512) },
  { weight: 1, arbitrary: fc.integer({ min: -1024, max: SIZE + 1024 }) },
);
const lengthArb = fc.oneof(
  { weight: 4, arbitrary: fc.integer({ min: 0, max: 16 }).map((b) => b * 512) },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 5000 }) },
);
const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    kind: fc.constant('write' as const),
    offset: offsetArb,
    length: lengthArb,
    seed: fc.integer({ min: 0, max: 255 }),
  }),
  fc.record({ kind: fc.constant('read' as const), offset: offsetArb, length: lengthArb }),
  fc.record({ kind: fc.constant('flush' as const) }),
);

/** Apply `op`; the outcome is the bytes read, 'ok', or the error class name. */
async function apply(device: BlockDevice, op: Op): Promise<string | Uint8Array> {
  try {
    if (op.kind === 'flush') {
      await device.flush();
      return 'ok';
    }
    if (op.kind === 'write') {
      await device.write(pattern(op.length, op.seed), op.offset);
      return 'ok';
    }
    const buffer = new Uint8Array(op.length);
    await device.read(buffer, op.offset);
    return buffer;
  } catch (error) {
    return (error as Error).constructor.name;
  }
}

describe('MemoryBlockDevice as a model of FileBlockDevice', () => {
  const tempDir = useTempDirs();

  it('gives the same outcomes and the same bytes for the same random operations', async () => {
    const dir = await tempDir();
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { maxLength: 40 }), async (ops) => {
        const path = join(dir, `run-${run++}.img`);
        await createSparseImage(path, SIZE);
        const file = await openBlockDevice(path, { expectedSizeBytes: SIZE });
        const memory = new MemoryBlockDevice(SIZE, path);
        try {
          for (const op of ops) {
            const [fromFile, fromMemory] = [await apply(file, op), await apply(memory, op)];
            expect(fromFile).toEqual(fromMemory);
          }
          const whole = new Uint8Array(SIZE);
          await file.read(whole, 0);
          expectSameBytes(whole, memory.snapshot());
        } finally {
          await file.close();
          await unlink(path);
        }
      }),
      { numRuns: 150 },
    );
  });
});
