import { describe, expect, it } from 'vitest';
import { normalizeExtents } from '../../../adapters/nbd/block-status.js';
import { InFlightBudget } from '../../../adapters/nbd/in-flight-budget.js';
import {
  MAX_PAYLOAD_BYTES,
  NBD_REQUEST_MAGIC,
  NBD_SIMPLE_REPLY_MAGIC,
  NBD_STRUCTURED_REPLY_MAGIC,
  NbdCommand,
  NbdCommandFlag,
  NbdErrno,
  NbdOptionReply,
  NbdReplyType,
} from '../../../adapters/nbd/nbd-constants.js';
import { clipUtf8, describeError, nbdErrnoFor } from '../../../adapters/nbd/nbd-error-mapping.js';
import { transmissionFlagsFor } from '../../../adapters/nbd/nbd-handshake.js';
import {
  availableContexts,
  MetaContextIds,
  matchListQuery,
  matchSetQuery,
} from '../../../adapters/nbd/nbd-meta-contexts.js';
import {
  encodeExportNameReply,
  encodeInfoExport,
  encodeOptionReply,
  isOptionParseError,
  parseInfoRequest,
  parseMetaContextRequest,
} from '../../../adapters/nbd/nbd-option-codec.js';
import {
  encodeBlockStatusChunk,
  encodeErrorChunk,
  encodeNoneChunk,
  encodeOffsetDataHeader,
  encodeSimpleReply,
} from '../../../adapters/nbd/nbd-reply-encoder.js';
import {
  parseRequestHeader,
  type RequestLimits,
  validateRequest,
} from '../../../adapters/nbd/nbd-request.js';
import { readUint64, writeUint64 } from '../../../adapters/nbd/nbd-wire.js';
import {
  CommandRejectedError,
  InvalidArgumentError,
  IoError,
  NotFoundError,
  OutOfRangeError,
} from '../../../domain/errors.js';
import { RangeLock } from '../../../primitives/range-lock.js';
import { encodeRequest, infoData, metaContextData } from './raw-nbd-client.js';

const limits: RequestLimits = {
  sizeBytes: 1024 * 1024,
  readOnly: false,
  structuredReplies: true,
  blockSizeNegotiated: true,
  metaContextCount: 1,
};

