import type { AppendResult } from '@kurrent/kurrentdb-client';
import { describe, expect, it } from 'vitest';
import type { KurrentDbClientSurface } from '../../../../adapters/store/kurrentdb/client-surface.js';
import type { KurrentDbEventStore } from '../../../../adapters/store/kurrentdb/kurrentdb-event-store.js';
import { InvalidArgumentError, IoError, WrongExpectedPositionError } from '../../../../domain/errors.js';
import type { RecordedEvent, ShadowEvent } from '../../../../domain/events.js';
import { numberedWrite, SAMPLE_EVENTS } from '../../../fixtures/sample-events.js';
import { FakeKurrentDbServer } from './fake-kurrentdb-client.js';
import { fakeStoreOpener } from './fake-store-opener.js';

/**
 * The write path (append-writer.ts) against the fake server: group commit, size bounds,
 * backpressure, expected revisions with another writer, retries and idempotency. The real
 * server runs the shared contract where Docker exists; these cover what the contract cannot
 * provoke (faults, a second writer, the server's size limit).
 */

const STREAM = 'shadowlog-DSA1';
const created = SAMPLE_EVENTS[0]!;

const open = fakeStoreOpener(4);

async function all(store: KurrentDbEventStore): Promise<RecordedEvent[]> {
  const out: RecordedEvent[] = [];
  for await (const batch of store.read(0)) out.push(...batch);
  return out;
}

function writes(from: number, count: number): ShadowEvent[] {
  return Array.from({ length: count }, (_, i) => numberedWrite(from + i));
}

/** Positions of `events` must be 0.. and the events those of `expected`, in order. */
function expectLog(events: readonly RecordedEvent[], expected: readonly ShadowEvent[]): void {
  expect(events.map((e) => e.position)).toEqual(expected.map((_, i) => i));
  expect(events.map((e) => e.event)).toEqual(expected);
}

