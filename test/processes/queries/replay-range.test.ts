import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type EmbeddedEventStore, openEmbeddedStore } from '../../../adapters/store/embedded/index.js';
import { MemoryEventStore } from '../../../adapters/store/memory/memory-event-store.js';
import type { RecordedEvent } from '../../../domain/events.js';
import type { EventStore, ReplayVisitor } from '../../../domain/ports/event-store.js';
import { replayRange } from '../../../processes/queries/replay-range.js';
import { tempDir } from '../../adapters/store/embedded-test-support.js';
import { recordedLogArb } from '../../support/command-arbitraries.js';
import { runEvents } from '../../support/write-runs.js';

const TIMEOUT_MS = 120_000;

/** Every event a replayRange visits, as RecordedEvents, and the runs' lengths. */
async function visited(store: EventStore, from: number, to: number | undefined) {
  const events: RecordedEvent[] = [];
  let runs = 0;
  const visitor: ReplayVisitor = {
    onWrites: (run) => {
      expect(run.length).toBeGreaterThan(0);
      runs++;
      events.push(...runEvents(run));
    },
    onEvent: (recorded) => {
      expect(recorded.event.type).not.toMatch(/^(BlocksWritten|BlocksTrimmed|ZeroesWritten)$/);
      events.push(recorded);
    },
  };
  const count = await replayRange(store, from, to, visitor);
  expect(count).toBe(events.length);
  return { events, runs };
}

async function readAll(store: EventStore, from: number, to: number | undefined) {
  const out: RecordedEvent[] = [];
  for await (const batch of store.read(from, to)) out.push(...batch);
  return out;
}

let dir: { dir: string; remove: () => Promise<void> };
let embedded: EmbeddedEventStore;
let memory: MemoryEventStore;
let log: RecordedEvent[];

beforeAll(async () => {
  log = fc.sample(recordedLogArb, { numRuns: 1, seed: 15 })[0]!;
  dir = await tempDir('shadowlog-replay-range-');
  embedded = await openEmbeddedStore(dir.dir, { streamId: 'range', segmentBytes: 4096 });
  memory = new MemoryEventStore();
  for (let i = 0; i < log.length; i += 13) {
    const events = log.slice(i, i + 13).map((r) => r.event);
    await embedded.append(events);
    await memory.append(events);
  }
}, TIMEOUT_MS);

afterAll(async () => {
  await embedded?.close();
  await memory?.close();
  await dir?.remove();
});

describe('replayRange', () => {
  it(
    'visits exactly what read returns, through replay and through the read fallback, for any range',
    async () => {
      expect((memory as EventStore).replay).toBeUndefined();
      const last = log.length - 1;
      await fc.assert(
        fc.asyncProperty(fc.nat({ max: last + 2 }), fc.option(fc.nat({ max: last + 2 })), async (a, b) => {
          const to = b === null ? undefined : Math.min(last + 1, a + b);
          // Each store against its own read (their recordedAt differ).
          const want = a > last ? [] : await readAll(memory, a, to);
          const fast = await visited(embedded, a, to);
          const slow = await visited(memory, a, to);
          expect(fast.events).toEqual(a > last ? [] : await readAll(embedded, a, to));
          expect(slow.events).toEqual(want);
          expect(fast.events.map((r) => [r.position, r.event])).toEqual(
            want.map((r) => [r.position, r.event]),
          );
          // The fallback gathers consecutive writes into runs as replay does.
          const writes = want.filter((r) =>
            /^(BlocksWritten|BlocksTrimmed|ZeroesWritten)$/.test(r.event.type),
          );
          if (writes.length > 0) expect(slow.runs).toBeLessThanOrEqual(writes.length);
        }),
        { numRuns: 60 },
      );
    },
    TIMEOUT_MS,
  );
});
