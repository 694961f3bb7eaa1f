import { describe, expect, it } from 'vitest';
import { EventInvalidError, InvalidArgumentError, WrongExpectedPositionError } from '../domain/errors.js';
import type { RecordedEvent, ShadowEvent } from '../domain/events.js';
import type { EventStore, Subscription } from '../domain/ports/event-store.js';
import { numberedWrite, SAMPLE_EVENTS } from './fixtures/sample-events.js';

/**
 * The EventStore contract: every store implementation (memory, embedded, KurrentDB) runs this
 * suite from its own test file, so they all behave like the reference memory store.
 *
 * `factory` makes a fresh, empty store for each test. `reopen`, when given, must return a new
 * store over the same data; the suite closes the store before calling it and closes the
 * reopened one itself. `cleanup` releases everything (it must tolerate stores already closed).
 */

/** What a store factory returns. */
export interface StoreUnderTest {
  /** A fresh, empty store. */
  readonly store: EventStore;
  /** Open the same data again (after the suite closed `store`). */
  readonly reopen?: () => Promise<EventStore>;
  /** Release the store's resources (files, containers). */
  readonly cleanup: () => Promise<void>;
}

/** Collect every event of a read. */
async function collect(iterable: AsyncIterable<readonly RecordedEvent[]>): Promise<RecordedEvent[]> {
  const out: RecordedEvent[] = [];
  for await (const batch of iterable) for (const e of batch) out.push(e);
  return out;
}

/** Collect a read started inside the promise, so that a store may reject bad arguments at the call or at the first batch. */
async function collectLater(start: () => AsyncIterable<readonly RecordedEvent[]>): Promise<RecordedEvent[]> {
  return collect(start());
}

/** Batch sizes of a read. */
async function batchSizes(iterable: AsyncIterable<readonly RecordedEvent[]>): Promise<number[]> {
  const sizes: number[] = [];
  for await (const batch of iterable) sizes.push(batch.length);
  return sizes;
}

