import { describe, expect, it } from 'vitest';
import { EventInvalidError, InvalidArgumentError, WrongExpectedPositionError } from '../domain/errors.js';
import type { ShadowEvent } from '../domain/events.js';
import { subscribeContract } from './adapters/store/store-contract-subscribe.js';
import {
  batchSizes,
  collect,
  collectLater,
  contractHarness,
  created,
  expectConsecutive,
  type StoreUnderTest,
} from './adapters/store/store-contract-support.js';
import { numberedWrite, SAMPLE_EVENTS } from './fixtures/sample-events.js';

export type { StoreUnderTest } from './adapters/store/store-contract-support.js';

/**
 * The EventStore contract: every store implementation (memory, embedded, KurrentDB) runs this
 * suite from its own test file, so they all behave like the reference memory store.
 *
 * `factory` makes a fresh, empty store for each test. `reopen`, when given, must return a new
 * store over the same data; the suite closes the store before calling it and closes the
 * reopened one itself. `cleanup` releases everything (it must tolerate stores already closed).
 * The subscription cases live in test/adapters/store/store-contract-subscribe.ts, the shared
 * helpers in store-contract-support.ts beside it.
 */

/** Register the contract suite for one store implementation. */
export function storeContract(name: string, factory: () => Promise<StoreUnderTest>): void {
  const harness = contractHarness(factory);
  const { withStore, seed } = harness;

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

    subscribeContract(harness);

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
