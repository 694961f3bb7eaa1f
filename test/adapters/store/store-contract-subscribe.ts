import { describe, expect, it } from 'vitest';
import type { RecordedEvent } from '../../../domain/events.js';
import { numberedWrite } from '../../fixtures/sample-events.js';
import {
  type ContractHarness,
  collect,
  expectConsecutive,
  recorder,
  until,
} from './store-contract-support.js';

/** The subscription part of the EventStore contract suite (registered by test/store-contract.ts). */
export function subscribeContract({ withStore, seed }: ContractHarness): void {
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
}