/** Resolve once `predicate()` holds, polling; fails after `timeoutMs`. */
async function until(predicate: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const started = Date.now();
  while (!predicate()) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** A subscription that records what it receives and checks order as it goes. */
function recorder(store: EventStore, from: number, delayMs = 0) {
  const received: RecordedEvent[] = [];
  const batches: number[] = [];
  const sub: Subscription = store.subscribe(from, async (batch) => {
    batches.push(batch.length);
    for (const e of batch) received.push(e);
    if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
  });
  return { received, batches, sub };
}

function expectConsecutive(events: readonly RecordedEvent[], first: number): void {
  for (let i = 0; i < events.length; i++) {
    if (events[i]!.position !== first + i) {
      throw new Error(`event ${i} has position ${events[i]!.position}, expected ${first + i}`);
    }
  }
}

const created = SAMPLE_EVENTS[0]!;

/** Register the contract suite for one store implementation. */
export function storeContract(name: string, factory: () => Promise<StoreUnderTest>): void {
  async function withStore(body: (store: EventStore, ctx: StoreUnderTest) => Promise<void>): Promise<void> {
    const ctx = await factory();
    try {
      await body(ctx.store, ctx);
    } finally {
      await ctx.store.close();
      await ctx.cleanup();
    }
  }

  async function seed(store: EventStore, n: number): Promise<ShadowEvent[]> {
    const events = [created];
    for (let i = 1; i < n; i++) events.push(numberedWrite(i));
    await store.append(events);
    return events;
  }

  describe(`EventStore contract: ${name}`, () => {
    describe('append and read', () => {
      it('an empty store has lastPosition -1 and reads nothing', () =>
        withStore(async (store) => {
          expect(await store.lastPosition()).toBe(-1);
          expect(await collect(store.read(0))).toEqual([]);
        }));

      it('append resolves with the position of its last event; positions are 0.. consecutive', () =>
        withStore(async (store) => {
          expect(await store.append([created])).toBe(0);
          expect(await store.append([numberedWrite(1), numberedWrite(2), numberedWrite(3)])).toBe(3);
          expect(await store.append([numberedWrite(4)])).toBe(4);
          expect(await store.lastPosition()).toBe(4);
          const all = await collect(store.read(0));
          expectConsecutive(all, 0);
          expect(all.map((e) => e.event)).toEqual([created, ...[1, 2, 3, 4].map(numberedWrite)]);
        }));

      it('reads the half-open range [from, to)', () =>
        withStore(async (store) => {
          const events = await seed(store, 20);
          for (const [from, to] of [
            [0, 20],
            [0, 1],
            [5, 6],
            [3, 17],
            [19, 20],
            [7, 7],
          ] as const) {
            const got = await collect(store.read(from, to));
            expectConsecutive(got, from);
            expect(got.map((e) => e.event)).toEqual(events.slice(from, to));
          }
          expect((await collect(store.read(12))).map((e) => e.position)).toEqual([
            12, 13, 14, 15, 16, 17, 18, 19,
          ]);
        }));

      it('reads in batches of at most batchSize', () =>
        withStore(async (store) => {
          await seed(store, 10);
          expect(await batchSizes(store.read(0, 10, { batchSize: 3 }))).toEqual([3, 3, 3, 1]);
          expect(await batchSizes(store.read(2, 9, { batchSize: 7 }))).toEqual([7]);
          expect(await batchSizes(store.read(0, undefined, { batchSize: 1 }))).toEqual(Array(10).fill(1));
          const defaults = await batchSizes(store.read(0));
          expect(defaults.reduce((a, b) => a + b, 0)).toBe(10);
          expect(defaults.every((n) => n >= 1)).toBe(true);
        }));

      it('reading at or past the end yields nothing; a `to` past the end stops at the end', () =>
        withStore(async (store) => {
          await seed(store, 5);
          expect(await collect(store.read(5))).toEqual([]);
          expect(await collect(store.read(1000))).toEqual([]);
          expect(await collect(store.read(1000, 2000))).toEqual([]);
          expect((await collect(store.read(3, 1000))).map((e) => e.position)).toEqual([3, 4]);
        }));

      it('`to` defaults to the end at the time of the call', () =>
        withStore(async (store) => {
          await seed(store, 5);
          const iterable = store.read(0);
          await store.append([numberedWrite(5)]);
          // Fixed at the call (or, for stores that must ask a server, at the first batch at the latest).
          const got = (await collect(iterable)).length;
          expect(got === 5 || got === 6).toBe(true);
          expect((await collect(store.read(0))).length).toBe(6);
        }));

      it('rejects bad read and subscribe arguments with a clear InvalidArgumentError', () =>
        withStore(async (store) => {
          await seed(store, 5);
          const bad: [number, number | undefined, number | undefined][] = [
            [3, 2, undefined],
            [-1, undefined, undefined],
            [1.5, undefined, undefined],
            [0, -2, undefined],
            [Number.NaN, undefined, undefined],
            [0, 5, 0],
            [0, 5, 2.5],
          ];
          for (const [from, to, batchSize] of bad) {
            const options = batchSize === undefined ? {} : { batchSize };
            await expect(collectLater(() => store.read(from, to, options))).rejects.toThrow(
              InvalidArgumentError,
            );
          }
          await expect(collectLater(() => store.read(3, 2))).rejects.toThrow(/from \(3\) is after to \(2\)/);
          // Refused at the call, or through `done`.
          const subscribeError = await (async () => {
            try {
              await store.subscribe(-1, () => undefined).done;
              return null;
            } catch (error) {
              return error;
            }
          })();
          expect(subscribeError).toBeInstanceOf(InvalidArgumentError);
        }));

      it('rejects an empty append and an invalid event, appending nothing', () =>
        withStore(async (store) => {
          await seed(store, 3);
          await expect(store.append([])).rejects.toThrow(InvalidArgumentError);
          const invalid = [
            { type: 'BlocksWritten', v: 1, lbn: -1, count: 1 },
            { type: 'BlocksWritten', v: 1, lbn: 0, count: 0 },
            { type: 'BlocksWritten', v: 1, lbn: 1.5, count: 1 },
            { type: 'MemberFailed', v: 1, member: '', error: 'x' },
            { type: 'NoSuchEvent', v: 1 },
          ] as unknown as ShadowEvent[];
          for (const event of invalid) {
            await expect(store.append([numberedWrite(3), event])).rejects.toThrow(EventInvalidError);
          }
          await expect(store.append([numberedWrite(3)], { expectedPosition: -1 })).rejects.toThrow(
            InvalidArgumentError,
          );
          expect(await store.lastPosition()).toBe(2);
          expect(await store.append([numberedWrite(3)])).toBe(3);
        }));
    });

    describe('optimistic concurrency', () => {
      it('appends with the right expectedPosition; a wrong one throws WrongExpectedPositionError and appends nothing', () =>
        withStore(async (store) => {
          expect(await store.append([created], { expectedPosition: 0 })).toBe(0);
          expect(await store.append([numberedWrite(1), numberedWrite(2)], { expectedPosition: 1 })).toBe(2);
          for (const expected of [0, 2, 4, 100]) {
            const error = await store
              .append([numberedWrite(9)], { expectedPosition: expected })
              .catch((e) => e);
            expect(error).toBeInstanceOf(WrongExpectedPositionError);
            expect(error.expected).toBe(expected);
            expect(error.actual).toBe(3);
          }
          expect(await store.lastPosition()).toBe(2);
          expect(await store.append([numberedWrite(3)], { expectedPosition: 3 })).toBe(3);
        }));

      it('of concurrent appends expecting the same position exactly one wins', () =>
        withStore(async (store) => {
          await seed(store, 2);
          const results = await Promise.allSettled(
            Array.from({ length: 8 }, (_, i) =>
              store.append([numberedWrite(100 + i)], { expectedPosition: 2 }),
            ),
          );
          const won = results.filter((r) => r.status === 'fulfilled');
          expect(won).toHaveLength(1);
          expect((won[0] as PromiseFulfilledResult<number>).value).toBe(2);
          for (const r of results) {
            if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(WrongExpectedPositionError);
          }
          expect(await store.lastPosition()).toBe(2);
        }));

      it('expectations queued behind other appends see their positions', () =>
        withStore(async (store) => {
          const a = store.append([created]);
          const b = store.append([numberedWrite(1), numberedWrite(2)], { expectedPosition: 1 });
          const c = store.append([numberedWrite(3)], { expectedPosition: 3 });
          const d = store
            .append([numberedWrite(4)], { expectedPosition: 3 })
            .catch((error: unknown) => error);
          expect(await a).toBe(0);
          expect(await b).toBe(2);
          expect(await c).toBe(3);
          expect(await d).toBeInstanceOf(WrongExpectedPositionError);
        }));
    });

    describe('concurrency and volume', () => {
      it('concurrent appends without expectation all land, in call order, none lost', () =>
        withStore(async (store) => {
          await seed(store, 1);
          const sizes = Array.from({ length: 300 }, (_, i) => 1 + (i % 3));
          let n = 0;
          const calls = sizes.map((size) => {
            const events = Array.from({ length: size }, () => numberedWrite(++n));
            return store.append(events);
          });
          const positions = await Promise.all(calls);
          let expected = 0;
          for (let i = 0; i < sizes.length; i++) {
            expected += sizes[i]!;
            expect(positions[i]).toBe(expected);
          }
          const all = await collect(store.read(1));
          expect(all).toHaveLength(n);
          expectConsecutive(all, 1);
          expect(all.map((e) => e.event)).toEqual(Array.from({ length: n }, (_, i) => numberedWrite(i + 1)));
        }));

      it('takes 100k write events in one append', () =>
        withStore(async (store) => {
          await seed(store, 1);
          const events = Array.from({ length: 100_000 }, (_, i) => numberedWrite(i + 1));
          expect(await store.append(events)).toBe(100_000);
          let i = 1;
          for await (const batch of store.read(1, undefined, { batchSize: 8192 })) {
            expect(batch.length).toBeLessThanOrEqual(8192);
            for (const e of batch) {
              if (
                e.position !== i ||
                e.event.type !== numberedWrite(i).type ||
                (e.event as { lbn: number }).lbn !== i * 8
              ) {
                throw new Error(`position ${i} came back as ${JSON.stringify(e)}`);
              }
              i++;
            }
          }
          expect(i).toBe(100_001);
        }));

      it('takes 10k single appends issued concurrently', () =>
        withStore(async (store) => {
          await seed(store, 1);
          const positions = await Promise.all(
            Array.from({ length: 10_000 }, (_, i) => store.append([numberedWrite(i + 1)])),
          );
          expect(positions).toEqual(Array.from({ length: 10_000 }, (_, i) => i + 1));
          const all = await collect(store.read(0));
          expect(all).toHaveLength(10_001);
          expect(all.slice(1).every((e, i) => (e.event as { lbn: number }).lbn === (i + 1) * 8)).toBe(true);
        }));
    });

    describe('round trip', () => {
      it('every event type comes back deep-equal', () =>
        withStore(async (store) => {
          await store.append([...SAMPLE_EVENTS]);
          for (const event of SAMPLE_EVENTS) await store.append([event]);
          const all = await collect(store.read(0));
          expect(all.map((e) => e.event)).toEqual([...SAMPLE_EVENTS, ...SAMPLE_EVENTS]);
        }));

      it('write events with extreme but valid values round-trip', () =>
        withStore(async (store) => {
          const extremes: ShadowEvent[] = [
            created,
            { type: 'BlocksWritten', v: 1, lbn: 0, count: 1 },
            { type: 'BlocksWritten', v: 1, lbn: 2 ** 37 - 1, count: 2 ** 31 },
            { type: 'ZeroesWritten', v: 1, lbn: 2 ** 48 - 1, count: 7 },
            { type: 'BlocksTrimmed', v: 1, lbn: 2 ** 48, count: 3 },
            { type: 'BlocksWritten', v: 1, lbn: Number.MAX_SAFE_INTEGER, count: 1 },
          ];
          await store.append(extremes);
          expect((await collect(store.read(0))).map((e) => e.event)).toEqual(extremes);
        }));

      it('recordedAt is a number that never decreases with position', () =>
        withStore(async (store) => {
          await seed(store, 3);
          for (let i = 0; i < 20; i++) await store.append([numberedWrite(i)]);
          await Promise.all(Array.from({ length: 50 }, (_, i) => store.append([numberedWrite(i)])));
          const all = await collect(store.read(0));
          for (let i = 0; i < all.length; i++) {
            expect(typeof all[i]!.recordedAt).toBe('number');
            expect(Number.isFinite(all[i]!.recordedAt)).toBe(true);
            if (i > 0) expect(all[i]!.recordedAt).toBeGreaterThanOrEqual(all[i - 1]!.recordedAt);
          }
          expect(Math.abs(all[all.length - 1]!.recordedAt - Date.now())).toBeLessThan(60_000);
        }));
    });

    describe('subscribe', () => {
      it('from 0: catches up, then receives live appends in order, no gap, no duplicate', () =>
        withStore(async (store) => {
          await seed(store, 50);
          const { received, sub } = recorder(store, 0);
          for (let i = 50; i < 150; i++) await store.append([numberedWrite(i)]);
          await Promise.all(Array.from({ length: 100 }, (_, i) => store.append([numberedWrite(150 + i)])));
          await until(() => received.length >= 250, '250 events');
          await sub.unsubscribe();
          expect(received).toHaveLength(250);
          expectConsecutive(received, 0);
          expect(received.map((e) => e.event)).toEqual(
            await collect(store.read(0)).then((a) => a.map((e) => e.event)),
          );
        }));

      it('from the middle: starts exactly there', () =>
        withStore(async (store) => {
          await seed(store, 30);
          const { received, sub } = recorder(store, 17);
          await store.append([numberedWrite(30), numberedWrite(31)]);
          await until(() => received.length >= 15, '15 events');
          await sub.unsubscribe();
          expect(received.map((e) => e.position)).toEqual(Array.from({ length: 15 }, (_, i) => 17 + i));
        }));

      it('from past the end: waits for that position', () =>
        withStore(async (store) => {
          await seed(store, 3);
          const { received, sub } = recorder(store, 6);
          for (let i = 3; i < 10; i++) await store.append([numberedWrite(i)]);
          await until(() => received.length >= 4, '4 events');
          await sub.unsubscribe();
          expect(received.map((e) => e.position)).toEqual([6, 7, 8, 9]);
        }));

      it('appends racing with catch-up are neither lost nor duplicated', () =>
        withStore(async (store) => {
          await seed(store, 2000);
          const { received, sub } = recorder(store, 0);
          const appends: Promise<number>[] = [];
          for (let i = 0; i < 500; i++) appends.push(store.append([numberedWrite(2000 + i)]));
          await Promise.all(appends);
          await until(() => received.length >= 2500, '2500 events');
          await sub.unsubscribe();
          expect(received).toHaveLength(2500);
          expectConsecutive(received, 0);
        }));

      it('a slow subscriber still gets everything, in order, one batch at a time', () =>
        withStore(async (store) => {
          await seed(store, 10);
          let inCallback = 0;
          let overlapped = false;
          const received: RecordedEvent[] = [];
          const sub = store.subscribe(0, async (batch) => {
            inCallback++;
            if (inCallback > 1) overlapped = true;
            await new Promise((resolve) => setTimeout(resolve, 3));
            for (const e of batch) received.push(e);
            inCallback--;
          });
          // Many more live batches than the queue bound of the test stores: forces the
          // subscriber to fall back to reading.
          for (let round = 0; round < 30; round++) {
            await Promise.all(
              Array.from({ length: 40 }, (_, i) => store.append([numberedWrite(round * 40 + i)])),
            );
          }
          await until(() => received.length >= 1210, '1210 events');
          await sub.unsubscribe();
          expect(overlapped).toBe(false);
          expect(received).toHaveLength(1210);
          expectConsecutive(received, 0);
        }));

      it('unsubscribe stops delivery and resolves done', () =>
        withStore(async (store) => {
          await seed(store, 5);
          const { received, sub } = recorder(store, 0);
          await until(() => received.length >= 5, '5 events');
          await sub.unsubscribe();
          await sub.done;
          await store.append([numberedWrite(5), numberedWrite(6)]);
          await new Promise((resolve) => setTimeout(resolve, 50));
          expect(received).toHaveLength(5);
        }));

      it('unsubscribe waits for the batch being delivered', () =>
        withStore(async (store) => {
          await seed(store, 5);
          let finished = false;
          let started = false;
          const sub = store.subscribe(0, async () => {
            started = true;
            await new Promise((resolve) => setTimeout(resolve, 30));
            finished = true;
          });
          await until(() => started, 'first callback');
          await sub.unsubscribe();
          expect(finished).toBe(true);
        }));

      it('a throwing callback ends the subscription: done rejects with its error', () =>
        withStore(async (store) => {
          await seed(store, 5);
          let calls = 0;
          const sub = store.subscribe(0, () => {
            calls++;
            throw new Error('projection bug');
          });
          await expect(sub.done).rejects.toThrow('projection bug');
          await store.append([numberedWrite(5)]);
          await new Promise((resolve) => setTimeout(resolve, 20));
          expect(calls).toBe(1);
          await sub.unsubscribe();
        }));

      it('closing the store ends subscriptions', () =>
        withStore(async (store) => {
          await seed(store, 5);
          const { received, sub } = recorder(store, 0);
          await until(() => received.length >= 5, '5 events');
          await store.close();
          await expect(sub.done).resolves.toBeUndefined();
        }));
    });

    describe('lifecycle', () => {
      it('close lets pending appends finish, is idempotent, and later appends are refused', () =>
        withStore(async (store) => {
          await seed(store, 1);
          const pending = Array.from({ length: 100 }, (_, i) => store.append([numberedWrite(i + 1)]));
          await store.close();
          expect(await Promise.all(pending)).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
          await store.close();
          await expect(store.append([numberedWrite(1)])).rejects.toThrow();
        }));

      it('reopening preserves every event, position and recordedAt, and appends continue', async () => {
        const ctx = await factory();
        try {
          if (ctx.reopen === undefined) return;
          await ctx.store.append([...SAMPLE_EVENTS]);
          await ctx.store.append(Array.from({ length: 5000 }, (_, i) => numberedWrite(i)));
          await Promise.all(Array.from({ length: 200 }, (_, i) => ctx.store.append([numberedWrite(i)])));
          const before = await collect(ctx.store.read(0));
          await ctx.store.close();
          const again = await ctx.reopen();
          try {
            expect(await again.lastPosition()).toBe(before.length - 1);
            expect(await collect(again.read(0))).toEqual(before);
            expect(await collect(again.read(4000, 4100))).toEqual(before.slice(4000, 4100));
            expect(await again.append([numberedWrite(1)])).toBe(before.length);
            const last = (await collect(again.read(before.length)))[0]!;
            expect(last.recordedAt).toBeGreaterThanOrEqual(before[before.length - 1]!.recordedAt);
          } finally {
            await again.close();
          }
        } finally {
          await ctx.store.close();
          await ctx.cleanup();
        }
      });
    });
  });
}
