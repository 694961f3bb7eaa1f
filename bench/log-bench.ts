import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import {
  type EmbeddedEventStore,
  openEmbeddedStore,
  type RecordVisitor,
  SnapshotStore,
} from '../adapters/store/embedded/index.js';
import {
  EVENT_SCHEMA_VERSION,
  type RecordedEvent,
  type ShadowEvent,
  type WriteEventType,
} from '../domain/events.js';
import type { WriteRun } from '../domain/write-run.js';
import { stateAt } from '../processes/queries/state-at.js';
import { initialProjectedState, projectBatch, projectingVisitor } from '../projections/projected-state.js';
import { encodeProjectedState } from '../projections/state-snapshot.js';

/**
 * Benchmark of the embedded log:
 * - durable append rate of BlocksWritten events with 1, 16 and 256 concurrent appenders (each
 *   loops `await append([one event])` for a fixed time), with the fdatasync rate from the
 *   store's counters -- group commit is what makes 256 appenders fast;
 * - a 10M-event log (1M with `quick`): ShadowSetCreated, a minicopy MemberDismounted early so
 *   that every later write marks a bitmap, then writes, appended in big batches;
 * - replay decode rate over the whole log through the store's `replay` fast path (write
 *   records decoded straight from the read buffer into a reused columnar run, CRC verified),
 *   and through `forEachRecord` (one visitor call per record);
 * - replay fold rate through `replay` + every projection (what `stateAt` runs) -- the time
 *   travel worst case -- and through the public `store.read` + `projectBatch`;
 * - `stateAt` latency at random positions with projection snapshots every
 *   {@link SNAPSHOT_INTERVAL} events.
 * No assertions: numbers only. Targets on the 2-core reference machine: >= 200k events/s at
 * 256 appenders, replay decode >= 10M events/s, stateAt p99 <= 50 ms.
 */

/** Result of {@link runLogBench}. */
export interface LogBenchResult {
  /** Suite name. */
  readonly suite: 'log';
  /** Durable BlocksWritten appends per second by number of concurrent appenders. */
  readonly appendEventsPerSec: { readonly '1': number; readonly '16': number; readonly '256': number };
  /** fdatasync calls per second during the same runs. */
  readonly fsyncsPerSec: { readonly '1': number; readonly '16': number; readonly '256': number };
  /** Records per second through the `replay` fast path (columnar write runs) over the whole log. */
  readonly replayEventsPerSec: number;
  /** Records per second through `forEachRecord` (one visitor call per record). */
  readonly replayRecordEventsPerSec: number;
  /** Events per second through `replay` + every projection (no snapshot), as `stateAt` folds. */
  readonly replayFoldEventsPerSec: number;
  /** Events per second through `store.read` + `projectBatch` (RecordedEvent objects). */
  readonly replayFoldReadEventsPerSec: number;
  /** `stateAt` latency at random positions, with snapshots. */
  readonly stateAtMs: { readonly p50: number; readonly p99: number };
  /** Events in the replay log. */
  readonly logEvents: number;
}

/** Options of {@link runLogBench}. */
export interface LogBenchOptions {
  /** Scratch directory; the bench creates and removes subdirectories in it. */
  readonly dir: string;
  /** Short run (1M-event log, 0.5 s append phases) for smoke tests. */
  readonly quick?: boolean;
}

/** Events between projection snapshots of the replay log. */
export const SNAPSHOT_INTERVAL = 100_000;
const CONCURRENCIES = [1, 16, 256] as const;
const VOLUME_BLOCKS = 2 ** 24;
const CHUNK_BLOCKS = 127;
/** Events per append while building the replay log: ~27 MB, under the 64 MiB append bound. */
const BUILD_APPEND_EVENTS = 1_000_000;

