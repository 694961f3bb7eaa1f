import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  MAX_PAYLOAD_BYTES,
  NbdInfo,
  NbdOption,
  NbdOptionReply,
  NbdTransmissionFlag,
} from '../../../adapters/nbd/nbd-constants.js';
import { readUint64 } from '../../../adapters/nbd/nbd-wire.js';
import { type Harness, startHarness } from './nbd-harness.js';
import { infoData, lengthPrefixed, metaContextData, RawNbdClient } from './raw-nbd-client.js';

const MiB = 1024 * 1024;

describe('NBD handshake and option negotiation', () => {
  let harness: Harness;
  const clients: RawNbdClient[] = [];
  const client = async () => {
    const c = await RawNbdClient.connect(harness.server.address.port);
    clients.push(c);
    return c;
  };

  beforeAll(async () => {
    harness = await startHarness([
      { name: 'vol', sizeBytes: 4 * MiB, bitmapMember: 'm2' },
      { name: 'other', sizeBytes: 1 * MiB, readOnly: true },
    ]);
  });

  afterAll(async () => {
    for (const c of clients) c.destroy();
    await harness?.close();
  });

  it('greets with fixed newstyle and NO_ZEROES', async () => {
    const c = await client();
    const greeting = await c.read(18);
    expect(greeting.subarray(0, 8).toString('latin1')).toBe('NBDMAGIC');
    expect(greeting.subarray(8, 16).toString('latin1')).toBe('IHAVEOPT');
    expect(greeting.readUInt16BE(16)).toBe(3);
  });

  it('closes on unknown client flags', async () => {
    const c = await client();
    await c.greet(0x80);
    await c.closed();
  });

  it('answers unknown options with ERR_UNSUP and goes on', async () => {
    const c = await client();
    await c.greet();
    for (const option of [NbdOption.STARTTLS, NbdOption.EXTENDED_HEADERS, 4, 99, 0xffffffff]) {
      const [reply] = await c.option(option, Buffer.from('abc'));
      expect(reply).toMatchObject({ option: option >>> 0, type: NbdOptionReply.ERR_UNSUP });
    }
    const replies = await c.option(NbdOption.GO, infoData('vol', []));
    expect(replies.at(-1)?.type).toBe(NbdOptionReply.ACK);
  });

  it('lists exports, and refuses LIST with data', async () => {
    const c = await client();
    await c.greet();
    const replies = await c.option(NbdOption.LIST);
    const names = replies
      .filter((r) => r.type === NbdOptionReply.SERVER)
      .map((r) => r.data.subarray(4, 4 + r.data.readUInt32BE(0)).toString());
    expect(names).toEqual(['vol', 'other']);
    expect(replies.at(-1)?.type).toBe(NbdOptionReply.ACK);
    const [bad] = await c.option(NbdOption.LIST, Buffer.from('x'));
    expect(bad?.type).toBe(NbdOptionReply.ERR_INVALID);
  });

  it('INFO describes an export, with block sizes, and rejects unknown or malformed requests', async () => {
    const c = await client();
    await c.greet();
    const replies = await c.option(NbdOption.INFO, infoData('other', [NbdInfo.NAME, NbdInfo.DESCRIPTION]));
    const infos = replies.filter((r) => r.type === NbdOptionReply.INFO).map((r) => r.data);
    const exportInfo = infos.find((d) => d.readUInt16BE(0) === NbdInfo.EXPORT)!;
    expect(readUint64(exportInfo, 2)).toBe(1 * MiB);
    expect(exportInfo.readUInt16BE(10) & NbdTransmissionFlag.READ_ONLY).not.toBe(0);
    const blockSize = infos.find((d) => d.readUInt16BE(0) === NbdInfo.BLOCK_SIZE)!;
    expect([blockSize.readUInt32BE(2), blockSize.readUInt32BE(6), blockSize.readUInt32BE(10)]).toEqual([
      512,
      4096,
      MAX_PAYLOAD_BYTES,
    ]);
    expect(
      infos
        .find((d) => d.readUInt16BE(0) === NbdInfo.NAME)
        ?.subarray(2)
        .toString(),
    ).toBe('other');
    expect(
      infos
        .find((d) => d.readUInt16BE(0) === NbdInfo.DESCRIPTION)
        ?.subarray(2)
        .toString(),
    ).toBe('test export other');
    expect(replies.at(-1)?.type).toBe(NbdOptionReply.ACK);

    const unknown = await c.option(NbdOption.INFO, infoData('nope', []));
    expect(unknown).toHaveLength(1);
    expect(unknown[0]?.type).toBe(NbdOptionReply.ERR_UNKNOWN);
    expect(unknown[0]?.data.toString()).toContain('nope');

    const malformed = Buffer.alloc(8);
    malformed.writeUInt32BE(1000, 0);
    expect((await c.option(NbdOption.GO, malformed))[0]?.type).toBe(NbdOptionReply.ERR_INVALID);
    // An odd number of info bytes is malformed too.
    expect(
      (await c.option(NbdOption.GO, Buffer.concat([infoData('vol', [1]), Buffer.from([0])])))[0]?.type,
    ).toBe(NbdOptionReply.ERR_INVALID);
    // Still negotiating: GO works.
    const go = await c.option(NbdOption.GO, infoData('vol', [NbdInfo.BLOCK_SIZE]));
    expect(go.at(-1)?.type).toBe(NbdOptionReply.ACK);
  });

  it('EXPORT_NAME enters transmission, with 124 zero bytes unless NO_ZEROES; unknown names close', async () => {
    const padded = await client();
    const session = await padded.exportName('vol', 1);
    expect(session.sizeBytes).toBe(4 * MiB);
    expect(session.flags & NbdTransmissionFlag.SEND_DF).toBe(0);
    const bare = await client();
    expect((await bare.exportName('vol', 3)).sizeBytes).toBe(4 * MiB);
    const unknown = await client();
    await unknown.greet();
    unknown.sendOption(NbdOption.EXPORT_NAME, Buffer.from('missing'));
    await unknown.closed();
  });

  it('ABORT is acknowledged and the connection closes', async () => {
    const c = await client();
    await c.greet();
    const [ack] = await c.option(NbdOption.ABORT);
    expect(ack?.type).toBe(NbdOptionReply.ACK);
    await c.closed();
  });

  it('STRUCTURED_REPLY once; SET_META_CONTEXT needs it', async () => {
    const c = await client();
    await c.greet();
    expect(
      (await c.option(NbdOption.SET_META_CONTEXT, metaContextData('vol', ['base:allocation'])))[0]?.type,
    ).toBe(NbdOptionReply.ERR_INVALID);
    expect((await c.option(NbdOption.STRUCTURED_REPLY, Buffer.from('x')))[0]?.type).toBe(
      NbdOptionReply.ERR_INVALID,
    );
    expect((await c.option(NbdOption.STRUCTURED_REPLY))[0]?.type).toBe(NbdOptionReply.ACK);
    expect((await c.option(NbdOption.STRUCTURED_REPLY))[0]?.type).toBe(NbdOptionReply.ERR_INVALID);
  });

  it('LIST_META_CONTEXT answers the base: and qemu: queries', async () => {
    const c = await client();
    await c.greet();
    await c.option(NbdOption.STRUCTURED_REPLY);
    const list = async (queries: string[]) => {
      const replies = await c.option(NbdOption.LIST_META_CONTEXT, metaContextData('vol', queries));
      expect(replies.at(-1)?.type).toBe(NbdOptionReply.ACK);
      return replies
        .filter((r) => r.type === NbdOptionReply.META_CONTEXT)
        .map((r) => {
          expect(r.data.readUInt32BE(0)).toBe(0);
          return r.data.subarray(4).toString();
        });
    };
    expect(await list([])).toEqual(['base:allocation', 'qemu:dirty-bitmap:m2']);
    expect(await list(['base:'])).toEqual(['base:allocation']);
    expect(await list(['qemu:'])).toEqual(['qemu:dirty-bitmap:m2']);
    expect(await list(['qemu:dirty-bitmap:'])).toEqual(['qemu:dirty-bitmap:m2']);
    expect(await list(['qemu:dirty-bitmap:m9', 'x-other:thing', 'base:nothing'])).toEqual([]);
    expect(await list(['qemu:dirty-bitmap:m2', 'base:allocation', 'qemu:'])).toEqual([
      'qemu:dirty-bitmap:m2',
      'base:allocation',
    ]);
    const [bad] = await c.option(NbdOption.LIST_META_CONTEXT, metaContextData('vol', ['nocolon']));
    expect(bad?.type).toBe(NbdOptionReply.ERR_INVALID);
    const [unknown] = await c.option(NbdOption.LIST_META_CONTEXT, metaContextData('nope', []));
    expect(unknown?.type).toBe(NbdOptionReply.ERR_UNKNOWN);
    const truncated = metaContextData('vol', ['base:allocation']).subarray(0, 15);
    expect((await c.option(NbdOption.LIST_META_CONTEXT, truncated))[0]?.type).toBe(
      NbdOptionReply.ERR_INVALID,
    );
  });

  it('SET_META_CONTEXT selects exact names with ids stable for the connection', async () => {
    const c = await client();
    await c.greet();
    await c.option(NbdOption.STRUCTURED_REPLY);
    const set = async (queries: string[]) => {
      const replies = await c.option(NbdOption.SET_META_CONTEXT, metaContextData('vol', queries));
      expect(replies.at(-1)?.type).toBe(NbdOptionReply.ACK);
      return new Map(
        replies
          .filter((r) => r.type === NbdOptionReply.META_CONTEXT)
          .map((r) => [r.data.subarray(4).toString(), r.data.readUInt32BE(0)] as const),
      );
    };
    const first = await set(['qemu:dirty-bitmap:m2', 'base:allocation']);
    expect(first.size).toBe(2);
    expect(new Set(first.values()).size).toBe(2);
    const second = await set(['base:allocation', 'qemu:dirty-bitmap:m2', 'qemu:', 'base:', 'x-y:z']);
    expect(second).toEqual(first);
    expect((await set(['qemu:dirty-bitmap:'])).size).toBe(0);
  });

  it('skips an oversized option with ERR_TOO_BIG, and closes on an absurd one', async () => {
    const c = await client();
    await c.greet();
    const [big] = await c.option(NbdOption.GO, Buffer.alloc(70 * 1024));
    expect(big?.type).toBe(NbdOptionReply.ERR_TOO_BIG);
    expect((await c.option(NbdOption.LIST)).at(-1)?.type).toBe(NbdOptionReply.ACK);
    const header = Buffer.alloc(16);
    header.write('IHAVEOPT', 0, 'latin1');
    header.writeUInt32BE(NbdOption.GO, 8);
    header.writeUInt32BE(0xffffffff, 12);
    c.send(header);
    await c.closed();
  });

  it('closes on a bad option magic', async () => {
    const c = await client();
    await c.greet();
    c.send(Buffer.concat([Buffer.from('IHAVEOPX', 'latin1'), Buffer.alloc(8)]));
    await c.closed();
  });

  it('accepts an export name given as a length-prefixed string in GO', async () => {
    const c = await client();
    await c.greet();
    const data = Buffer.concat([lengthPrefixed('other'), Buffer.alloc(2)]);
    const replies = await c.option(NbdOption.GO, data);
    expect(replies.at(-1)?.type).toBe(NbdOptionReply.ACK);
  });
});

describe('NBD default export', () => {
  it("serves the only export under the empty name ''", async () => {
    const harness = await startHarness([{ name: 'solo', sizeBytes: 1 * MiB }]);
    try {
      const c = await RawNbdClient.connect(harness.server.address.port);
      const session = await c.go('');
      expect(session.sizeBytes).toBe(1 * MiB);
      // The canonical name is sent back because the client did not use it.
      expect(
        session.infos.some((d) => d.readUInt16BE(0) === NbdInfo.NAME && d.subarray(2).toString() === 'solo'),
      ).toBe(true);
      c.destroy();
    } finally {
      await harness.close();
    }
  });
});
