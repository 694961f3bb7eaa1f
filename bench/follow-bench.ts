/**
 * `events --follow` latency: how long after a write is appended to the log a real
 * `shadowlog events --follow` prints it. A real served set (`shadowlog serve`) takes 4 KiB
 * random writes from fio over NBD at a bounded rate; a real `shadowlog events <set> --follow
 * --json --type writes` child prints each write event. The latency of one event is the time
 * this process reads its line minus the event's `time` (recordedAt, set when the server
 * appended it; one machine, one clock, millisecond resolution).
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

/** What `shadowlog bench follow --json` prints. */
export interface FollowBenchResult {
  /** The suite name. */
  readonly suite: 'follow';
  /** Append (the event's recordedAt) to printed line (read from the child's stdout), in ms. */
  readonly followLatencyMs: { readonly p50: number; readonly p99: number; readonly max: number };
  /** Write events per second the log took while measured (first to last write event). */
  readonly writesPerSecond: number;
  /** Write events measured. */
  readonly events: number;
  /** The writes fio was asked for (IOPS, 4 KiB random, over NBD). */
  readonly targetIops: number;
  /** Seconds fio ran. */
  readonly runtimeSeconds: number;
}

/** Options of {@link runFollowBench}. */
export interface FollowBenchOptions {
  /** Where the scratch home goes (default the system temp dir). */
  readonly dir?: string;
  /** 3 s instead of 15 s, on a smaller set. */
  readonly quick?: boolean;
}

/** fio's write rate: a busy set, not a saturated one (the latency is what is measured). */
const TARGET_IOPS = 500;
const SET = 'FOLLOW';
/** Bound on waiting for `serve` to say where it listens. */
const START_TIMEOUT_MS = 30_000;
/** Lines of latency kept: bounds memory on any run length. */
const MAX_SAMPLES = 1_000_000;

/** Run the follow benchmark (see the file comment). Needs fio with its nbd engine on PATH. */
export async function runFollowBench(options: FollowBenchOptions = {}): Promise<FollowBenchResult> {
  const runtimeSeconds = options.quick ? 3 : 15;
  const home = await mkdtemp(join(options.dir ?? tmpdir(), 'shadowlog-follow-bench-'));
  const children: ChildProcess[] = [];
  try {
    const size = options.quick ? '64M' : '256M';
    await cli([
      '--home',
      home,
      'create',
      SET,
      '--size',
      size,
      '--member',
      join(home, 'a.img'),
      '--member',
      join(home, 'b.img'),
    ]);
    const server = spawnCli(['--home', home, 'serve', SET, '--nbd', '127.0.0.1:0'], children);
    const uri = await nbdUriOf(server);
    const follower = spawnCli(
      ['--home', home, 'events', SET, '--follow', '--json', '--type', 'writes'],
      children,
    );
    const samples = collectLatencies(follower);
    // The follower opens the log and prints what exists (no writes yet) before it follows.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    await fio(uri, runtimeSeconds);
    // The last writes reach the follower within its poll interval and a little more.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    await stop(follower, 'SIGINT');
    await stop(server, 'SIGTERM');
    return summarise(samples, runtimeSeconds);
  } finally {
    for (const child of children) await stop(child, 'SIGKILL');
    await rm(home, { recursive: true, force: true });
  }
}

/** Latencies and append times of the write events the follower prints. */
interface Samples {
  readonly latenciesMs: number[];
  firstAppendMs: number;
  lastAppendMs: number;
}

function collectLatencies(follower: ChildProcess): Samples {
  const samples: Samples = { latenciesMs: [], firstAppendMs: Number.POSITIVE_INFINITY, lastAppendMs: 0 };
  const lines = createInterface({ input: follower.stdout! });
  lines.on('line', (line) => {
    const printedMs = Date.now();
    if (!line.startsWith('{') || samples.latenciesMs.length >= MAX_SAMPLES) return;
    const event = JSON.parse(line) as { time: string };
    const appendedMs = Date.parse(event.time);
    samples.latenciesMs.push(printedMs - appendedMs);
    samples.firstAppendMs = Math.min(samples.firstAppendMs, appendedMs);
    samples.lastAppendMs = Math.max(samples.lastAppendMs, appendedMs);
  });
  return samples;
}

function summarise(samples: Samples, runtimeSeconds: number): FollowBenchResult {
  const sorted = [...samples.latenciesMs].sort((a, b) => a - b);
  if (sorted.length === 0) throw new Error('events --follow printed no write event: nothing to measure');
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
  const spanS = (samples.lastAppendMs - samples.firstAppendMs) / 1000;
  return {
    suite: 'follow',
    followLatencyMs: { p50: at(0.5), p99: at(0.99), max: sorted.at(-1)! },
    writesPerSecond: spanS > 0 ? Math.round(sorted.length / spanS) : sorted.length,
    events: sorted.length,
    targetIops: TARGET_IOPS,
    runtimeSeconds,
  };
}

/** The built command: bench/ runs from dist/bench/ (or from the sources under vitest). */
function shadowlogBin(): string {
  for (const up of [['..', '..'], ['..']]) {
    const bin = join(import.meta.dirname, ...up, 'bin', 'shadowlog.js');
    if (existsSync(bin)) return bin;
  }
  throw new Error(`bin/shadowlog.js not found above ${import.meta.dirname}`);
}

function cli(args: readonly string[]): Promise<string> {
  return run(process.execPath, [shadowlogBin(), ...args], 120_000);
}

function spawnCli(args: readonly string[], children: ChildProcess[]): ChildProcess {
  const child = spawn(process.execPath, [shadowlogBin(), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  return child;
}

function run(tool: string, args: readonly string[], timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(tool, args, { timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${tool} ${args.join(' ')} failed: ${error.message}\n${stderr}`));
      else resolve(stdout);
    });
  });
}

/** The `nbd://…` URI `serve` prints on stderr once it listens. */
function nbdUriOf(server: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let stderr = '';
    const timer = setTimeout(() => reject(new Error(`serve did not start: ${stderr}`)), START_TIMEOUT_MS);
    server.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`serve exited ${code}: ${stderr}`));
    });
    server.stderr!.on('data', (chunk: Buffer) => {
      if (stderr.length < 16_384) stderr += chunk.toString();
      const match = /NBD (nbd:\/\/\S+?),? /.exec(stderr);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    });
  });
}

async function fio(uri: string, runtimeSeconds: number): Promise<void> {
  await run(
    'fio',
    [
      '--name=follow',
      '--ioengine=nbd',
      `--uri=${uri}`,
      '--rw=randwrite',
      '--bs=4k',
      '--iodepth=4',
      `--rate_iops=${TARGET_IOPS}`,
      '--time_based',
      `--runtime=${runtimeSeconds}`,
      '--output-format=json',
    ],
    (runtimeSeconds + 60) * 1000,
  );
}

/** Signal a child and wait for it (bounded: SIGKILL after 10 s). */
async function stop(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}
