import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seededRandom } from '../../../adapters/devices/seeded-random.js';
import {
  NBD_OPTS_MAGIC,
  NBD_REQUEST_MAGIC,
  NbdCommand,
  NbdInfo,
  NbdOption,
} from '../../../adapters/nbd/nbd-constants.js';
import { writeUint64 } from '../../../adapters/nbd/nbd-wire.js';
import { type Harness, haveTools, run, startHarness } from './nbd-harness.js';
import { infoData, lengthPrefixed, metaContextData, RawNbdClient } from './raw-nbd-client.js';

const MiB = 1024 * 1024;
const VOL_BYTES = 8 * MiB;
/** Cases (malformed handshakes and requests) the suite must get through. */
const MIN_CASES = 10_000;
/** Cases the suite aims for when time allows (the deadline still bounds it). */
const TARGET_CASES = 30_000;
/** Sockets open at once. */
const CONCURRENCY = 32;
/** Whole-suite time bound for the fuzzing loop. */
const DEADLINE_MS = 25_000;
/** One fuzz connection may live this long before the client destroys it. */
const CONNECTION_TIMEOUT_MS = 3_000;
/** Upper bound on connections, whatever happens to the counts. */
const MAX_CONNECTIONS = 20_000;

/** Deterministic PRNG so a failure can be replayed from its seed. */
const prng = seededRandom;

class Fuzzer {
  constructor(private readonly random: () => number) {}

  int(n: number): number {
    return Math.floor(this.random() * n);
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }

  bytes(n: number): Buffer {
    const out = Buffer.allocUnsafe(n);
    for (let i = 0; i < n; i++) out[i] = this.int(256);
    return out;
  }

  u32(): number {
    return this.pick([0, 1, 2, 7, 255, 4096, 65_536, 0x7fffffff, 0x80000000, 0xffffffff, this.int(2 ** 32)]);
  }

  option(option: number, data: Buffer, declared = data.length, magic = NBD_OPTS_MAGIC): Buffer {
    const header = Buffer.alloc(16);
    header.writeBigUInt64BE(magic, 0);
    header.writeUInt32BE(option >>> 0, 8);
    header.writeUInt32BE(declared >>> 0, 12);
    return Buffer.concat([header, data]);
  }

  /** Option data that is almost right: fields with random lengths and counts. */
  malformedOptionData(): Buffer {
    switch (this.int(5)) {
      case 0: {
        const data = infoData(this.pick(['vol', 'ro', '', 'nope']), [this.int(6), this.int(6)]);
        data.writeUInt32BE(this.u32(), 0);
        return data;
      }
      case 1: {
        const data = metaContextData(this.pick(['vol', 'nope']), ['base:allocation', 'qemu:']);
        data.writeUInt32BE(this.u32(), data.length - 4 - 4 - 'qemu:'.length - 4 - 'base:allocation'.length);
        return data;
      }
      case 2:
        return metaContextData('vol', [
          this.pick(['nocolon', ':x', 'qemu:', 'base:', 'x-a:b', '\u00e9:\u00e9']),
          'q',
        ]).subarray(0, this.int(40));
      case 3:
        return Buffer.concat([lengthPrefixed('vol'), this.bytes(this.int(20))]);
      default:
        return this.bytes(this.int(64));
    }
  }

