import { accessSync, constants } from 'node:fs';
import { tmpdir } from 'node:os';
import { describe, expect, it, vi } from 'vitest';
import { checkCrashState } from './crash-check.js';
import { type Recording, recordRun } from './crash-recording.js';
import { type CrashState, crashStates } from './crash-states.js';

/**
 * Crash at every sync point (issue 11), as dm-log-writes does for file systems: record one
 * seeded run of the engine over the real embedded log and traced member disks, then for every
 * sync boundary of the run (and a sample of torn states between them) rebuild what a power
 * loss would leave, open it with crash merge, and check the invariants (crash-check.ts).
 *
 * Replay one failure: SHADOWLOG_CRASH_SEED=<seed> SHADOWLOG_CRASH_POINT=<point> npx vitest run test/crash
 * Longer: SHADOWLOG_SOAK=1 (more seeds, more torn samples).
 */
const SOAK = process.env.SHADOWLOG_SOAK !== undefined && process.env.SHADOWLOG_SOAK !== '';
const ONE_SEED = process.env.SHADOWLOG_CRASH_SEED;
const ONE_POINT = process.env.SHADOWLOG_CRASH_POINT;
const SEEDS =
  ONE_SEED !== undefined
    ? [Number(ONE_SEED)]
    : SOAK
      ? Array.from({ length: 24 }, (_, i) => 7001 + i * 7919)
      : [1101, 2202];
const TORN_SAMPLES = SOAK ? 400 : 60;
/** About 225 writes per run (the script's counts times this); the soak runs the full 265. */
const WORKLOAD_SCALE = SOAK ? 1 : 0.85;
/** About 15 s here unloaded, under 50 s with the shared machine's other suites running: 3x and more. */
const TIMEOUT_MS = SOAK ? 3_600_000 : 180_000;
/** Failures described in full; the rest are only counted. */
const FAILURES_SHOWN = 12;

/** Crash states go on tmpfs when there is one: the log's fsyncs there cost nothing, the files are real. */
function stateRoot(): string {
  try {
    accessSync('/dev/shm', constants.W_OK);
    return '/dev/shm';
  } catch {
    return tmpdir();
  }
}

/** Record a run with a clock that ticks per call, so durations in the log do not vary between replays. */
async function recordDeterministically(seed: number, root: string): Promise<Recording> {
  let fakeMs = 0;
  const now = vi.spyOn(performance, 'now').mockImplementation(() => (fakeMs += 0.25));
  try {
    return await recordRun(seed, root, WORKLOAD_SCALE);
  } finally {
    now.mockRestore();
  }
}

interface Tally {
  states: number;
  byKind: Record<string, number>;
  failures: string[];
  failed: number;
  /** Failures by kind (the message with its numbers and paths blurred), to see them all at once. */
  failureKinds: Record<string, number>;
}

async function checkSeed(seed: number, root: string, tally: Tally): Promise<void> {
  const recording = await recordDeterministically(seed, root);
  const states = crashStates(recording.trace, TORN_SAMPLES, seed);
  const chosen: CrashState[] = ONE_POINT === undefined ? states : [states[Number(ONE_POINT)]!];
  const t = recording.trace;
  console.log(
    `crash seed ${seed}: ${t.apps.length} writes, ${t.snapshots.length} log durable points (${recording.durability}), ` +
      `${t.flushes.length} member flushes, ${t.writes.length} member writes, ${t.length} trace entries, ` +
      `${recording.steps} steps; ${states.length} crash states`,
  );
  for (const state of chosen) {
    tally.states++;
    try {
      const outcome = await checkCrashState(recording.trace, state, root);
      const key = `${state.tornNext !== null ? 'torn-log' : state.members}/${outcome.log}${outcome.merged ? '+merge' : ''}${outcome.mounts.map((m) => `+${m}`).join('')}`;
      tally.byKind[key] = (tally.byKind[key] ?? 0) + 1;
    } catch (error) {
      tally.failed++;
      const kind = (error as Error).message
        .replace(/\/dev\/shm\/\S+|\/tmp\/\S+/g, 'DIR')
        .replace(/\d+/g, 'N')
        .slice(0, 120);
      tally.failureKinds[kind] = (tally.failureKinds[kind] ?? 0) + 1;
      if (tally.failures.length < FAILURES_SHOWN) {
        tally.failures.push(
          `seed ${seed} point ${state.point} (${state.label}, trace entry ${state.at}): ${(error as Error).message}\n` +
            `  replay: SHADOWLOG_CRASH_SEED=${seed} SHADOWLOG_CRASH_POINT=${state.point} npx vitest run test/crash`,
        );
      }
    }
  }
}

describe('crash at every sync point', () => {
  it(
    `every boundary and ${TORN_SAMPLES} torn states of ${SEEDS.length} seeded runs recover with no acknowledged write lost`,
    async () => {
      const root = stateRoot();
      const tally: Tally = { states: 0, byKind: {}, failures: [], failed: 0, failureKinds: {} };
      const started = performance.now();
      for (const seed of SEEDS) await checkSeed(seed, root, tally);
      const seconds = ((performance.now() - started) / 1000).toFixed(1);
      console.log(
        `crash states checked: ${tally.states} in ${seconds} s, ${tally.failed} failed; outcomes ${JSON.stringify(tally.byKind)}` +
          (tally.failed > 0 ? `; failures by kind ${JSON.stringify(tally.failureKinds)}` : ''),
      );
      expect(tally.failures, `${tally.failed} of ${tally.states} crash states failed`).toEqual([]);
    },
    TIMEOUT_MS,
  );
});
