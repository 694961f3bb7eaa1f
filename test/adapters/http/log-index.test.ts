import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSet } from '../../../adapters/composition-root/create-set.js';
import {
  type OwnedLogReader,
  openSetLogReader,
} from '../../../adapters/composition-root/dashboard-source.js';
import { openSet } from '../../../adapters/composition-root/open-set.js';
import { setPaths } from '../../../adapters/composition-root/set-home.js';
import { LogIndex } from '../../../adapters/http/log-index.js';
import { TimelineBins } from '../../../adapters/http/timeline-bins.js';
import { runsOf } from '../../../adapters/http/view-answer.js';
import { ChunkBitmap } from '../../../domain/chunk-bitmap.js';
import type { EventStore } from '../../../domain/ports/event-store.js';
import { createWriteRun } from '../../../domain/write-run.js';
import { stateAt } from '../../../processes/queries/state-at.js';
import { MinimergeBitmap } from '../../../projections/minimerge-bitmap.js';
import { summarise } from '../../../projections/set-summary.js';

const TIMEOUT_MS = 120_000;
let home: string;
let reader: OwnedLogReader;

beforeAll(async () => {
  home = await mkdtemp(join(tmpdir(), 'shadowlog-log-index-'));
  const paths = setPaths(home, 'IDX');
  await createSet(paths, home, {
    sizeBytes: 2 * 1024 * 1024,
    memberPaths: [join(home, 'a.img'), join(home, 'b.img'), join(home, 'c.img')],
  });
  const set = await openSet({ home, set: 'IDX', mode: 'read-write' });
  try {
    // Writes, a dismount, syncs that move the minimerge bitmap's start, a minicopy return.
    for (let round = 0; round < 6; round++) {
      for (let i = 0; i < 9; i++)
        await set.unit.write((round * 509 + i * 97) % 4000, new Uint8Array(1024).fill(i));
      if (round === 1) await set.unit.dismount('m3', 'minicopy');
      if (round % 2 === 0) await set.unit.flush();
      if (round === 4) await (await set.unit.mount('m3', 'minicopy')).done;
    }
  } finally {
    await set.close();
  }
  reader = await openSetLogReader(paths, home);
}, TIMEOUT_MS);

afterAll(async () => {
  await reader?.close();
  await rm(home, { recursive: true, force: true });
});

describe('the read API index of a log', () => {
  it(
    'gives, at every position, the state and minimerge bitmap a fold from 0 gives (small snapshot bounds)',
    async () => {
      // Snapshots every 3 events, at most 4: the bounds thin them several times over this log.
      const index = new LogIndex(reader, { everyEvents: 3, maxCount: 4, maxBytes: 1 << 30 });
      try {
        await index.ready;
        const last = await reader.store.lastPosition();
        expect(index.lastPosition).toBe(last);
        expect(index.snapshotStats().count).toBeLessThanOrEqual(4);
        for (let p = 0; p <= last; p++) {
          const got = await index.stateAt(p);
          const want = await stateAt(reader.store, p);
          const g = want.set.geometry!;
          const from = want.set.merge ? want.set.merge.fromPosition : (want.set.synced?.position ?? -1) + 1;
          const minimerge = new MinimergeBitmap(g, from);
          for await (const batch of reader.store.read(from, p + 1)) for (const r of batch) minimerge.apply(r);
          expect(summarise(got.state), `position ${p}`).toEqual(summarise(want));
          expect(got.state.journal).toEqual(want.journal);
          expect([got.minimerge?.fromPosition, runsOf(got.minimerge!.chunks)], `position ${p}`).toEqual([
            from,
            runsOf(minimerge.chunks),
          ]);
        }
      } finally {
        await index.close();
      }
    },
    TIMEOUT_MS,
  );

  it(
    'folds the same first pass through the store replay and through read (a store without replay)',
    async () => {
      const bounds = { everyEvents: 5, maxCount: 8, maxBytes: 1 << 30 };
      const fast = new LogIndex(reader, bounds);
      const store = reader.store;
      // The same log behind the port without its replay fast path.
      const plainStore: EventStore = {
        append: (events, options) => store.append(events, options),
        read: (from, to, options) => store.read(from, to, options),
        subscribe: (from, onBatch) => store.subscribe(from, onBatch),
        lastPosition: () => store.lastPosition(),
        close: async () => {},
      };
      const slow = new LogIndex({ ...reader, store: plainStore }, bounds);
      try {
        await Promise.all([fast.ready, slow.ready]);
        expect(store.replay).toBeDefined();
        expect(fast.lastPosition).toBe(slow.lastPosition);
        expect(fast.times).toEqual(slow.times);
        expect(fast.timeline(64)).toEqual(slow.timeline(64));
        expect(fast.snapshotStats()).toEqual(slow.snapshotStats());
        expect(fast.current).toEqual(slow.current);
        expect(fast.current).toEqual(await stateAt(store, fast.lastPosition));
        for (let p = 0; p <= fast.lastPosition; p += 7) {
          const [a, b] = [await fast.stateAt(p), await slow.stateAt(p)];
          expect(a.state).toEqual(b.state);
          expect(runsOf(a.minimerge!.chunks), `position ${p}`).toEqual(runsOf(b.minimerge!.chunks));
        }
      } finally {
        await fast.close();
        await slow.close();
      }
    },
    TIMEOUT_MS,
  );
});

