import type { RecordedEvent, ShadowEvent } from '../../../domain/events.js';
import type { EventStore, Subscription } from '../../../domain/ports/event-store.js';
import { numberedWrite, SAMPLE_EVENTS } from '../../fixtures/sample-events.js';

/** Helpers shared by the parts of the EventStore contract suite (test/store-contract.ts). */

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
export async function collect(iterable: AsyncIterable<readonly RecordedEvent[]>): Promise<RecordedEvent[]> {
  const out: RecordedEvent[] = [];
  for await (const batch of iterable) for (const e of batch) out.push(e);
  return out;
}

/** Collect a read started inside the promise, so that a store may reject bad arguments at the call or at the first batch. */
export async function collectLater(
  start: () => AsyncIterable<readonly RecordedEvent[]>,
): Promise<RecordedEvent[]> {
  return collect(start());
}

/** Batch sizes of a read. */
export async function batchSizes(iterable: AsyncIterable<readonly RecordedEvent[]>): Promise<number[]> {
  const sizes: number[] = [];
  for await (const batch of iterable) sizes.push(batch.length);
  return sizes;
}

/** Resolve once `predicate()` holds, polling; fails after `timeoutMs`. */
export async function until(predicate: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const started = Date.now();
  while (!predicate()) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** A subscription that records what it receives. */
export function recorder(
  store: EventStore,
  from: number,
  delayMs = 0,
): { received: RecordedEvent[]; batches: number[]; sub: Subscription } {
  const received: RecordedEvent[] = [];
  const batches: number[] = [];
  const sub: Subscription = store.subscribe(from, async (batch) => {
    batches.push(batch.length);
    for (const e of batch) received.push(e);
    if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
  });
  return { received, batches, sub };
}

/** Throw unless `events` have positions first, first + 1, ... */
export function expectConsecutive(events: readonly RecordedEvent[], first: number): void {
  for (let i = 0; i < events.length; i++) {
    if (events[i]!.position !== first + i) {
      throw new Error(`event ${i} has position ${events[i]!.position}, expected ${first + i}`);
    }
  }
}

/** The ShadowSetCreated sample, first event of most test streams. */
export const created = SAMPLE_EVENTS[0]!;

/** What every part of the suite gets from {@link storeContract}. */
export interface ContractHarness {
  /** Run `body` against a fresh store, closing and cleaning up afterwards. */
  withStore(body: (store: EventStore, ctx: StoreUnderTest) => Promise<void>): Promise<void>;
  /** Append ShadowSetCreated and numbered writes up to `n` events; returns them. */
  seed(store: EventStore, n: number): Promise<ShadowEvent[]>;
}

/** Build the harness of a store factory. */
export function contractHarness(factory: () => Promise<StoreUnderTest>): ContractHarness {
  return {
    async withStore(body) {
      const ctx = await factory();
      try {
        await body(ctx.store, ctx);
      } finally {
        await ctx.store.close();
        await ctx.cleanup();
      }
    },
    async seed(store, n) {
      const events = [created];
      for (let i = 1; i < n; i++) events.push(numberedWrite(i));
      await store.append(events);
      return events;
    },
  };
}