describe('request parsing and validation', () => {
  it('parses a header, including a 64-bit cookie and offset', () => {
    const header = encodeRequest(NbdCommand.WRITE, NbdCommandFlag.FUA, 0xfedcba9876543210n, 2 ** 40, 4096);
    expect(parseRequestHeader(header)).toEqual({
      flags: NbdCommandFlag.FUA,
      type: NbdCommand.WRITE,
      cookie: 0xfedcba9876543210n,
      offset: 2 ** 40,
      length: 4096,
    });
    expect(header.readUInt32BE(0)).toBe(NBD_REQUEST_MAGIC);
  });

  it('rejects a wrong magic and reports offsets beyond 2^53 as infinite', () => {
    const header = encodeRequest(NbdCommand.READ, 0, 1n, 0, 512);
    header.writeUInt32BE(0x12560953, 0);
    expect(parseRequestHeader(header)).toBeUndefined();
    const huge = encodeRequest(NbdCommand.READ, 0, 1n, 0, 512);
    huge.writeUInt32BE(0xffffffff, 16);
    expect(parseRequestHeader(huge)?.offset).toBe(Number.POSITIVE_INFINITY);
  });

  it('validates per the spec', () => {
    const check = (
      type: number,
      offset: number,
      length: number,
      flags = 0,
      over: Partial<RequestLimits> = {},
    ) => validateRequest({ type, flags, cookie: 1n, offset, length }, { ...limits, ...over })?.errno ?? 0;
    const size = limits.sizeBytes;
    expect(check(NbdCommand.READ, 0, 512)).toBe(0);
    expect(check(NbdCommand.READ, size, 0)).toBe(0);
    expect(check(NbdCommand.WRITE, size - 512, 1024)).toBe(NbdErrno.ENOSPC);
    expect(check(NbdCommand.WRITE_ZEROES, size - 512, 1024)).toBe(NbdErrno.ENOSPC);
    expect(check(NbdCommand.READ, size - 512, 1024)).toBe(NbdErrno.EINVAL);
    expect(check(NbdCommand.TRIM, size - 512, 1024)).toBe(NbdErrno.EINVAL);
    expect(check(NbdCommand.BLOCK_STATUS, size, 512)).toBe(NbdErrno.EINVAL);
    expect(check(NbdCommand.READ, Number.POSITIVE_INFINITY, 512)).toBe(NbdErrno.EINVAL);
    expect(check(NbdCommand.READ, 0, MAX_PAYLOAD_BYTES + 1, 0, { sizeBytes: 2 ** 40 })).toBe(NbdErrno.EINVAL);
    expect(check(NbdCommand.TRIM, 0, MAX_PAYLOAD_BYTES * 2, 0, { sizeBytes: 2 ** 40 })).toBe(0);
    expect(check(99, 0, 0)).toBe(NbdErrno.EINVAL);
    expect(check(NbdCommand.READ, 0, 512, 1 << 9)).toBe(NbdErrno.EINVAL);
    expect(check(NbdCommand.WRITE, 0, 512, NbdCommandFlag.REQ_ONE)).toBe(NbdErrno.EINVAL);
    expect(check(NbdCommand.READ, 0, 512, NbdCommandFlag.DF)).toBe(0);
    expect(check(NbdCommand.READ, 0, 512, NbdCommandFlag.DF, { structuredReplies: false })).toBe(
      NbdErrno.EINVAL,
    );
    expect(check(NbdCommand.FLUSH, 0, 0, NbdCommandFlag.FUA)).toBe(0);
    expect(check(NbdCommand.FLUSH, 0, 1)).toBe(NbdErrno.EINVAL);
    expect(check(NbdCommand.WRITE, 0, 512, 0, { readOnly: true })).toBe(NbdErrno.EPERM);
    expect(check(NbdCommand.TRIM, 0, 512, 0, { readOnly: true })).toBe(NbdErrno.EPERM);
    expect(check(NbdCommand.READ, 0, 512, 0, { readOnly: true })).toBe(0);
    expect(check(NbdCommand.READ, 1, 512)).toBe(NbdErrno.EINVAL);
    expect(check(NbdCommand.READ, 1, 512, 0, { blockSizeNegotiated: false })).toBe(0);
    expect(check(NbdCommand.READ, 0, 100, 0, { sizeBytes: 100 })).toBe(0);
    expect(check(NbdCommand.BLOCK_STATUS, 0, 512, 0, { metaContextCount: 0 })).toBe(NbdErrno.EINVAL);
    expect(check(NbdCommand.BLOCK_STATUS, 0, 0)).toBe(NbdErrno.EINVAL);
    expect(check(NbdCommand.BLOCK_STATUS, 0, 512, NbdCommandFlag.REQ_ONE)).toBe(0);
    expect(check(NbdCommand.WRITE_ZEROES, 0, 512, NbdCommandFlag.FAST_ZERO)).toBe(NbdErrno.ENOTSUP);
    expect(check(NbdCommand.WRITE_ZEROES, 0, 512, NbdCommandFlag.NO_HOLE | NbdCommandFlag.FUA)).toBe(0);
  });
});

describe('reply encoding', () => {
  it('encodes a simple reply', () => {
    const reply = encodeSimpleReply(0x0102030405060708n, NbdErrno.EIO);
    expect(reply.length).toBe(16);
    expect(reply.readUInt32BE(0)).toBe(NBD_SIMPLE_REPLY_MAGIC);
    expect(reply.readUInt32BE(4)).toBe(5);
    expect(reply.readBigUInt64BE(8)).toBe(0x0102030405060708n);
  });

  it('encodes structured chunks', () => {
    const data = encodeOffsetDataHeader(7n, 1, 2 ** 33, 4096);
    expect(data.readUInt32BE(0)).toBe(NBD_STRUCTURED_REPLY_MAGIC);
    expect([data.readUInt16BE(4), data.readUInt16BE(6), data.readUInt32BE(16)]).toEqual([
      1,
      NbdReplyType.OFFSET_DATA,
      4104,
    ]);
    expect(readUint64(data, 20)).toBe(2 ** 33);
    const none = encodeNoneChunk(7n);
    expect([none.length, none.readUInt16BE(4), none.readUInt16BE(6), none.readUInt32BE(16)]).toEqual([
      20, 1, 0, 0,
    ]);
    const error = encodeErrorChunk(7n, NbdErrno.EINVAL, 'bad é');
    expect(error.readUInt16BE(6)).toBe(NbdReplyType.ERROR);
    expect(error.readUInt32BE(16)).toBe(6 + Buffer.byteLength('bad é'));
    expect(error.readUInt32BE(20)).toBe(22);
    expect(error.subarray(26, 26 + error.readUInt16BE(24)).toString()).toBe('bad é');
    const status = encodeBlockStatusChunk(7n, 0, 3, [
      { length: 512, flags: 1 },
      { length: 1024, flags: 0 },
    ]);
    expect(status.readUInt32BE(16)).toBe(4 + 16);
    expect([status.readUInt32BE(20), status.readUInt32BE(24), status.readUInt32BE(28)]).toEqual([3, 512, 1]);
  });

  it('encodes option replies and export info', () => {
    const reply = encodeOptionReply(7, NbdOptionReply.ERR_UNKNOWN, Buffer.from('x'));
    expect(reply.readBigUInt64BE(0)).toBe(0x3e889045565a9n);
    expect([reply.readUInt32BE(8), reply.readUInt32BE(12), reply.readUInt32BE(16)]).toEqual([
      7,
      NbdOptionReply.ERR_UNKNOWN,
      1,
    ]);
    const info = encodeInfoExport(2 ** 40, 0x1234);
    expect([info.readUInt16BE(0), readUint64(info, 2), info.readUInt16BE(10)]).toEqual([0, 2 ** 40, 0x1234]);
    expect(encodeExportNameReply(4096, 1, false).length).toBe(134);
    expect(encodeExportNameReply(4096, 1, true).length).toBe(10);
  });

  it('round-trips 64-bit values', () => {
    const buffer = Buffer.alloc(8);
    for (const value of [0, 1, 2 ** 32 - 1, 2 ** 32, 2 ** 53 - 1]) {
      writeUint64(buffer, value, 0);
      expect(readUint64(buffer, 0)).toBe(value);
      expect(buffer.readBigUInt64BE(0)).toBe(BigInt(value));
    }
  });
});

