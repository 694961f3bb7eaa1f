import fc from 'fast-check';
import { firstValueFrom } from 'rxjs';
import { filter } from 'rxjs/operators';
import { describe, expect, it } from 'vitest';
import { MemoryEventStore } from '../../../adapters/store/memory/memory-event-store.js';
import { OutOfRangeError } from '../../../domain/errors.js';
import type { RecordedEvent } from '../../../domain/events.js';
import { liveProjection } from '../../../processes/queries/live-projection.js';
import { positionAtTime } from '../../../processes/queries/position-at-time.js';
import { currentState, stateAt } from '../../../processes/queries/state-at.js';
import {
  cloneProjectedState,
  initialProjectedState,
  projectBatch,
} from '../../../projections/projected-state.js';
import { encodeProjectedState } from '../../../projections/state-snapshot.js';
import { recordedLogArb } from '../../support/command-arbitraries.js';

/** A store holding `log`'s events, with the same recordedAt as the log. */
async function storeOf(
  log: readonly RecordedEvent[],
): Promise<MemoryEventStore & { add(r: RecordedEvent): Promise<number> }> {
  let now = 0;
  const store = new MemoryEventStore({ clock: () => now });
  const add = (r: RecordedEvent) => {
    now = r.recordedAt;
    return store.append([r.event]);
  };
  for (const r of log) await add(r);
  return Object.assign(store, { add });
}

function fold(log: readonly RecordedEvent[]) {
  return projectBatch(initialProjectedState(), log);
}

describe('stateAt and the live runtime', () => {
  it('stateAt(p) equals the live fold after p events, and replay is deterministic (invariant 7)', async () => {
    await fc.assert(
      fc.asyncProperty(recordedLogArb, fc.nat(), async (log, pick) => {
        const store = await storeOf(log);
        const p = pick % log.length;
        const travelled = await stateAt(store, p);
        const live = fold(log.slice(0, p + 1));
        expect(travelled).toEqual(live);
        // Two replays of the same log give byte-identical projections.
        expect(encodeProjectedState(await currentState(store))).toEqual(encodeProjectedState(fold(log)));
      }),
      { numRuns: 100 },
    );
  });

  it('stateAt starts from a snapshot and ignores a bad one, reporting it', async () => {
    const log = fc.sample(recordedLogArb, { numRuns: 1, seed: 7 })[0]!;
    const store = await storeOf(log);
    const at = Math.floor(log.length / 2);
    const snapshotState = fold(log.slice(0, at + 1));
    const bytes = encodeProjectedState(snapshotState);
    const good = { loadLatest: async () => ({ position: at, bytes }) };
    expect(await stateAt(store, log.length - 1, { snapshots: good })).toEqual(fold(log));
    const warnings: string[] = [];
    const corrupt = { loadLatest: async () => ({ position: at, bytes: bytes.subarray(0, 10) }) };
    expect(
      await stateAt(store, log.length - 1, { snapshots: corrupt, onWarning: (w) => warnings.push(w) }),
    ).toEqual(fold(log));
    expect(warnings[0]).toMatch(/snapshot at position \d+ ignored/);
    const lying = { loadLatest: async () => ({ position: at + 1, bytes }) };
    expect(
      await stateAt(store, log.length - 1, { snapshots: lying, onWarning: (w) => warnings.push(w) }),
    ).toEqual(fold(log));
    expect(warnings[1]).toMatch(/holds state of position/);
  });

  it('refuses positions outside the log', async () => {
    const store = await storeOf(fc.sample(recordedLogArb, { numRuns: 1, seed: 3 })[0]!);
    await expect(stateAt(store, -1)).rejects.toThrow(OutOfRangeError);
    await expect(stateAt(store, 10_000)).rejects.toThrow(/not in the log/);
    expect((await currentState(new MemoryEventStore())).set.position).toBe(-1);
  });

  it('the live projection folds catch-up and live appends, shared by observers', async () => {
    const log = fc.sample(recordedLogArb, { numRuns: 1, seed: 11 })[0]!;
    const half = Math.floor(log.length / 2);
    const store = await storeOf(log.slice(0, half));
    let batches = 0;
    const live$ = liveProjection(store, { afterBatch: () => void batches++ });
    const seen: number[] = [];
    const sub = live$.subscribe((s) => seen.push(s.set.position));
    const second = firstValueFrom(live$.pipe(filter((s) => s.set.position === log.length - 1)));
    for (const r of log.slice(half)) await store.add(r);
    const final = cloneProjectedState(await second);
    expect(final.set).toEqual(fold(log).set);
    expect(seen.at(-1)).toBe(log.length - 1);
    expect(batches).toBeGreaterThan(0);
    sub.unsubscribe();
  });

  it('finds the position at a time by binary search', async () => {
    const log = fc.sample(recordedLogArb, { numRuns: 1, seed: 5 })[0]!;
    const store = await storeOf(log);
    expect(await positionAtTime(store, log[0]!.recordedAt - 1)).toBe(-1);
    expect(await positionAtTime(store, log[3]!.recordedAt)).toBe(3);
    expect(await positionAtTime(store, log.at(-1)!.recordedAt + 1000)).toBe(log.length - 1);
  });
});