  /** A handshake that goes wrong somewhere. Counts as one case. */
  badHandshake(): Buffer {
    const flags = Buffer.alloc(4);
    flags.writeUInt32BE(3, 0);
    switch (this.int(8)) {
      case 0:
        return this.bytes(1 + this.int(100));
      case 1: {
        const bad = Buffer.alloc(4);
        bad.writeUInt32BE(this.pick([4, 0x80000000, 0xffffffff, 1 << this.int(32)]) >>> 0, 0);
        return Buffer.concat([bad, this.option(NbdOption.GO, infoData('vol', []))]);
      }
      case 2:
        return Buffer.concat([
          flags,
          this.option(NbdOption.GO, infoData('vol', []), undefined, 0x49484156454f5055n),
        ]);
      case 3:
        return Buffer.concat([flags, this.option(this.int(14), Buffer.alloc(0), this.u32())]);
      case 4: {
        const full = this.option(
          this.pick([NbdOption.GO, NbdOption.INFO, NbdOption.SET_META_CONTEXT]),
          this.malformedOptionData(),
        );
        return Buffer.concat([flags, full.subarray(0, this.int(full.length + 1))]);
      }
      case 5: {
        const parts: Buffer[] = [flags];
        for (let i = 0, n = 1 + this.int(8); i < n; i++) {
          parts.push(this.option(this.pick([this.int(16), this.u32()]), this.malformedOptionData()));
        }
        return Buffer.concat(parts);
      }
      case 6:
        return Buffer.concat([
          flags,
          this.option(NbdOption.EXPORT_NAME, Buffer.from(this.pick(['nope', '', 'v\0l', 'x'.repeat(5000)]))),
        ]);
      default:
        return Buffer.concat([flags, this.bytes(this.int(200))]);
    }
  }

  /** A good handshake into transmission, in one of several flavours. */
  goodHandshake(): Buffer {
    const flags = Buffer.alloc(4);
    flags.writeUInt32BE(this.pick([1, 3]), 0);
    const name = this.pick(['vol', 'vol', 'ro']);
    const parts: Buffer[] = [flags];
    if (this.int(4) === 0) parts.push(this.option(this.int(20) + 12, this.bytes(this.int(10))));
    if (this.int(3) === 0) {
      parts.push(this.option(NbdOption.EXPORT_NAME, Buffer.from(name)));
      return Buffer.concat(parts);
    }
    if (this.int(3) > 0) {
      parts.push(this.option(NbdOption.STRUCTURED_REPLY, Buffer.alloc(0)));
      parts.push(
        this.option(
          NbdOption.SET_META_CONTEXT,
          metaContextData(name, ['base:allocation', 'qemu:dirty-bitmap:m2']),
        ),
      );
    }
    parts.push(this.option(NbdOption.GO, infoData(name, this.int(2) ? [NbdInfo.BLOCK_SIZE] : [])));
    return Buffer.concat(parts);
  }

  /** One request that is random, malformed or out of range. Counts as one case. */
  request(): Buffer {
    const header = Buffer.alloc(28);
    header.writeUInt32BE(this.int(10) === 0 ? this.int(2 ** 32) : NBD_REQUEST_MAGIC, 0);
    header.writeUInt16BE(this.int(3) === 0 ? this.int(65_536) : this.int(32), 4);
    const type = this.int(4) === 0 ? this.int(65_536) : this.pick([0, 1, 3, 4, 5, 6, 7, 8, 9]);
    header.writeUInt16BE(type, 6);
    header.writeBigUInt64BE(BigInt(this.int(2 ** 31)), 8);
    const offset = this.pick([
      0,
      512 * this.int(VOL_BYTES / 512),
      VOL_BYTES - 512,
      VOL_BYTES,
      this.int(VOL_BYTES),
      2 ** 52,
    ]);
    if (this.int(20) === 0) header.writeBigUInt64BE(0xffffffffffffffffn, 16);
    else writeUint64(header, offset, 16);
    const length = this.pick([0, 1, 512, 4096, this.int(70_000), 32 * MiB + 1, this.u32()]);
    header.writeUInt32BE(length >>> 0, 24);
    switch (this.int(6)) {
      case 0:
        return this.bytes(1 + this.int(60));
      case 1:
        return header.subarray(0, this.int(28));
      default:
        if (type === NbdCommand.WRITE && length <= 70_000) {
          // Sometimes the payload comes up short: the next header is then read from payload bytes.
          return Buffer.concat([header, this.bytes(this.int(8) === 0 ? this.int(length + 1) : length)]);
        }
        return header;
    }
  }
}

/** Send `script` in random slices, half-close, and wait (bounded) for the server to close. */
function runScript(port: number, script: Buffer, fuzz: Fuzzer): Promise<void> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port, noDelay: true });
    const timer = setTimeout(() => socket.destroy(), CONNECTION_TIMEOUT_MS);
    socket.on('error', () => {});
    socket.on('data', () => {});
    socket.on('close', () => {
      clearTimeout(timer);
      resolve();
    });
    socket.on('connect', () => {
      let position = 0;
      for (let slices = 0; position < script.length && slices < 8; slices++) {
        const size = slices === 7 ? script.length - position : 1 + fuzz.int(script.length - position);
        socket.write(script.subarray(position, position + size));
        position += size;
      }
      socket.end();
    });
  });
}