describe('the timeline bins', () => {
  it('count a run of writes exactly as apply of each write, across bin widths', () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.integer({ min: 1, max: 3000 }), fc.constant(0)), { maxLength: 40 }),
        (pieces) => {
          const plain = new TimelineBins(3);
          const fast = new TimelineBins(3);
          let p = 3;
          for (const n of pieces) {
            if (n === 0) {
              const event = {
                position: p,
                recordedAt: 1_700_000_000_000 + p,
                event: { type: 'MembersSynced', v: 1, position: p },
              };
              plain.apply(event as never);
              fast.apply(event as never);
              p++;
              continue;
            }
            const run = createWriteRun(n);
            run.firstPosition = p;
            run.length = n;
            for (let i = 0; i < n; i++) {
              run.kinds[i] = 1;
              run.lbns[i] = i;
              run.counts[i] = 1;
              run.recordedAts[i] = 1_700_000_000_000 + p + i;
              const w = { type: 'BlocksWritten', v: 1, lbn: i, count: 1 };
              plain.apply({ position: p + i, recordedAt: run.recordedAts[i]!, event: w } as never);
            }
            const cut = Math.floor(n / 3);
            fast.applyWrites(run, 0, cut);
            fast.applyWrites(run, cut, n);
            p += n;
          }
          expect(fast.answer(4096)).toEqual(plain.answer(4096));
          expect(fast.answer(5)).toEqual(plain.answer(5));
        },
      ),
      { numRuns: 40 },
    );
  }, 30_000);

  it('keep every write counted and every marker as the log grows past the fine bins', () => {
    const bins = new TimelineBins(0);
    const events = 20_000;
    for (let p = 0; p < events; p++) {
      const event =
        p % 1000 === 0
          ? ({ type: 'MembersSynced', v: 1, position: p } as const)
          : ({ type: 'BlocksWritten', v: 1, lbn: p, count: 1 } as const);
      bins.apply({ position: p, recordedAt: 1_700_000_000_000 + p, event } as never);
    }
    const answer = bins.answer(7);
    expect(answer.bins.length).toBeLessThanOrEqual(7);
    expect(answer.bins.reduce((n, b) => n + b.writes, 0)).toBe(events - 20);
    expect(answer.bins[0]!.from).toBe(0);
    expect(answer.bins.at(-1)!.to).toBe(events - 1);
    for (let i = 1; i < answer.bins.length; i++)
      expect(answer.bins[i]!.from).toBe(answer.bins[i - 1]!.to + 1);
    expect(answer.markers.map((m) => m.position)).toEqual(Array.from({ length: 20 }, (_, i) => i * 1000));
    expect(() =>
      bins.apply({
        position: events + 5,
        recordedAt: 0,
        event: { type: 'BlocksWritten', v: 1, lbn: 0, count: 1 },
      } as never),
    ).toThrow(/after 19999/);
  });

  it('runs of a bitmap are [first, count, ...]', () => {
    const b = new ChunkBitmap(100);
    b.set(0, 0);
    b.set(31, 40);
    b.set(99, 99);
    expect(runsOf(b)).toEqual([0, 1, 31, 10, 99, 1]);
  });
});

describe('runs of large bitmaps', () => {
  it('equal the bitmap run iterator on random bitmaps, including runs over whole words and to the end', () => {
    let seed = 99;
    for (const chunks of [1, 31, 32, 33, 64, 1000, 4099]) {
      const b = new ChunkBitmap(chunks);
      for (let i = 0; i < chunks / 3; i++) {
        seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
        const first = seed % chunks;
        b.set(first, Math.min(chunks - 1, first + (seed % 70)));
      }
      b.set(chunks - 1, chunks - 1);
      const expected = [...b.runs()].flatMap((r) => [r.first, r.count]);
      expect(runsOf(b), `${chunks} chunks`).toEqual(expected);
    }
  });
});
