import { describe, expect, it } from 'vitest';
import { FaultInjectingDevice } from '../../../adapters/devices/fault-injecting-device.js';
import { MemoryBlockDevice } from '../../../adapters/devices/memory-block-device.js';
import { InvalidArgumentError, IoError, OutOfRangeError } from '../../../domain/errors.js';
import { expectSameBytes, pattern } from './temp-dir.js';

const SIZE = 64 * 512;

function wrapped(): { inner: MemoryBlockDevice; device: FaultInjectingDevice } {
  const inner = new MemoryBlockDevice(SIZE, 'mem0');
  return { inner, device: new FaultInjectingDevice(inner) };
}

/** The error an operation rejects with. */
async function failure(operation: Promise<void>): Promise<Error> {
  const error = await operation.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(Error);
  return error as Error;
}

describe('FaultInjectingDevice', () => {
  it('passes everything through and counts it when no rule is set', async () => {
    const { inner, device } = wrapped();
    expect(device.name).toBe('mem0');
    expect(device.size()).toBe(SIZE);
    await device.write(pattern(1024, 1), 512);
    const back = new Uint8Array(1024);
    await device.read(back, 512);
    await device.flush();
    expectSameBytes(back, pattern(1024, 1));
    expectSameBytes(inner.snapshot().subarray(512, 1536), pattern(1024, 1));
    expect(device.counters()).toEqual({
      read: { ops: 1, bytes: 1024, failed: 0 },
      write: { ops: 1, bytes: 1024, failed: 0 },
      flush: { ops: 1, bytes: 0, failed: 0 },
    });
    device.resetCounters();
    expect(device.counters().write).toEqual({ ops: 0, bytes: 0, failed: 0 });
  });

  it('fails every write with an EIO IoError and writes nothing', async () => {
    const { inner, device } = wrapped();
    device.failWrites();
    const error = await failure(device.write(pattern(512, 2), 0));
    expect(error).toBeInstanceOf(IoError);
    expect(error.message).toContain('EIO');
    expect(error.message).toContain('mem0');
    expect((error.cause as { code?: string }).code).toBe('EIO');
    expect(inner.snapshot().every((b) => b === 0)).toBe(true);
    expect(device.counters().write).toEqual({ ops: 0, bytes: 0, failed: 1 });
    // Reads are unaffected by a write rule.
    await device.read(new Uint8Array(512), 0);
  });

  it('fails only operations overlapping the chosen byte ranges', async () => {
    const { device } = wrapped();
    device.failReads({ ranges: [{ offset: 4096, length: 1024 }] });
    await device.read(new Uint8Array(512), 3584); // ends just before the range
    await device.read(new Uint8Array(512), 5120); // starts just after it
    await expect(device.read(new Uint8Array(512), 4096)).rejects.toBeInstanceOf(IoError);
    await expect(device.read(new Uint8Array(512), 4608)).rejects.toBeInstanceOf(IoError);
    await expect(device.read(new Uint8Array(8192), 0)).rejects.toBeInstanceOf(IoError); // spans it
    await device.write(pattern(512, 3), 4096); // writes untouched
    expect(device.counters().read).toEqual({ ops: 2, bytes: 1024, failed: 3 });
  });

  it('lets the first N operations through, then fails the rest', async () => {
    const { device } = wrapped();
    device.failWrites({ afterOps: 3 });
    for (let i = 0; i < 3; i++) await device.write(pattern(512, i), i * 512);
    await expect(device.write(pattern(512, 9), 0)).rejects.toBeInstanceOf(IoError);
    await expect(device.write(pattern(512, 9), 512)).rejects.toBeInstanceOf(IoError);
    expect(device.counters().write).toEqual({ ops: 3, bytes: 1536, failed: 2 });
  });

  it('combines afterOps with ranges: only operations in the ranges count', async () => {
    const { device } = wrapped();
    device.failWrites({ ranges: [{ offset: 0, length: 512 }], afterOps: 1 });
    await device.write(pattern(512, 1), 1024); // outside: neither counted nor failed
    await device.write(pattern(512, 1), 0); // first in range: allowed
    await expect(device.write(pattern(512, 1), 0)).rejects.toBeInstanceOf(IoError);
    await device.write(pattern(512, 1), 1024);
  });

  it('fails a set number of times, then heals itself (transient error)', async () => {
    const { device } = wrapped();
    device.failReads({ times: 2 });
    await expect(device.read(new Uint8Array(512), 0)).rejects.toBeInstanceOf(IoError);
    await expect(device.read(new Uint8Array(512), 0)).rejects.toBeInstanceOf(IoError);
    await device.read(new Uint8Array(512), 0);
    expect(device.counters().read).toEqual({ ops: 1, bytes: 512, failed: 2 });
  });

  it('fails flushes, after N and on demand', async () => {
    const { device } = wrapped();
    device.failFlushes({ afterOps: 1 });
    await device.flush();
    const error = await failure(device.flush());
    expect(error.message).toContain('EIO: injected flush failure on mem0');
    expect(device.counters().flush).toEqual({ ops: 1, bytes: 0, failed: 1 });
  });

  it('heal() removes every rule at runtime; a new rule replaces the old one', async () => {
    const { device } = wrapped();
    device.failReads().failWrites().failFlushes();
    await expect(device.read(new Uint8Array(512), 0)).rejects.toBeInstanceOf(IoError);
    device.heal();
    await device.read(new Uint8Array(512), 0);
    await device.write(pattern(512, 1), 0);
    await device.flush();
    device.failWrites();
    device.failWrites({ ranges: [{ offset: 512, length: 512 }] });
    await device.write(pattern(512, 1), 0);
    await expect(device.write(pattern(512, 1), 512)).rejects.toBeInstanceOf(IoError);
  });

  it('validates requests the same way with or without faults', async () => {
    const { device } = wrapped();
    device.failReads();
    await expect(device.read(new Uint8Array(100), 0)).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(device.read(new Uint8Array(512), SIZE)).rejects.toBeInstanceOf(OutOfRangeError);
    expect(device.counters().read.failed).toBe(0);
  });

  it('refuses invalid rules and latencies', () => {
    const { device } = wrapped();
    expect(() => device.failWrites({ afterOps: -1 })).toThrow(InvalidArgumentError);
    expect(() => device.failWrites({ times: 0 })).toThrow(InvalidArgumentError);
    expect(() => device.failReads({ ranges: [{ offset: 0, length: 0 }] })).toThrow(InvalidArgumentError);
    expect(() => device.setLatency(-1)).toThrow(InvalidArgumentError);
    expect(() => device.setLatency({ minMs: 5, maxMs: 1, seed: 1 })).toThrow(InvalidArgumentError);
  });

  it('adds a fixed latency to every operation', async () => {
    const device = new FaultInjectingDevice(new MemoryBlockDevice(SIZE), { latency: 20 });
    const started = performance.now();
    await device.write(pattern(512, 1), 0);
    await device.read(new Uint8Array(512), 0);
    await device.flush();
    // Timers may fire up to ~1 ms early; 3 × 20 ms with margin.
    expect(performance.now() - started).toBeGreaterThanOrEqual(55);
    device.setLatency(0);
    const quick = performance.now();
    await device.flush();
    expect(performance.now() - quick).toBeLessThan(20);
  });

  it('draws random latency from a seed within its bounds', async () => {
    /** Total delay of ten flushes, measured. */
    const timed = async (seed: number): Promise<number> => {
      const device = new FaultInjectingDevice(new MemoryBlockDevice(SIZE), {
        latency: { minMs: 2, maxMs: 6, seed },
      });
      const started = performance.now();
      for (let i = 0; i < 10; i++) await device.flush();
      return performance.now() - started;
    };
    const elapsed = await timed(42);
    expect(elapsed).toBeGreaterThanOrEqual(10 * 2 - 5);
    expect(elapsed).toBeLessThan(10 * 6 + 200);
  });

  it('delegates close to the wrapped device', async () => {
    const { inner, device } = wrapped();
    await device.close();
    await expect(inner.read(new Uint8Array(512), 0)).rejects.toBeInstanceOf(IoError);
  });
});
