import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  NbdCommand,
  NbdCommandFlag,
  NbdErrno,
  NbdReplyType,
  NbdTransmissionFlag,
} from '../../../adapters/nbd/nbd-constants.js';
import { readUint64 } from '../../../adapters/nbd/nbd-wire.js';
import { InvalidArgumentError, IoError, OutOfRangeError } from '../../../domain/errors.js';
import { CHUNK_BYTES } from './file-export.js';
import { type Harness, startHarness } from './nbd-harness.js';
import { RawNbdClient } from './raw-nbd-client.js';

const MiB = 1024 * 1024;
const SIZE = 4 * MiB;

/** A failure the backend hook injects, keyed by operation and offset. */
const failures = new Map<string, Error>();
/** Delays the backend hook injects, keyed by operation and offset. */
const delays = new Map<string, number>();

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('NBD transmission', () => {
  let harness: Harness;
  const clients: RawNbdClient[] = [];
  const open = async () => {
    const c = await RawNbdClient.connect(harness.server.address.port);
    clients.push(c);
    return c;
  };
  const structured = async (name = 'vol', contexts?: string[]) => {
    const c = await open();
    const session = await c.go(name, { structured: true, blockSize: true, contexts });
    return { c, session };
  };
  const simple = async (name = 'vol') => {
    const c = await open();
    const session = await c.go(name, { blockSize: true });
    return { c, session };
  };

  beforeAll(async () => {
    const hook = async (operation: string, offset: number) => {
      const key = `${operation}@${offset}`;
      const delay = delays.get(key) ?? delays.get(operation);
      if (delay) await sleep(delay);
      const failure = failures.get(key);
      if (failure) throw failure;
    };
    harness = await startHarness([
      { name: 'vol', sizeBytes: SIZE, bitmapMember: 'm2', hook },
      { name: 'ro', sizeBytes: 1 * MiB, readOnly: true },
    ]);
  });

  afterEach(() => {
    failures.clear();
    delays.clear();
    for (const c of clients.splice(0)) c.destroy();
  });

  afterAll(async () => {
    await harness?.close();
  });

  it('advertises the transmission flags', async () => {
    const { session } = await structured();
    const F = NbdTransmissionFlag;
    const expected =
      F.HAS_FLAGS |
      F.SEND_FLUSH |
      F.SEND_FUA |
      F.SEND_TRIM |
      F.SEND_WRITE_ZEROES |
      F.SEND_DF |
      F.CAN_MULTI_CONN |
      F.SEND_FAST_ZERO;
    expect(session.flags).toBe(expected);
    const { session: plain } = await simple('ro');
    expect(plain.flags & F.READ_ONLY).toBe(F.READ_ONLY);
    expect(plain.flags & F.SEND_DF).toBe(0);
  });

  it('writes with FUA and reads back with structured OFFSET_DATA and simple replies', async () => {
    const { c } = await structured();
    const data = randomBytes(64 * 1024);
    expect(
      await c.errorOf(NbdCommand.WRITE, 8192, data.length, { flags: NbdCommandFlag.FUA, payload: data }),
    ).toBe(0);
    const messages = await c.call(NbdCommand.READ, 8192, data.length, { flags: NbdCommandFlag.DF });
    expect(messages).toHaveLength(1);
    expect(messages[0]).toMatchObject({ structured: true, type: NbdReplyType.OFFSET_DATA, flags: 1 });
    expect(readUint64(messages[0]!.data, 0)).toBe(8192);
    expect(messages[0]!.data.subarray(8).equals(data)).toBe(true);
    expect(await c.errorOf(NbdCommand.FLUSH, 0, 0)).toBe(0);
    const { c: s } = await simple();
    expect((await s.readData(8192, data.length)).equals(data)).toBe(true);
    const file = await readFile(join(harness.dir, 'vol.img'));
    expect(file.subarray(8192, 8192 + data.length).equals(data)).toBe(true);
  });

  it('maps range errors as the spec says: ENOSPC for writes, EINVAL for reads and trims', async () => {
    for (const open of [structured, simple]) {
      const { c } = await open();
      const payload = Buffer.alloc(4096);
      expect(await c.errorOf(NbdCommand.WRITE, SIZE - 2048, 4096, { payload })).toBe(NbdErrno.ENOSPC);
      expect(await c.errorOf(NbdCommand.WRITE_ZEROES, SIZE, 512)).toBe(NbdErrno.ENOSPC);
      expect(await c.errorOf(NbdCommand.READ, SIZE - 512, 1024)).toBe(NbdErrno.EINVAL);
      expect(await c.errorOf(NbdCommand.TRIM, SIZE, 512)).toBe(NbdErrno.EINVAL);
      expect(await c.errorOf(NbdCommand.READ, 2 ** 60, 512)).toBe(NbdErrno.EINVAL);
      expect(await c.errorOf(NbdCommand.READ, 0, 32 * MiB + 512)).toBe(NbdErrno.EINVAL);
      // The connection is still good.
      expect(await c.errorOf(NbdCommand.READ, 0, 512)).toBe(0);
    }
  });

  it('zero-length requests succeed without disconnecting (the spec leaves them unspecified)', async () => {
    for (const open of [structured, simple]) {
      const { c } = await open();
      expect(await c.errorOf(NbdCommand.READ, 4096, 0)).toBe(0);
      expect(await c.errorOf(NbdCommand.WRITE, 4096, 0)).toBe(0);
      expect(await c.errorOf(NbdCommand.TRIM, 4096, 0)).toBe(0);
      expect(await c.errorOf(NbdCommand.WRITE_ZEROES, 4096, 0)).toBe(0);
      expect(await c.errorOf(NbdCommand.READ, 0, 512)).toBe(0);
    }
  });

  it('answers unknown commands and flags with EINVAL and keeps going', async () => {
    const { c } = await structured();
    expect(await c.errorOf(42, 0, 512)).toBe(NbdErrno.EINVAL);
    expect(await c.errorOf(NbdCommand.READ, 0, 512, { flags: 0x80 })).toBe(NbdErrno.EINVAL);
    expect(await c.errorOf(NbdCommand.READ, 0, 512, { flags: NbdCommandFlag.NO_HOLE })).toBe(NbdErrno.EINVAL);
    expect(await c.errorOf(NbdCommand.FLUSH, 512, 0)).toBe(NbdErrno.EINVAL);
    expect(await c.errorOf(NbdCommand.BLOCK_STATUS, 0, 512)).toBe(NbdErrno.EINVAL);
    const payload = Buffer.alloc(512, 7);
    expect(await c.errorOf(NbdCommand.WRITE, 0, 512, { flags: NbdCommandFlag.DF, payload })).toBe(
      NbdErrno.EINVAL,
    );
    // The rejected write's payload was skipped: the next request parses.
    expect(await c.errorOf(NbdCommand.READ, 0, 512)).toBe(0);
    const { c: s } = await simple();
    expect(await s.errorOf(NbdCommand.READ, 0, 512, { flags: NbdCommandFlag.DF })).toBe(NbdErrno.EINVAL);
  });

  it('skips an over-long write payload with EINVAL, and closes on an absurd one', async () => {
    const { c } = await structured();
    const payload = Buffer.alloc(33 * MiB);
    expect(await c.errorOf(NbdCommand.WRITE, 0, payload.length, { payload })).toBe(NbdErrno.EINVAL);
    expect(await c.errorOf(NbdCommand.READ, 0, 512)).toBe(0);
    c.request(NbdCommand.WRITE, 0, 0xffffffff);
    await c.closed();
  });

  it('refuses writes on a read-only export with EPERM', async () => {
    const { c } = await structured('ro');
    const payload = Buffer.alloc(512);
    expect(await c.errorOf(NbdCommand.WRITE, 0, 512, { payload })).toBe(NbdErrno.EPERM);
    expect(await c.errorOf(NbdCommand.TRIM, 0, 512)).toBe(NbdErrno.EPERM);
    expect(await c.errorOf(NbdCommand.WRITE_ZEROES, 0, 512)).toBe(NbdErrno.EPERM);
    expect(await c.errorOf(NbdCommand.READ, 0, 512)).toBe(0);
    expect(await c.errorOf(NbdCommand.FLUSH, 0, 0)).toBe(0);
  });

  it('write-zeroes honours NO_HOLE and fails FAST_ZERO fast with ENOTSUP', async () => {
    const { c } = await structured();
    await c.call(NbdCommand.WRITE, 0, 4096, { payload: Buffer.alloc(4096, 0x55) });
    expect(await c.errorOf(NbdCommand.WRITE_ZEROES, 0, 4096, { flags: NbdCommandFlag.FAST_ZERO })).toBe(
      NbdErrno.ENOTSUP,
    );
    expect((await c.readData(0, 4096)).every((b) => b === 0x55)).toBe(true);
    expect(await c.errorOf(NbdCommand.WRITE_ZEROES, 0, 4096, { flags: NbdCommandFlag.NO_HOLE })).toBe(0);
    expect((await c.readData(0, 4096)).every((b) => b === 0)).toBe(true);
  });

  it('maps backend errors: OUT_OF_RANGE, INVALID_ARGUMENT, IO_ERROR and foreign errors', async () => {
    const { c } = await structured();
    const payload = Buffer.alloc(512);
    failures.set('write@0', new OutOfRangeError('member shrank'));
    expect(await c.errorOf(NbdCommand.WRITE, 0, 512, { payload })).toBe(NbdErrno.ENOSPC);
    failures.set('read@0', new OutOfRangeError('member shrank'));
    expect(await c.errorOf(NbdCommand.READ, 0, 512)).toBe(NbdErrno.EINVAL);
    failures.set('read@0', new InvalidArgumentError('bad'));
    expect(await c.errorOf(NbdCommand.READ, 0, 512)).toBe(NbdErrno.EINVAL);
    failures.set('read@0', new IoError('member m1 failed'));
    const messages = await c.call(NbdCommand.READ, 0, 512);
    expect(messages[0]).toMatchObject({ type: NbdReplyType.ERROR, error: NbdErrno.EIO, flags: 1 });
    expect(messages[0]!.data.subarray(6).toString()).toContain('member m1 failed');
    failures.set('flush@0', new TypeError('boom'));
    expect(await c.errorOf(NbdCommand.FLUSH, 0, 0)).toBe(NbdErrno.EIO);
    const { c: s } = await simple();
    failures.set('read@0', new IoError('again'));
    expect(await s.errorOf(NbdCommand.READ, 0, 512)).toBe(NbdErrno.EIO);
    failures.clear();
    expect(await s.errorOf(NbdCommand.READ, 0, 512)).toBe(0);
  });

  it('clients that agreed to the block size get EINVAL for unaligned requests', async () => {
    const { c } = await structured();
    expect(await c.errorOf(NbdCommand.READ, 1, 512)).toBe(NbdErrno.EINVAL);
    expect(await c.errorOf(NbdCommand.WRITE, 512, 100, { payload: Buffer.alloc(100) })).toBe(NbdErrno.EINVAL);
    expect(await c.errorOf(NbdCommand.WRITE_ZEROES, 100, 512)).toBe(NbdErrno.EINVAL);
    expect(await c.errorOf(NbdCommand.READ, 0, 512)).toBe(0);
  });

  it('clients without block-size negotiation get byte granularity (read-modify-write, aligned backend I/O)', async () => {
    const c = await open();
    await c.exportName('vol');
    const base = 2 * MiB;
    const model = Buffer.from(await c.readData(base, 64 * 1024));
    let seed = 12345;
    const random = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    for (let i = 0; i < 60; i++) {
      const offset = random(60 * 1024);
      const length = 1 + random(3000);
      const kind = random(3);
      if (kind === 0) {
        const data = randomBytes(length);
        expect(await c.errorOf(NbdCommand.WRITE, base + offset, length, { payload: data })).toBe(0);
        data.copy(model, offset);
      } else if (kind === 1) {
        expect(await c.errorOf(NbdCommand.WRITE_ZEROES, base + offset, length)).toBe(0);
        model.fill(0, offset, offset + length);
      } else {
        expect(
          (await c.readData(base + offset, length)).equals(model.subarray(offset, offset + length)),
        ).toBe(true);
      }
    }
    expect((await c.readData(base, 64 * 1024)).equals(model)).toBe(true);
    // An unaligned trim is shrunk to whole blocks: a sub-block trim changes nothing.
    expect(await c.errorOf(NbdCommand.TRIM, base + 1, 100)).toBe(0);
    expect((await c.readData(base, 64 * 1024)).equals(model)).toBe(true);
    // The backend never saw an unaligned request (the file export throws on one).
    const exp = harness.exports.get('vol')!;
    expect(exp.calls.every((call) => call.offset % 512 === 0 && call.length % 512 === 0)).toBe(true);
  });

  it('pipelined unaligned writes to the same block do not undo each other (range lock)', async () => {
    const c = await open();
    await c.exportName('vol');
    const block = 3 * MiB;
    await c.call(NbdCommand.WRITE, block, 512, { payload: Buffer.alloc(512, 0) });
    delays.set('read', 20);
    const cookies = [];
    for (let i = 0; i < 16; i++) {
      cookies.push(c.request(NbdCommand.WRITE, block + i * 7, 3, { payload: Buffer.alloc(3, i + 1) }));
    }
    for (let i = 0; i < cookies.length; i++) expect((await c.readReply()).error).toBe(0);
    delays.clear();
    const data = await c.readData(block, 512);
    for (let i = 0; i < 16; i++) expect([...data.subarray(i * 7, i * 7 + 3)]).toEqual([i + 1, i + 1, i + 1]);
  });

  it('replies out of order: a fast request overtakes a slow one', async () => {
    const { c } = await structured();
    delays.set('read@0', 200);
    const slow = c.request(NbdCommand.READ, 0, 512);
    const fast = c.request(NbdCommand.READ, 4096, 512);
    const first = await c.readReply();
    const second = await c.readReply();
    expect(first.cookie).toBe(fast);
    expect(second.cookie).toBe(slow);
  });

  it('BLOCK_STATUS returns one chunk per selected context; REQ_ONE returns one extent', async () => {
    const { c, session } = await structured('vol', ['base:allocation', 'qemu:dirty-bitmap:m2']);
    const exp = harness.exports.get('vol')!;
    exp.dirtyChunks.clear();
    exp.dirtyChunks.add(1);
    const messages = await c.call(NbdCommand.BLOCK_STATUS, 0, 4 * CHUNK_BYTES);
    expect(messages).toHaveLength(2);
    expect(messages.at(-1)!.flags & 1).toBe(1);
    const byId = new Map(
      messages.map((m) => {
        const extents = [];
        for (let p = 4; p < m.data.length; p += 8)
          extents.push([m.data.readUInt32BE(p), m.data.readUInt32BE(p + 4)]);
        return [m.data.readUInt32BE(0), extents] as const;
      }),
    );
    expect(byId.get(session.contextIds.get('base:allocation')!)).toEqual([[4 * CHUNK_BYTES, 0]]);
    expect(byId.get(session.contextIds.get('qemu:dirty-bitmap:m2')!)).toEqual([
      [CHUNK_BYTES, 0],
      [CHUNK_BYTES, 1],
      [2 * CHUNK_BYTES, 0],
    ]);
    const one = await c.call(NbdCommand.BLOCK_STATUS, 0, 4 * CHUNK_BYTES, { flags: NbdCommandFlag.REQ_ONE });
    for (const m of one) expect(m.data.length).toBe(12);
    expect(await c.errorOf(NbdCommand.BLOCK_STATUS, SIZE, 512)).toBe(NbdErrno.EINVAL);
    expect(await c.errorOf(NbdCommand.BLOCK_STATUS, 0, 0)).toBe(NbdErrno.EINVAL);
  });

  it('DISC finishes in-flight requests, then closes', async () => {
    const { c } = await structured();
    delays.set('write', 100);
    const data = randomBytes(8 * 4096);
    for (let i = 0; i < 8; i++) {
      c.request(NbdCommand.WRITE, MiB + i * 4096, 4096, { payload: data.subarray(i * 4096, (i + 1) * 4096) });
    }
    c.disconnect();
    const errors = [];
    for (let i = 0; i < 8; i++) errors.push((await c.readReply()).error);
    expect(errors).toEqual(Array(8).fill(0));
    await c.closed();
    const file = await readFile(join(harness.dir, 'vol.img'));
    expect(file.subarray(MiB, MiB + data.length).equals(data)).toBe(true);
  });
});