describe('option parsing', () => {
  it('parses INFO/GO data and rejects malformed data', () => {
    expect(parseInfoRequest(infoData('vol', [3, 1]))).toEqual({ exportName: 'vol', infoTypes: [3, 1] });
    expect(isOptionParseError(parseInfoRequest(Buffer.alloc(5)))).toBe(true);
    expect(isOptionParseError(parseInfoRequest(infoData('vol', [3]).subarray(0, 10)))).toBe(true);
    const nul = infoData('a\0b', []);
    expect(isOptionParseError(parseInfoRequest(nul))).toBe(true);
    const badUtf8 = infoData('ab', []);
    badUtf8[4] = 0xff;
    expect(isOptionParseError(parseInfoRequest(badUtf8))).toBe(true);
  });

  it('parses meta context data and rejects malformed data', () => {
    expect(parseMetaContextRequest(metaContextData('vol', ['base:allocation', 'qemu:']))).toEqual({
      exportName: 'vol',
      queries: ['base:allocation', 'qemu:'],
    });
    const data = metaContextData('vol', ['base:allocation']);
    expect(isOptionParseError(parseMetaContextRequest(data.subarray(0, data.length - 1)))).toBe(true);
    expect(isOptionParseError(parseMetaContextRequest(Buffer.concat([data, Buffer.from([0])])))).toBe(true);
    const hugeCount = metaContextData('vol', []);
    hugeCount.writeUInt32BE(0xffffffff, hugeCount.length - 4);
    expect(parseMetaContextRequest(hugeCount)).toMatchObject({ error: 'invalid' });
  });
});

describe('meta contexts', () => {
  const available = availableContexts([
    'qemu:dirty-bitmap:m2',
    'qemu:dirty-bitmap:m3',
    'bad',
    ':x',
    'qemu:dirty-bitmap:m2',
  ]);

  it('offers base:allocation plus the valid backend contexts', () => {
    expect(available).toEqual(['base:allocation', 'qemu:dirty-bitmap:m2', 'qemu:dirty-bitmap:m3']);
  });

  it('matches list wildcards and exact set names', () => {
    expect(matchListQuery('qemu:', available)).toEqual(['qemu:dirty-bitmap:m2', 'qemu:dirty-bitmap:m3']);
    expect(matchListQuery('qemu:dirty-bitmap:', available)).toHaveLength(2);
    expect(matchListQuery('base:', available)).toEqual(['base:allocation']);
    expect(matchListQuery('x-foo:', available)).toEqual([]);
    expect(matchListQuery('nocolon', available)).toBeUndefined();
    expect(matchSetQuery('qemu:', available)).toEqual([]);
    expect(matchSetQuery('base:', available)).toEqual([]);
    expect(matchSetQuery('qemu:dirty-bitmap:m3', available)).toEqual(['qemu:dirty-bitmap:m3']);
    expect(matchSetQuery(':x', available)).toBeUndefined();
  });

  it('gives each name a stable id', () => {
    const ids = new MetaContextIds();
    const a = ids.idFor('base:allocation');
    const b = ids.idFor('qemu:dirty-bitmap:m2');
    expect(a).not.toBe(b);
    expect(ids.idFor('base:allocation')).toBe(a);
  });
});

