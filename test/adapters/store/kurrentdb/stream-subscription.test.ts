import { randomUUID } from 'node:crypto';
import { UnavailableError } from '@kurrent/kurrentdb-client';
import { describe, expect, it } from 'vitest';
import { EventInvalidError, IoError } from '../../../../domain/errors.js';
import type { RecordedEvent } from '../../../../domain/events.js';
import { numberedWrite, SAMPLE_EVENTS } from '../../../fixtures/sample-events.js';
import { FakeKurrentDbServer } from './fake-kurrentdb-client.js';
import { fakeStoreOpener } from './fake-store-opener.js';

/**
 * Subscriptions (stream-subscription.ts) against the fake server: reconnects, flow control,
 * and how each kind of failure ends a subscription. The ordinary behaviour (catch-up, live,
 * one batch at a time) is the shared contract's.
 */

const open = fakeStoreOpener(4);

async function until(predicate: () => boolean, what: string): Promise<void> {
  const started = Date.now();
  while (!predicate()) {
    if (Date.now() - started > 10_000) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

function expectConsecutive(events: readonly RecordedEvent[], count: number): void {
  expect(events.map((e) => e.position)).toEqual(Array.from({ length: count }, (_, i) => i));
}

describe('KurrentDB subscriptions', () => {
  it('against a fake client: a dropped connection is reopened from the next position, nothing lost or repeated', async () => {
    const server = new FakeKurrentDbServer();
    const store = await open(server);
    await store.append([SAMPLE_EVENTS[0]!, ...Array.from({ length: 99 }, (_, i) => numberedWrite(i + 1))]);
    const received: RecordedEvent[] = [];
    const sub = store.subscribe(0, (batch) => {
      received.push(...batch);
    });
    await until(() => received.length >= 100, '100 events');
    server.dropSubscriptions();
    for (let i = 100; i < 200; i++) await store.append([numberedWrite(i)]);
    await until(() => received.length >= 200, '200 events');
    server.dropSubscriptions();
    await store.append([numberedWrite(200)]);
    await until(() => received.length >= 201, '201 events');
    await sub.unsubscribe();
    expectConsecutive(received, 201);
    expect(server.subscriptionCount).toBe(0);
  });

  it('against a fake client: buffering is bounded by maxBufferedEvents and batches by maxBatchEvents', async () => {
    const server = new FakeKurrentDbServer();
    const store = await open(server, { subscriptionLimits: { maxBufferedEvents: 16, maxBatchEvents: 10 } });
    await store.append([SAMPLE_EVENTS[0]!, ...Array.from({ length: 2999 }, (_, i) => numberedWrite(i + 1))]);
    const received: RecordedEvent[] = [];
    const sizes: number[] = [];
    const sub = store.subscribe(0, async (batch) => {
      sizes.push(batch.length);
      received.push(...batch);
      await new Promise((resolve) => setImmediate(resolve));
    });
    await Promise.all(Array.from({ length: 1000 }, (_, i) => store.append([numberedWrite(3000 + i)])));
    await until(() => received.length >= 4000, '4000 events');
    await sub.unsubscribe();
    expectConsecutive(received, 4000);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(10);
    // Both sides of the Readable hold at most highWaterMark, plus the one write that filled it.
    expect(server.peakSubscriptionBuffer).toBeLessThanOrEqual(2 * 16 + 1);
  });

  it('against a fake client: gives up after the retry policy, naming the server', async () => {
    const server = new FakeKurrentDbServer();
    const store = await open(server);
    await store.append([SAMPLE_EVENTS[0]!]);
    server.failingSubscribes = 100;
    const sub = store.subscribe(0, () => undefined);
    const error = await sub.done.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(IoError);
    expect((error as Error).message).toMatch(
      /^KurrentDB at kurrentdb:\/\/db\.example:2113\?tls=false is unreachable: subscribing to shadowlog-DSA1 failed 4 times .*docker compose up -d/,
    );
    expect(server.failingSubscribes).toBe(96);
  });

  it('against a fake client: recovers from a few failed subscribes', async () => {
    const server = new FakeKurrentDbServer();
    const store = await open(server);
    await store.append([SAMPLE_EVENTS[0]!, numberedWrite(1)]);
    server.failingSubscribes = 2;
    const received: RecordedEvent[] = [];
    const sub = store.subscribe(1, (batch) => {
      received.push(...batch);
    });
    await until(() => received.length >= 1, 'an event');
    await sub.unsubscribe();
    expect(received.map((e) => e.position)).toEqual([1]);
  });

  it('against a fake client: an event that fails validation ends the subscription with EventInvalidError, without retrying', async () => {
    const server = new FakeKurrentDbServer();
    const store = await open(server);
    await store.append([SAMPLE_EVENTS[0]!]);
    // Something else wrote to the set's stream.
    await server.client().appendToStream(
      'shadowlog-DSA1',
      [
        {
          id: randomUUID(),
          contentType: 'application/json',
          type: 'BlocksWritten',
          data: { lbn: -5, count: 1 },
          metadata: { v: 1, recordedAt: 1 },
        },
      ],
      { streamState: 0n },
    );
    const received: RecordedEvent[] = [];
    const sub = store.subscribe(0, (batch) => {
      received.push(...batch);
    });
    const error = await sub.done.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EventInvalidError);
    expect((error as Error).message).toMatch(/'lbn'.*\(stream shadowlog-DSA1, revision 1\)/);
    expect(received).toHaveLength(0);
  });

  it('against a fake client: a callback throwing a connection-like error ends the subscription (it is not retried)', async () => {
    const server = new FakeKurrentDbServer();
    const store = await open(server);
    await store.append([SAMPLE_EVENTS[0]!]);
    let calls = 0;
    const thrown = new UnavailableError(undefined, 'the projection lost its own database');
    const sub = store.subscribe(0, () => {
      calls++;
      throw thrown;
    });
    await expect(sub.done).rejects.toBe(thrown);
    expect(calls).toBe(1);
  });

  it('against a fake client: unsubscribe during a reconnect pause returns promptly', async () => {
    const server = new FakeKurrentDbServer();
    const store = await open(server, {
      retry: { maxAttempts: 10, initialDelayMs: 60_000, maxDelayMs: 60_000 },
    });
    server.failingSubscribes = 1;
    const sub = store.subscribe(0, () => undefined);
    await new Promise((resolve) => setTimeout(resolve, 20));
    const started = Date.now();
    await sub.unsubscribe();
    await sub.done;
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('against a fake client: closing the store ends subscriptions and releases the server side', async () => {
    const server = new FakeKurrentDbServer();
    const store = await open(server);
    const subs = [store.subscribe(0, () => undefined), store.subscribe(5, () => undefined)];
    await until(() => server.subscriptionCount === 2, 'two subscriptions');
    await store.close();
    await Promise.all(subs.map((s) => expect(s.done).resolves.toBeUndefined()));
    expect(server.subscriptionCount).toBe(0);
    expect(() => store.subscribe(0, () => undefined)).toThrow(/closed/);
  });
});