/** Run the log benchmark. */
export async function runLogBench(options: LogBenchOptions): Promise<LogBenchResult> {
  const quick = options.quick ?? false;
  await mkdir(options.dir, { recursive: true });
  const appendEventsPerSec: Record<string, number> = {};
  const fsyncsPerSec: Record<string, number> = {};
  for (const appenders of CONCURRENCIES) {
    const rate = await measureAppends(
      path.join(options.dir, `append-${appenders}`),
      appenders,
      quick ? 500 : 2000,
    );
    appendEventsPerSec[appenders] = rate.eventsPerSec;
    fsyncsPerSec[appenders] = rate.fsyncsPerSec;
  }
  const logDir = path.join(options.dir, 'replay-log');
  const logEvents = quick ? 1_000_000 : 10_000_000;
  try {
    const store = await buildBenchLog(logDir, logEvents);
    try {
      const replayEventsPerSec = await measureReplay(store);
      const replayRecordEventsPerSec = await measureRecordReplay(store);
      const replayFoldReadEventsPerSec = await measureReadFold(store);
      const snapshots = new SnapshotStore(path.join(logDir, 'snapshots'), {
        keep: Math.ceil(logEvents / SNAPSHOT_INTERVAL) + 1,
      });
      const replayFoldEventsPerSec = await foldAndSnapshot(store, snapshots);
      const stateAtMs = await measureStateAt(store, snapshots, quick ? 50 : 200);
      return {
        suite: 'log',
        appendEventsPerSec: pickRates(appendEventsPerSec),
        fsyncsPerSec: pickRates(fsyncsPerSec),
        replayEventsPerSec,
        replayRecordEventsPerSec,
        replayFoldEventsPerSec,
        replayFoldReadEventsPerSec,
        stateAtMs,
        logEvents,
      };
    } finally {
      await store.close();
    }
  } finally {
    await rm(logDir, { recursive: true, force: true });
  }
}

function pickRates(rates: Record<string, number>): { '1': number; '16': number; '256': number } {
  return { '1': rates['1'] ?? 0, '16': rates['16'] ?? 0, '256': rates['256'] ?? 0 };
}

function write(type: WriteEventType, lbn: number, count: number): ShadowEvent {
  return { type, v: EVENT_SCHEMA_VERSION, lbn, count };
}