describe('KurrentDB append writer', () => {
  it('against a fake client: group-commits concurrent appends into few server appends, each with its exact expected revision', async () => {
    const server = new FakeKurrentDbServer();
    const store = await open(server);
    await store.append([created]);
    const positions = await Promise.all(
      Array.from({ length: 1000 }, (_, i) => store.append([numberedWrite(i + 1)])),
    );
    expect(positions).toEqual(Array.from({ length: 1000 }, (_, i) => i + 1));
    expect(store.writerStats.serverCalls).toBeLessThan(20);
    expect(store.writerStats.peakAppendsPerServerAppend).toBeGreaterThan(100);
    // Every call says where it appends: no stream, then the revision before its first event.
    let end = 0;
    for (const call of server.appendCalls) {
      expect(call.streamState).toBe(end === 0 ? 'no_stream' : BigInt(end - 1));
      end += call.events;
    }
    expectLog(await all(store), [created, ...writes(1, 1000)]);
  });

  it("against a fake client: keeps every server append within the server's max append size", async () => {
    const server = new FakeKurrentDbServer();
    server.maxAppendSize = 4096;
    const store = await open(server, { writerLimits: { maxAppendBytes: 4096 } });
    await store.append([created]);
    await Promise.all(Array.from({ length: 2000 }, (_, i) => store.append([numberedWrite(i + 1)])));
    expect(server.appendCalls.length).toBeGreaterThan(20);
    expect(Math.max(...server.appendCalls.map((c) => c.bytes))).toBeLessThanOrEqual(4096);
    expectLog(await all(store), [created, ...writes(1, 2000)]);
  });

  it('against a fake client: writes one append above the max append size in parts, whole and in order', async () => {
    const server = new FakeKurrentDbServer();
    server.maxAppendSize = 10_000;
    const store = await open(server, { writerLimits: { maxAppendBytes: 10_000 } });
    const events = [created, ...writes(1, 3000)];
    expect(await store.append(events, { expectedPosition: 0 })).toBe(3000);
    expect(server.appendCalls.length).toBeGreaterThan(10);
    expect(server.appendCalls.every((c) => c.bytes <= 10_000)).toBe(true);
    expectLog(await all(store), events);
  });

  it('against a fake client: refuses an event larger than the max append size, writing nothing', async () => {
    const server = new FakeKurrentDbServer();
    const store = await open(server, { writerLimits: { maxAppendBytes: 100 } });
    const error = await store.append([created]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect((error as Error).message).toMatch(
      /event 0 of the append \(ShadowSetCreated, \d+ bytes\) is larger than/,
    );
    expect(server.appendCalls).toHaveLength(0);
  });

  it('against a fake client: bounds the backlog; appenders past it wait, in call order', async () => {
    const server = new FakeKurrentDbServer();
    const store = await open(server, { writerLimits: { maxQueuedEvents: 100, maxAppendEvents: 25 } });
    await store.append([created]);
    const positions = await Promise.all(
      Array.from({ length: 3000 }, (_, i) => store.append([numberedWrite(i + 1)])),
    );
    expect(positions).toEqual(Array.from({ length: 3000 }, (_, i) => i + 1));
    expect(store.writerStats.peakQueuedEvents).toBeLessThanOrEqual(100);
    expect(Math.max(...server.appendCalls.map((c) => c.events))).toBeLessThanOrEqual(25);
    expectLog(await all(store), [created, ...writes(1, 3000)]);
  });

  it('against a fake client: retries a lost connection and appends once', async () => {
    const server = new FakeKurrentDbServer();
    const store = await open(server);
    server.appendFaults.push('unavailable', 'unavailable');
    expect(await store.append([created, numberedWrite(1)])).toBe(1);
    expect(store.writerStats.retries).toBe(2);
    expect(server.appendCalls).toHaveLength(3);
    expectLog(await all(store), [created, numberedWrite(1)]);
  });

  it('against a fake client: a retry after a commit whose answer was lost reuses the ids, and the server does not duplicate', async () => {
    const server = new FakeKurrentDbServer();
    const store = await open(server);
    await store.append([created]);
    server.appendFaults.push('lost-response');
    expect(await store.append(writes(1, 3))).toBe(3);
    const [first, retry] = server.appendCalls.slice(1);
    expect(retry!.ids).toEqual(first!.ids);
    expect(retry!.streamState).toBe(first!.streamState);
    expectLog(await all(store), [created, ...writes(1, 3)]);
    expect(new Set(server.eventsOf(STREAM).map((e) => e.id)).size).toBe(4);
  });

  it('against a fake client: when retries run out the append fails naming the server, and the store recovers', async () => {
    const server = new FakeKurrentDbServer();
    const store = await open(server);
    await store.append([created]);
    server.appendFaults.push('unavailable', 'unavailable', 'unavailable', 'unavailable');
    const error = await store.append([numberedWrite(1)]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(IoError);
    expect((error as Error).message).toMatch(
      /^KurrentDB at kurrentdb:\/\/db\.example:2113\?tls=false is unreachable: appending 1 events to shadowlog-DSA1 failed 4 times/,
    );
    expect((error as Error).message).toMatch(/`docker compose up -d`/);
    expect((error as Error).message).toMatch(/Whether the append was written is unknown/);
    // The server is back: the next append re-reads the end and goes on.
    expect(await store.append([numberedWrite(2)])).toBe(1);
    expectLog(await all(store), [created, numberedWrite(2)]);
  });

  it('against a fake client: after an unknown outcome that did commit, the next append lands after it', async () => {
    const server = new FakeKurrentDbServer();
    const store = await open(server);
    await store.append([created]);
    server.appendFaults.push('lost-response', 'unavailable', 'unavailable', 'unavailable');
    await expect(store.append([numberedWrite(1)])).rejects.toThrow(IoError);
    expect(await store.append([numberedWrite(2)])).toBe(2);
    expectLog(await all(store), [created, numberedWrite(1), numberedWrite(2)]);
  });

  it('against a fake client: appends after another writer land after its events, recordedAt never going back', async () => {
    const server = new FakeKurrentDbServer();
    const a = await open(server, { clock: () => 1000 });
    const b = await open(server, { clock: () => 5000 });
    await a.append([created]);
    await b.append(writes(1, 3));
    expect(await a.append([numberedWrite(4)])).toBe(4);
    expect(a.writerStats.conflicts).toBe(1);
    const log = await all(a);
    expectLog(log, [created, ...writes(1, 4)]);
    expect(log.map((e) => e.recordedAt)).toEqual([1000, 5000, 5000, 5000, 5000]);
  });

  it("against a fake client: an expectation based on another writer's events is checked by the server, not refused on stale knowledge", async () => {
    const server = new FakeKurrentDbServer();
    const a = await open(server);
    const b = await open(server);
    await a.append([created]);
    await b.append(writes(1, 2));
    // The caller saw the stream (through a read of the server) at 3 events.
    expect(await a.lastPosition()).toBe(2);
    expect(await a.append([numberedWrite(3)], { expectedPosition: 3 })).toBe(3);
    const stale = await a.append([numberedWrite(9)], { expectedPosition: 3 }).catch((e: unknown) => e);
    expect(stale).toBeInstanceOf(WrongExpectedPositionError);
    expect(stale).toMatchObject({ expected: 3, actual: 4 });
    await b.append([numberedWrite(4)]);
    const behind = await a.append([numberedWrite(9)], { expectedPosition: 4 }).catch((e: unknown) => e);
    expect(behind).toMatchObject({ expected: 4, actual: 5 });
    expectLog(await all(a), [created, ...writes(1, 4)]);
  });

  it('against a fake client: a conflict reported as a result (throwOnAppendFailure=false) is handled like a thrown one', async () => {
    const server = new FakeKurrentDbServer();
    const inner = server.client();
    // The client then resolves { success: false }; its nextExpectedRevision is not to be trusted.
    const lenient: KurrentDbClientSurface = {
      readStream: (...args) => inner.readStream(...args),
      subscribeToStream: (...args) => inner.subscribeToStream(...args),
      dispose: () => inner.dispose(),
      appendToStream: (...args) =>
        inner.appendToStream(...args).catch((error: unknown): AppendResult => {
          if ((error as { type?: string }).type !== 'wrong-expected-version') throw error;
          return { success: false, nextExpectedRevision: 1n };
        }),
    };
    const a = await open(server, {}, lenient);
    const b = await open(server);
    await a.append([created]);
    await b.append(writes(1, 5));
    expect(await a.append([numberedWrite(6)])).toBe(6);
    await expect(a.append([numberedWrite(7)], { expectedPosition: 3 })).rejects.toMatchObject({
      expected: 3,
      actual: 7,
    });
  });

  it('against a fake client: an acknowledgement at another revision than planned is an error, not a wrong position', async () => {
    const server = new FakeKurrentDbServer();
    const inner = server.client();
    const skewed: KurrentDbClientSurface = {
      readStream: (...args) => inner.readStream(...args),
      subscribeToStream: (...args) => inner.subscribeToStream(...args),
      dispose: () => inner.dispose(),
      appendToStream: async (...args) => {
        const result = await inner.appendToStream(...args);
        return { ...result, nextExpectedRevision: result.nextExpectedRevision + 1n };
      },
    };
    const store = await open(server, {}, skewed);
    await expect(store.append([created])).rejects.toThrow(
      /acknowledged the append to shadowlog-DSA1 at revision 1, expected 0/,
    );
  });

  it('against a fake client: another writer between the parts of a split append stops it there, saying so', async () => {
    const server = new FakeKurrentDbServer();
    server.maxAppendSize = 2000;
    const other = await open(server);
    const inner = server.client();
    let parts = 0;
    const interleaved: KurrentDbClientSurface = {
      readStream: (...args) => inner.readStream(...args),
      subscribeToStream: (...args) => inner.subscribeToStream(...args),
      dispose: () => inner.dispose(),
      appendToStream: async (...args) => {
        const result = await inner.appendToStream(...args);
        if (++parts === 2) await other.append([numberedWrite(999)]);
        return result;
      },
    };
    const store = await open(server, { writerLimits: { maxAppendBytes: 2000 } }, interleaved);
    await store.append([created]);
    const error = await store.append(writes(1, 100)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(IoError);
    expect((error as Error).message).toMatch(
      /an append of 100 events was larger than the server's max append size and written in parts; its events before position \d+ are in shadowlog-DSA1, but another writer appended between its parts/,
    );
    // The store goes on after the other writer's event.
    const next = await store.append([numberedWrite(1000)]);
    const log = await all(store);
    expect(log[next]!.event).toEqual(numberedWrite(1000));
    expect(log[next - 1]!.event).toEqual(numberedWrite(999));
  });

  it('against a fake client: close waits for queued and waiting appends; later ones are refused', async () => {
    const server = new FakeKurrentDbServer();
    const store = await open(server, { writerLimits: { maxQueuedEvents: 10 } });
    await store.append([created]);
    const pending = Array.from({ length: 200 }, (_, i) => store.append([numberedWrite(i + 1)]));
    await store.close();
    expect(await Promise.all(pending)).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
    await expect(store.append([numberedWrite(1)])).rejects.toThrow(
      /KurrentDB store of shadowlog-DSA1 is closed/,
    );
    expect(server.eventsOf(STREAM)).toHaveLength(201);
  });

  it('against a fake client: stores each event as type, payload data and {v, recordedAt} metadata', async () => {
    const server = new FakeKurrentDbServer();
    const store = await open(server, { clock: () => 1_764_000_000_123 });
    await store.append([created, numberedWrite(1)]);
    expect(server.eventsOf(STREAM)[1]).toEqual({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      type: 'BlocksTrimmed',
      data: { lbn: 8, count: 2 },
      metadata: { v: 1, recordedAt: 1_764_000_000_123 },
    });
  });
});
