import { open } from 'node:fs/promises';
import path from 'node:path';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { crc32cRange } from '../../../adapters/store/embedded/crc32c.js';
import { openEmbeddedStore } from '../../../adapters/store/embedded/index.js';
import { WRITE_BODY_BYTES } from '../../../adapters/store/embedded/record-codec.js';
import { writeFrameCrc } from '../../../adapters/store/embedded/write-frame-crc.js';
import { LogCorruptError } from '../../../domain/errors.js';
import type { RecordedEvent, ShadowEvent } from '../../../domain/events.js';
import { stateAt } from '../../../processes/queries/state-at.js';
import { initialProjectedState, projectBatch } from '../../../projections/projected-state.js';
import { recordedLogArb } from '../../support/command-arbitraries.js';
import { runEvents } from '../../support/write-runs.js';
import { readEvents, tempDir } from './embedded-test-support.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

async function storeWith(events: readonly ShadowEvent[], segmentBytes?: number) {
  const { dir, remove } = await tempDir('shadowlog-replay-');
  const store = await openEmbeddedStore(dir, { streamId: 'replay', segmentBytes });
  cleanups.push(async () => {
    await store.close();
    await remove();
  });
  // Several appends, so records cross batch seals and (small segments) segment files.
  for (let i = 0; i < events.length; i += 37) await store.append(events.slice(i, i + 37));
  return { dir, store };
}

async function replayed(store: Awaited<ReturnType<typeof storeWith>>['store'], from: number, to: number) {
  const out: RecordedEvent[] = [];
  const visited = await store.replay(from, to, {
    onWrites: (run) => out.push(...runEvents(run)),
    onEvent: (recorded) => out.push(recorded),
  });
  expect(visited).toBe(out.length);
  return out;
}

function writes(n: number, seed: number): ShadowEvent[] {
  const types = ['BlocksWritten', 'BlocksTrimmed', 'ZeroesWritten'] as const;
  return Array.from({ length: n }, (_, i) => ({
    type: types[(seed + i) % 3]!,
    v: 1,
    lbn: (seed * 977 + i * 8) * 65_537,
    count: 1 + ((seed + i) % 64),
  }));
}

describe('embedded store replay (write runs)', () => {
  it('visits exactly the events read returns, for any range, across seals and segments', async () => {
    const logs = fc.sample(recordedLogArb, { numRuns: 6, seed: 15 });
    for (const log of logs) {
      // Runs of writes long enough to cross segment files between the log's control events.
      const events = log.flatMap((r, i) => (i % 5 === 0 ? [r.event, ...writes(60, i)] : [r.event]));
      const { store } = await storeWith(events, 1024);
      const all = await readEvents(store);
      expect(store.segments().length).toBeGreaterThan(1);
      expect(await replayed(store, 0, all.length)).toEqual(all);
      const from = Math.floor(all.length / 3);
      const to = Math.floor((2 * all.length) / 3) + 1;
      expect(await replayed(store, from, to)).toEqual(all.slice(from, to));
      expect(await replayed(store, to, to)).toEqual([]);
    }
  }, 60_000);

  it('gives stateAt the same state as folding read', async () => {
    const log = fc.sample(recordedLogArb, { numRuns: 1, seed: 7 })[0]!;
    const { store } = await storeWith(log.map((r) => r.event));
    const all = await readEvents(store);
    for (const at of [0, Math.floor(all.length / 2), all.length - 1]) {
      expect(await stateAt(store, at)).toEqual(projectBatch(initialProjectedState(), all.slice(0, at + 1)));
    }
  }, 30_000);

  it('throws LogCorruptError naming the segment for a damaged write record', async () => {
    const { dir, store } = await storeWith(writes(100, 1));
    const segment = store.segments()[0]!;
    const file = await open(path.join(dir, segment.name), 'r+');
    // A byte inside a write record's lbn, well past the segment header.
    await file.write(Buffer.from([0xff]), 0, 1, segment.bytes - 27 * 10);
    await file.close();
    await expect(store.replay(0, 100, { onWrites: () => {}, onEvent: () => {} })).rejects.toThrow(
      LogCorruptError,
    );
    await expect(store.replay(0, 100, { onWrites: () => {}, onEvent: () => {} })).rejects.toThrow(
      segment.name,
    );
  }, 30_000);
});

describe('writeFrameCrc', () => {
  it('equals crc32cRange over a write frame for any body', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 27, maxLength: 27 }), fc.nat({ max: 5 }), (bytes, lead) => {
        const buf = new Uint8Array(lead + 27);
        buf.set(bytes, lead);
        buf.set([WRITE_BODY_BYTES, 0, 0, 0], lead + 4);
        expect(writeFrameCrc(buf, lead)).toBe(crc32cRange(buf, lead + 4, lead + 27));
      }),
      { numRuns: 2000 },
    );
  });
});