/** Appenders each loop `await append([one BlocksWritten])` for `durationMs`. */
async function measureAppends(
  dir: string,
  appenders: number,
  durationMs: number,
): Promise<{ eventsPerSec: number; fsyncsPerSec: number }> {
  await rm(dir, { recursive: true, force: true });
  const store = await openEmbeddedStore(dir, { streamId: `bench-${appenders}` });
  try {
    await store.append([write('BlocksWritten', 0, 1)]);
    const fsyncsBefore = store.stats.fsyncs;
    const started = performance.now();
    const deadline = started + durationMs;
    let appended = 0;
    await Promise.all(
      Array.from({ length: appenders }, async (_, id) => {
        // Bounded by the deadline; the count bound is a guard only.
        for (let k = 0; k < 1e9 && performance.now() < deadline; k++) {
          await store.append([write('BlocksWritten', (id * 1_000_003 + k * 8) % VOLUME_BLOCKS, 8)]);
          appended++;
        }
      }),
    );
    const seconds = (performance.now() - started) / 1000;
    return { eventsPerSec: appended / seconds, fsyncsPerSec: (store.stats.fsyncs - fsyncsBefore) / seconds };
  } finally {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * The benchmarks' long log, in a new embedded log at `dir` (left open): ShadowSetCreated, a few
 * writes, a minicopy dismount of m2 (so every later write marks a bitmap; no sync, so a
 * minimerge bitmap spans the whole log), then pseudo-random writes, trims and write-zeroes up to
 * `events`, appended in big batches. Also bench/dashboard-bench.ts's log.
 */
export async function buildBenchLog(
  dir: string,
  events: number,
  streamId = 'bench-replay',
): Promise<EmbeddedEventStore> {
  await rm(dir, { recursive: true, force: true });
  const store = await openEmbeddedStore(dir, { streamId });
  await store.append([
    {
      type: 'ShadowSetCreated',
      v: EVENT_SCHEMA_VERSION,
      setId: 'BENCH',
      blockSize: 512,
      blocks: VOLUME_BLOCKS,
      chunkBlocks: CHUNK_BLOCKS,
      members: [
        { id: 'm0', path: '/bench/m0.img' },
        { id: 'm1', path: '/bench/m1.img' },
        { id: 'm2', path: '/bench/m2.img' },
      ],
    },
    write('BlocksWritten', 0, 8),
    write('BlocksWritten', 4096, 8),
    {
      type: 'MemberDismounted',
      v: EVENT_SCHEMA_VERSION,
      member: 'm2',
      policy: 'minicopy',
      fingerprint: null,
    },
  ]);
  let next = 4;
  let seed = 12345;
  const types: WriteEventType[] = [
    'BlocksWritten',
    'BlocksWritten',
    'BlocksWritten',
    'ZeroesWritten',
    'BlocksTrimmed',
  ];
  // Bounded: each round appends at least one event.
  while (next < events) {
    const n = Math.min(BUILD_APPEND_EVENTS, events - next);
    const batch: ShadowEvent[] = new Array(n);
    for (let i = 0; i < n; i++) {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      batch[i] = write(types[seed % 5]!, (seed >>> 3) % (VOLUME_BLOCKS - 64), 1 + (seed % 64));
    }
    await store.append(batch);
    next += n;
  }
  return store;
}

/** Records per second through `replay`: one visitor call per run of writes. */
async function measureReplay(store: EmbeddedEventStore): Promise<number> {
  let lbnSum = 0;
  let others = 0;
  const visitor = {
    onWrites(run: WriteRun) {
      const { lbns, counts } = run;
      for (let i = 0; i < run.length; i++) lbnSum += lbns[i]! + counts[i]!;
    },
    onEvent(_recorded: RecordedEvent) {
      others++;
    },
  };
  const end = (await store.lastPosition()) + 1;
  // One warm-up pass (page cache, JIT), then the measured pass.
  await store.replay(0, end, visitor);
  const started = performance.now();
  const visited = await store.replay(0, end, visitor);
  const seconds = (performance.now() - started) / 1000;
  if (lbnSum < 0 || others < 0) throw new Error('unreachable: keeps the visitor from being optimised away');
  return visited / seconds;
}

/** Events per second through `store.read` + `projectBatch`, the public API path. */
async function measureReadFold(store: EmbeddedEventStore): Promise<number> {
  const state = initialProjectedState();
  const started = performance.now();
  for await (const batch of store.read(0, undefined, { batchSize: 8192 })) projectBatch(state, batch);
  return (state.set.position + 1) / ((performance.now() - started) / 1000);
}

/** Records per second through `forEachRecord`. */
async function measureRecordReplay(store: EmbeddedEventStore): Promise<number> {
  let lbnSum = 0;
  let others = 0;
  const visitor: RecordVisitor = {
    onWrite(_position: number, _recordedAt: number, _type: WriteEventType, lbn: number, count: number) {
      lbnSum += lbn + count;
    },
    onEvent(_recorded: RecordedEvent) {
      others++;
    },
  };
  // One warm-up pass (page cache, JIT), then the measured pass.
  await store.forEachRecord(0, undefined, visitor, { windowBytes: 4 * 1024 * 1024 });
  const started = performance.now();
  const visited = await store.forEachRecord(0, undefined, visitor, { windowBytes: 4 * 1024 * 1024 });
  const seconds = (performance.now() - started) / 1000;
  if (lbnSum < 0 || others < 0) throw new Error('unreachable: keeps the visitor from being optimised away');
  return visited / seconds;
}

/** Fold the whole log through `replay` and every projection, saving a snapshot every SNAPSHOT_INTERVAL events; events/s. */
async function foldAndSnapshot(store: EmbeddedEventStore, snapshots: SnapshotStore): Promise<number> {
  const end = (await store.lastPosition()) + 1;
  const state = initialProjectedState();
  const visitor = projectingVisitor(state);
  let foldMs = 0;
  for (let from = 0; from < end; from += SNAPSHOT_INTERVAL) {
    const to = Math.min(end, from + SNAPSHOT_INTERVAL);
    const started = performance.now();
    await store.replay(from, to, visitor);
    foldMs += performance.now() - started;
    if (to < end) await snapshots.save(to - 1, encodeProjectedState(state));
  }
  return end / (foldMs / 1000);
}

/** stateAt latency at `samples` random positions. */
async function measureStateAt(
  store: EmbeddedEventStore,
  snapshots: SnapshotStore,
  samples: number,
): Promise<{ p50: number; p99: number }> {
  const last = await store.lastPosition();
  let seed = 777;
  const times: number[] = [];
  for (let i = 0; i < samples + 5; i++) {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    const position = seed % (last + 1);
    const started = performance.now();
    await stateAt(store, position, { snapshots });
    if (i >= 5) times.push(performance.now() - started); // The first few warm up.
  }
  times.sort((a, b) => a - b);
  const at = (q: number) => times[Math.min(times.length - 1, Math.floor(q * times.length))]!;
  return { p50: at(0.5), p99: at(0.99) };
}