describe('NBD backpressure', () => {
  it('a client pipelining writes against a slow backend is held to the in-flight bound', async () => {
    const limit = 1 * MiB;
    const harness = await startHarness(
      [{ name: 'slow', sizeBytes: 32 * MiB, hook: () => sleep(5).then(() => undefined) }],
      {
        maxInFlightBytesPerConnection: limit,
      },
    );
    try {
      const c = await RawNbdClient.connect(harness.server.address.port);
      await c.go('slow', { structured: true, blockSize: true });
      const count = 64;
      const writeBytes = 256 * 1024;
      let maxClientBacklog = 0;
      for (let i = 0; i < count; i++) {
        c.request(NbdCommand.WRITE, i * writeBytes, writeBytes, { payload: Buffer.alloc(writeBytes, i) });
        maxClientBacklog = Math.max(maxClientBacklog, c.socket.writableLength);
      }
      for (let i = 0; i < count; i++) expect((await c.readReply()).error).toBe(0);
      const exp = harness.exports.get('slow')!;
      // Requests are charged their payload plus a small fixed overhead.
      expect(exp.peakInFlightWriteBytes).toBeLessThanOrEqual(limit);
      expect(harness.server.peakInFlightBytesPerConnection).toBeLessThanOrEqual(limit);
      expect(harness.server.peakInFlightBytesPerConnection).toBeGreaterThan(0);
      // The client could not push its 16 MiB straight into the server: its socket backed up.
      expect(maxClientBacklog).toBeGreaterThan(limit);
      c.destroy();
    } finally {
      await harness.close();
    }
  });
});