describe('block status normalisation', () => {
  it('clips, merges, skips the unaligned head and caps extents', () => {
    const raw = [
      { length: 1024, flags: 1 },
      { length: 512, flags: 1 },
      { length: 4096, flags: 0 },
      { length: 4096, flags: 1 },
    ];
    expect(normalizeExtents(raw, 0, 2000, 100)).toEqual([
      { length: 1536, flags: 1 },
      { length: 464, flags: 0 },
    ]);
    expect(normalizeExtents(raw, 100, 1436, 100)).toEqual([{ length: 1436, flags: 1 }]);
    expect(normalizeExtents(raw, 0, 100_000, 2)).toEqual([
      { length: 1536, flags: 1 },
      { length: 4096, flags: 0 },
    ]);
    expect(normalizeExtents(raw, 0, 100_000, 1)).toEqual([{ length: 1536, flags: 1 }]);
    expect(() => normalizeExtents([{ length: 0, flags: 0 }], 0, 512, 10)).toThrow(IoError);
    expect(() => normalizeExtents([{ length: 512, flags: -1 }], 0, 512, 10)).toThrow(IoError);
  });
});

describe('error mapping', () => {
  it('maps shadowlog codes', () => {
    expect(nbdErrnoFor(new OutOfRangeError('x'), 'write')).toBe(NbdErrno.ENOSPC);
    expect(nbdErrnoFor(new OutOfRangeError('x'), 'write-zeroes')).toBe(NbdErrno.ENOSPC);
    expect(nbdErrnoFor(new OutOfRangeError('x'), 'read')).toBe(NbdErrno.EINVAL);
    expect(nbdErrnoFor(new OutOfRangeError('x'), 'trim')).toBe(NbdErrno.EINVAL);
    expect(nbdErrnoFor(new InvalidArgumentError('x'), 'write')).toBe(NbdErrno.EINVAL);
    expect(nbdErrnoFor(new IoError('x'), 'read')).toBe(NbdErrno.EIO);
    expect(nbdErrnoFor(new CommandRejectedError('x'), 'write')).toBe(NbdErrno.EIO);
    expect(nbdErrnoFor(new NotFoundError('x'), 'read')).toBe(NbdErrno.EIO);
  });

  it('maps foreign errors by errno name, else EIO', () => {
    const system = (code: string) => Object.assign(new Error(code), { code });
    expect(nbdErrnoFor(system('ENOSPC'), 'write')).toBe(NbdErrno.ENOSPC);
    expect(nbdErrnoFor(system('EDQUOT'), 'write')).toBe(NbdErrno.ENOSPC);
    expect(nbdErrnoFor(system('EROFS'), 'write')).toBe(NbdErrno.EPERM);
    expect(nbdErrnoFor(system('EBADF'), 'write')).toBe(NbdErrno.EIO);
    expect(nbdErrnoFor('a string', 'read')).toBe(NbdErrno.EIO);
    expect(nbdErrnoFor(undefined, 'read')).toBe(NbdErrno.EIO);
  });

  it('describes errors on one bounded line', () => {
    expect(describeError(new IoError('a\nb'))).toBe('IoError: a b');
    expect(Buffer.byteLength(describeError(new Error('é'.repeat(5000))))).toBeLessThanOrEqual(1024);
    expect(clipUtf8('ééé', 3)).toBe('é');
  });

  it('advertises read-only and DF only when they apply', () => {
    expect(transmissionFlagsFor(false, false) & 0x82).toBe(0);
    expect(transmissionFlagsFor(true, true) & 0x82).toBe(0x82);
  });
});

describe('concurrency primitives', () => {
  it('the in-flight budget bounds bytes and count, and admits one oversized request alone', async () => {
    const budget = new InFlightBudget(1000, 2);
    expect(budget.admit(600)).toBeUndefined();
    const waiting = budget.admit(600);
    expect(waiting).toBeInstanceOf(Promise);
    budget.release(600);
    await waiting;
    expect(budget.inFlightBytes).toBe(600);
    budget.release(600);
    expect(budget.admit(5000)).toBeUndefined();
    budget.release(5000);
    budget.admit(1);
    budget.admit(1);
    const third = budget.admit(1);
    expect(third).toBeInstanceOf(Promise);
    budget.release(1);
    await third;
    expect(budget.peakInFlightBytes).toBe(5000);
  });

  it('the range lock serialises overlapping ranges in arrival order and lets disjoint ones run', async () => {
    const lock = new RangeLock();
    const order: string[] = [];
    const releaseA = await lock.acquire(0, 1024);
    const b = lock.acquire(512, 2048).then((release) => {
      order.push('b');
      return release;
    });
    const releaseC = await lock.acquire(4096, 8192);
    order.push('c');
    await Promise.resolve();
    expect(order).toEqual(['c']);
    releaseA();
    (await b)();
    releaseC();
    expect(order).toEqual(['c', 'b']);
    expect(lock.size).toBe(0);
  });
});