describe('NBD fuzzing', () => {
  let harness: Harness;
  /** How the server ended fuzz connections, from its log: shows both phases were exercised. */
  const outcomes = new Map<string, number>();

  beforeAll(async () => {
    harness = await startHarness(
      [
        { name: 'vol', sizeBytes: VOL_BYTES, bitmapMember: 'm2' },
        { name: 'ro', sizeBytes: 1 * MiB, readOnly: true },
        { name: 'canary', sizeBytes: 1 * MiB },
      ],
      {
        maxConnections: 1024,
        log: (level, message) => {
          const kind =
            /serving export|bad request magic|closed during handshake|payload of|reply failed|connection failed/.exec(
              message,
            )?.[0] ?? level;
          outcomes.set(kind, (outcomes.get(kind) ?? 0) + 1);
        },
      },
    );
  });

  afterAll(async () => {
    await harness?.close();
  });

  it(`survives ${MIN_CASES}+ malformed handshakes and requests, and still serves well-behaved clients`, async () => {
    const port = harness.server.address.port;
    const canary = await RawNbdClient.connect(port);
    await canary.go('canary', { structured: true, blockSize: true });
    await canary.call(NbdCommand.WRITE, 0, 64 * 1024, { payload: Buffer.alloc(64 * 1024, 0x5a) });
    canary.disconnect();
    await canary.closed();

    const seed = 0x5eed;
    const fuzz = new Fuzzer(prng(seed));
    let cases = 0;
    let connections = 0;
    const started = Date.now();
    const worker = async (): Promise<void> => {
      while (cases < TARGET_CASES && connections < MAX_CONNECTIONS && Date.now() - started < DEADLINE_MS) {
        connections += 1;
        let script: Buffer;
        if (fuzz.int(5) < 2) {
          script = fuzz.badHandshake();
          cases += 1;
        } else {
          const parts: Buffer[] = [fuzz.goodHandshake()];
          const requests = 1 + fuzz.int(10);
          for (let i = 0; i < requests; i++) parts.push(fuzz.request());
          script = Buffer.concat(parts);
          cases += requests;
        }
        await runScript(port, script, fuzz);
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, () => worker()));
    const elapsedMs = Date.now() - started;
    console.info(
      `NBD fuzz: ${cases} cases over ${connections} connections in ${elapsedMs} ms (seed ${seed}); server log: ${JSON.stringify(Object.fromEntries(outcomes))}`,
    );
    expect(outcomes.get('connection failed') ?? 0).toBe(0);
    expect(outcomes.get('reply failed') ?? 0).toBe(0);
    expect(outcomes.get('serving export') ?? 0).toBeGreaterThan(connections / 4);
    expect(cases).toBeGreaterThanOrEqual(MIN_CASES);
    expect(elapsedMs).toBeLessThan(30_000);

    // Every fuzz connection ends; the server keeps no leftovers.
    const deadline = Date.now() + 10_000;
    while (harness.server.connections > 0 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 20));
    expect(harness.server.connections).toBe(0);

    // A well-behaved client still works, and the export nobody fuzzed is intact.
    const after = await RawNbdClient.connect(port);
    await after.go('canary', { structured: true, blockSize: true });
    expect((await after.readData(0, 64 * 1024)).every((b) => b === 0x5a)).toBe(true);
    after.disconnect();
    if (haveTools('NBD fuzz: real-client check', ['qemu-io', 'nbdinfo'])) {
      await run('qemu-io', ['-f', 'raw', '-c', 'read -P 0x5a 0 64k', harness.uri('canary')]);
      const { stdout } = await run('nbdinfo', ['--json', harness.uri('vol')]);
      expect(JSON.parse(stdout).exports[0]['export-size']).toBe(VOL_BYTES);
    }
  });
});
