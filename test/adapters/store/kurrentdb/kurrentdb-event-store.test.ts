import { describe, expect, it } from 'vitest';
import { KurrentDbEventStore } from '../../../../adapters/store/kurrentdb/kurrentdb-event-store.js';
import { InvalidArgumentError, IoError, LogCorruptError } from '../../../../domain/errors.js';
import type { RecordedEvent } from '../../../../domain/events.js';
import { numberedWrite, SAMPLE_EVENTS } from '../../../fixtures/sample-events.js';
import { FakeKurrentDbServer } from './fake-kurrentdb-client.js';
import { FAKE_TARGET, fakeStoreOpener } from './fake-store-opener.js';

/** The read side and lifecycle of the store against the fake server: paging, retries, damage, opening. */

const fastRetry = { maxAttempts: 3, initialDelayMs: 1, maxDelayMs: 2 };
const target = FAKE_TARGET;

const open = fakeStoreOpener(3);

async function collect(iterable: AsyncIterable<readonly RecordedEvent[]>): Promise<number[][]> {
  const batches: number[][] = [];
  for await (const batch of iterable) batches.push(batch.map((e) => e.position));
  return batches;
}

describe('KurrentDB store reads and lifecycle', () => {
  it('against a fake client: reads in pages of readStream calls and cuts them into full batches', async () => {
    const server = new FakeKurrentDbServer();
    const store = await open(server, { readPageEvents: 7 });
    await store.append([SAMPLE_EVENTS[0]!, ...Array.from({ length: 24 }, (_, i) => numberedWrite(i + 1))]);
    const batches = await collect(store.read(2, 20, { batchSize: 3 }));
    expect(batches.map((b) => b.length)).toEqual([3, 3, 3, 3, 3, 3]);
    expect(batches.flat()).toEqual(Array.from({ length: 18 }, (_, i) => i + 2));
  });

  it('against a fake client: a read failing transiently is read again from where it stopped', async () => {
    const server = new FakeKurrentDbServer();
    const store = await open(server, { readPageEvents: 4 });
    await store.append([SAMPLE_EVENTS[0]!, ...Array.from({ length: 11 }, (_, i) => numberedWrite(i + 1))]);
    server.failingReads = 2;
    const positions = (await collect(store.read(0, undefined, { batchSize: 4 }))).flat();
    expect(positions).toEqual(Array.from({ length: 12 }, (_, i) => i));
    expect(server.failingReads).toBe(0);
  });

  it('against a fake client: a missing stream is an empty log', async () => {
    const server = new FakeKurrentDbServer();
    const store = await open(server);
    expect(await store.lastPosition()).toBe(-1);
    expect(await collect(store.read(0, 100))).toEqual([]);
  });

  it('against a fake client: events missing from the middle of the stream are reported, never skipped', async () => {
    const server = new FakeKurrentDbServer();
    const store = await open(server);
    await store.append([SAMPLE_EVENTS[0]!, ...Array.from({ length: 9 }, (_, i) => numberedWrite(i + 1))]);
    server.streams.get('shadowlog-DSA1')!.splice(4, 1); // revision 4 scavenged
    const error = await collect(store.read(0)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LogCorruptError);
    expect((error as Error).message).toMatch(/shadowlog-DSA1 jumps from position 4 to 5/);
  });

  it('against a fake client: opening fails with an IoError naming the server when it cannot be reached', async () => {
    const server = new FakeKurrentDbServer();
    server.failingReads = 100;
    const error = await KurrentDbEventStore.connect(server.client(), {
      setId: 'DSA1',
      retry: fastRetry,
      target,
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(IoError);
    expect((error as Error).message).toMatch(
      /KurrentDB at kurrentdb:\/\/db\.example:2113\?tls=false is unreachable: reading the end of shadowlog-DSA1 failed 3 times/,
    );
  });

  it('against a fake client: refuses set names that the rest of shadowlog refuses', async () => {
    const server = new FakeKurrentDbServer();
    for (const setId of ['', '-x', 'a b', '$all', 'x'.repeat(129)]) {
      await expect(KurrentDbEventStore.connect(server.client(), { setId })).rejects.toThrow(
        InvalidArgumentError,
      );
    }
    const store = await open(server, { setId: 'Set_1.a-b' });
    expect(store.streamName).toBe('shadowlog-Set_1.a-b');
  });

  it('against a fake client: reads after close are refused; close disposes the client once', async () => {
    const server = new FakeKurrentDbServer();
    const client = server.client();
    const store = await KurrentDbEventStore.connect(client, { setId: 'DSA1', target });
    await store.append([SAMPLE_EVENTS[0]!]);
    await Promise.all([store.close(), store.close()]);
    expect(client.disposed).toBe(true);
    await expect(collect(store.read(0))).rejects.toThrow(IoError);
    await expect(store.lastPosition()).rejects.toThrow(/closed/);
  });

  it('against a fake client: leaves a client it does not own open', async () => {
    const server = new FakeKurrentDbServer();
    const client = server.client();
    const store = await KurrentDbEventStore.connect(client, { setId: 'DSA1', target, ownsClient: false });
    await store.close();
    expect(client.disposed).toBe(false);
  });
});
