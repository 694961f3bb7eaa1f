import { type ChildProcess, spawn } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { openEmbeddedStore } from '../../../adapters/store/embedded/index.js';
import { tempDir } from './embedded-test-support.js';

/**
 * One writer at a time, proven with real processes: four children race to open one log
 * writable, 15 rounds; each winner marks itself the holder (an exclusive file), notes its pid
 * and holds the log 200 ms. Never two holders at once, and someone wins every round -- also in
 * the rounds that start from the lock of a holder that was SIGKILLed (the stale-lock takeover
 * that let two processes in with the old pid-file lock).
 */

const here = path.dirname(fileURLToPath(import.meta.url));
const racerScript = path.join(here, '../../fixtures/crash-lock-racer.ts');
const RACERS = 4;
const ROUNDS = 15;

interface Child {
  readonly process: ChildProcess;
  output: string;
  readonly exited: Promise<void>;
}

function spawnChild(dir: string, winners: string, mode: 'race' | 'hold'): Child {
  const child = spawn(process.execPath, ['--import', 'tsx', racerScript, dir, winners, mode], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const entry: Child = {
    process: child,
    output: '',
    exited: new Promise<void>((resolve) => child.on('close', () => resolve())),
  };
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    entry.output += chunk;
  });
  return entry;
}

/** Wait (bounded: 30 s) until `child` printed `line`; fails naming it otherwise. */
async function waitFor(child: Child, line: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!child.output.includes(`${line}\n`)) {
    if (Date.now() > deadline || child.process.exitCode !== null) {
      throw new Error(`child ${child.process.pid} never printed '${line}'; it printed: ${child.output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe('embedded log writer lock across processes', () => {
  it(`${RACERS} processes racing for one log, ${ROUNDS} rounds (some from a SIGKILLed holder's lock): one holder at a time, a holder every round`, async () => {
    const { dir: base, remove } = await tempDir('shadowlog-lockrace-');
    const dir = path.join(base, 'log');
    const winners = path.join(base, 'winners');
    await writeFile(winners, '');
    const created = await openEmbeddedStore(dir, { streamId: 'LOCKRACE' });
    await created.close();
    const racers = Array.from({ length: RACERS }, () => spawnChild(dir, winners, 'race'));
    try {
      for (const racer of racers) await waitFor(racer, 'ready');
      const staleRounds: number[] = [];
      for (let round = 0; round < ROUNDS; round++) {
        if (round % 3 !== 0) {
          // A holder that dies without releasing: its lock is left behind.
          const holder = spawnChild(dir, winners, 'hold');
          await waitFor(holder, 'held');
          holder.process.kill('SIGKILL');
          await holder.exited;
          staleRounds.push(round);
        }
        for (const racer of racers) racer.process.stdin!.write(`go ${round}\n`);
        for (const racer of racers) await waitFor(racer, `done ${round}`);
      }
      const errors = racers.flatMap((r) => r.output.split('\n').filter((l) => l.startsWith('error')));
      expect(errors).toEqual([]);
      const lines = (await readFile(winners, 'utf8')).trim().split('\n');
      const perRound = Array.from({ length: ROUNDS }, (_, round) =>
        lines.filter((l) => l.startsWith(`${round} `)),
      );
      const badRounds = perRound
        .map((w, round) => ({ round, winners: w.length, stale: staleRounds.includes(round) }))
        // A racer slowed past the winner's 200 ms hold may win the same round after it closed:
        // that is the lock working. Two at once is the marker error above; none is a lock stuck.
        .filter((r) => r.winners < 1);
      console.log(
        `lock race: ${ROUNDS} rounds, ${staleRounds.length} from a stale lock, bad rounds`,
        badRounds,
      );
      expect(badRounds).toEqual([]);
    } finally {
      for (const racer of racers) racer.process.stdin!.end();
      await Promise.all(racers.map((r) => r.exited));
      await remove();
    }
  }, 240_000);
});
