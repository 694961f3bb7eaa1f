/**
 * NBD benchmark: fio's nbd engine against three servers on the same disk.
 *
 *  (a) shadowlog's NBD server (started by the caller, so the bench does not depend on the engine);
 *  (b) qemu-nbd exporting a 2-way QEMU quorum (vote-threshold=2) of two raw files — the nearest
 *      off-the-shelf "mirror behind NBD". cache=writeback (page cache, like the other two), aio=threads;
 *  (c) nbdkit's file plugin on one raw file — a single-copy floor;
 *  (d) a diagnostic, not a contender: shadowlog again with its log on tmpfs (/dev/shm, not
 *      durable), members on the same disk. The gap between (a) and (d) is the cost of the log's
 *      O_DSYNC writes on this disk; the gap between (d) and (b) is the rest of the engine.
 *
 * Workloads (time-bounded, `--output-format=json`): 4 KiB random write at QD16 and 1 MiB
 * sequential write at QD16, over the whole export (its size is read from server (a) so all three
 * work on the same amount of data). Two rounds, each server on fresh files, the order reversed
 * in the second round so a load that drifts during the run weighs on all three alike; the
 * result gives each round and the means, `ratio` = shadowlog / qemu-nbd quorum.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, truncate, writeFile } from 'node:fs/promises';
import { connect, createServer } from 'node:net';
import { join } from 'node:path';

/** IOPS of one workload on the three servers in one round. */
export interface NbdBenchRound {
  /** shadowlog's NBD server. */
  readonly shadowlogIops: number;
  /** qemu-nbd over a 2-way quorum of raw files. */
  readonly qemuQuorumIops: number;
  /** nbdkit file plugin, one raw file. */
  readonly nbdkitFileIops: number;
  /** shadowlogIops / qemuQuorumIops of this round. */
  readonly ratio: number;
  /** Diagnostic: shadowlog with its log on tmpfs (not durable); 0 when /dev/shm is missing. */
  readonly shadowlogLogOnTmpfsIops: number;
}

/** IOPS of one workload: the mean over the rounds, and each round. */
export interface NbdBenchIops extends NbdBenchRound {
  /** Each round (servers measured alternately, order reversed every round). */
  readonly rounds: readonly NbdBenchRound[];
}

/** Result of {@link runNbdBench}. */
export interface NbdBenchResult {
  readonly suite: 'nbd';
  /** 4 KiB random write, QD16. */
  readonly randwrite4k: NbdBenchIops;
  /** 1 MiB sequential write, QD16. */
  readonly seqwrite1m: NbdBenchIops;
}

/** A running shadowlog NBD server as seen by the bench. */
export interface ShadowlogUnderTest {
  /** NBD URI of the export, e.g. `nbd://127.0.0.1:10809/DSA1`. */
  readonly uri: string;
  /** Stop it. */
  close(): Promise<void>;
}

/** Options of {@link runNbdBench}. */
export interface NbdBenchOptions {
  /** Scratch directory; every server's files live here, so all use the same disk. */
  readonly dir: string;
  /** Start shadowlog serving NBD with its data under the given directory. */
  readonly startShadowlog: (dir: string, logDir?: string) => Promise<ShadowlogUnderTest>;
  /** Short runs (3 s instead of 10 s per workload) for smoke tests. */
  readonly quick?: boolean;
}

interface Workload {
  readonly name: string;
  readonly rw: string;
  readonly blockSize: string;
}

const RANDWRITE_4K: Workload = { name: 'randwrite4k', rw: 'randwrite', blockSize: '4k' };
const SEQWRITE_1M: Workload = { name: 'seqwrite1m', rw: 'write', blockSize: '1m' };
const QUEUE_DEPTH = 16;
/** Bound on waiting for a spawned server to accept connections. */
const SERVER_START_TIMEOUT_MS = 15_000;

function execTool(tool: string, args: readonly string[], timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(tool, args, { timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${tool} failed: ${error.message}\n${stderr}`));
      else resolve(stdout);
    });
  });
}

/** A free loopback TCP port (bound then released; good enough for a bench on one machine). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

async function waitForPort(port: number, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + SERVER_START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`server exited early with code ${child.exitCode}`);
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect({ host: '127.0.0.1', port }, () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`server on port ${port} did not start within ${SERVER_START_TIMEOUT_MS} ms`);
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
}

/** Spawn a server process, wait until it listens; returns its URI and a stopper. */
async function spawnServer(
  tool: string,
  args: (port: number) => string[],
  path: string,
): Promise<ShadowlogUnderTest> {
  const port = await freePort();
  const child = spawn(tool, args(port), { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    if (stderr.length < 16_384) stderr += chunk.toString();
  });
  try {
    await waitForPort(port, child);
  } catch (error) {
    await stopChild(child);
    throw new Error(`${tool}: ${(error as Error).message}\n${stderr}`);
  }
  return { uri: `nbd://127.0.0.1:${port}/${path}`, close: () => stopChild(child) };
}

async function exportSizeBytes(uri: string): Promise<number> {
  const out = await execTool('nbdinfo', ['--size', uri], 30_000);
  const size = Number(out.trim());
  if (!Number.isSafeInteger(size) || size <= 0)
    throw new Error(`nbdinfo --size ${uri} printed '${out.trim()}'`);
  return size;
}

/** Run one fio workload against `uri` and return its write IOPS. */
async function fioIops(uri: string, workload: Workload, runtimeSeconds: number): Promise<number> {
  const stdout = await execTool(
    'fio',
    [
      `--name=${workload.name}`,
      '--ioengine=nbd',
      `--uri=${uri}`,
      `--rw=${workload.rw}`,
      `--bs=${workload.blockSize}`,
      `--iodepth=${QUEUE_DEPTH}`,
      '--time_based',
      `--runtime=${runtimeSeconds}`,
      '--output-format=json',
    ],
    (runtimeSeconds + 60) * 1000,
  );
  // The nbd engine prints "fio: connected to NBD server" before the JSON report.
  const report = JSON.parse(stdout.slice(stdout.indexOf('{'))) as {
    jobs: Array<{ error: number; write: { iops: number } }>;
  };
  const job = report.jobs[0];
  if (job?.error !== 0) throw new Error(`fio ${workload.name} on ${uri} failed (error ${job?.error})`);
  return Math.round(job.write.iops);
}

async function measure(uri: string, runtimeSeconds: number): Promise<[number, number]> {
  const random = await fioIops(uri, RANDWRITE_4K, runtimeSeconds);
  const sequential = await fioIops(uri, SEQWRITE_1M, runtimeSeconds);
  return [random, sequential];
}

/** Measure both workloads on a started server, then stop it (also when a workload fails). */
async function measureServer(server: ShadowlogUnderTest, runtimeSeconds: number): Promise<[number, number]> {
  try {
    return await measure(server.uri, runtimeSeconds);
  } finally {
    await server.close();
  }
}

/** qemu-nbd arguments exporting a 2-way quorum of raw files (vote threshold 2: a write succeeds on both). */
function qemuQuorumArgs(port: number, files: readonly string[]): string[] {
  const quorumOptions = [
    'driver=quorum',
    'vote-threshold=2',
    'read-pattern=fifo',
    ...files.flatMap((path, i) => [
      `children.${i}.driver=raw`,
      `children.${i}.file.driver=file`,
      `children.${i}.file.filename=${path}`,
    ]),
  ].join(',');
  return [
    '--persistent',
    `--shared=${QUEUE_DEPTH}`,
    '--bind=127.0.0.1',
    `--port=${port}`,
    '--cache=writeback',
    '--aio=threads',
    '--image-opts',
    quorumOptions,
  ];
}

/** nbdkit arguments serving one raw file. */
function nbdkitFileArgs(port: number, file: string): string[] {
  return [
    '--foreground',
    '--exit-with-parent',
    '-i',
    '127.0.0.1',
    '-p',
    String(port),
    'file',
    `file=${file}`,
  ];
}

/** Rounds of the three servers, alternated so a drifting machine load hits them alike. */
const ROUNDS = 2;

type ServerName = 'shadowlog' | 'qemu' | 'nbdkit' | 'shadowlogLogOnTmpfs';

/** Where the diagnostic server keeps its log: memory, so its writes cost no disk sync. */
const TMPFS_DIR = '/dev/shm';
type Measured = Record<Exclude<ServerName, 'shadowlogLogOnTmpfs'>, [number, number]> &
  Partial<Record<'shadowlogLogOnTmpfs', [number, number]>>;

/** Measure one server on fresh files (raw files of `sizeBytes` for qemu-nbd and nbdkit). */
async function measureOne(
  name: ServerName,
  options: NbdBenchOptions,
  round: number,
  sizeBytes: number,
  runtimeSeconds: number,
): Promise<[number, number]> {
  if (name === 'shadowlog' || name === 'shadowlogLogOnTmpfs') {
    const shadowlogDir = join(options.dir, `${name}-${round}`);
    const logDir = name === 'shadowlog' ? undefined : await mkdtemp(join(TMPFS_DIR, 'shadowlog-bench-log-'));
    await mkdir(shadowlogDir, { recursive: true });
    try {
      return await measureServer(await options.startShadowlog(shadowlogDir, logDir), runtimeSeconds);
    } finally {
      await rm(shadowlogDir, { recursive: true, force: true });
      if (logDir !== undefined) await rm(logDir, { recursive: true, force: true });
    }
  }
  const files =
    name === 'qemu'
      ? [join(options.dir, 'quorum-0.raw'), join(options.dir, 'quorum-1.raw')]
      : [join(options.dir, 'nbdkit.raw')];
  for (const path of files) {
    await rm(path, { force: true });
    await writeFile(path, '');
    await truncate(path, sizeBytes);
  }
  try {
    const server =
      name === 'qemu'
        ? await spawnServer('qemu-nbd', (port) => qemuQuorumArgs(port, files), '')
        : await spawnServer('nbdkit', (port) => nbdkitFileArgs(port, files[0]!), '');
    return await measureServer(server, runtimeSeconds);
  } finally {
    for (const path of files) await rm(path, { force: true });
  }
}

/** Size of shadowlog's export (the other servers use the same). */
async function shadowlogSizeBytes(options: NbdBenchOptions): Promise<number> {
  const probeDir = join(options.dir, 'shadowlog-size');
  await mkdir(probeDir, { recursive: true });
  const shadowlog = await options.startShadowlog(probeDir);
  try {
    return await exportSizeBytes(shadowlog.uri);
  } finally {
    await shadowlog.close();
    await rm(probeDir, { recursive: true, force: true });
  }
}

function ratioOf(a: number, b: number): number {
  return b > 0 ? Math.round((a / b) * 1000) / 1000 : 0;
}

function summary(rounds: readonly Measured[], workload: 0 | 1): NbdBenchIops {
  const perRound = rounds.map((r) => ({
    shadowlogIops: r.shadowlog[workload],
    qemuQuorumIops: r.qemu[workload],
    nbdkitFileIops: r.nbdkit[workload],
    ratio: ratioOf(r.shadowlog[workload], r.qemu[workload]),
    shadowlogLogOnTmpfsIops: r.shadowlogLogOnTmpfs?.[workload] ?? 0,
  }));
  const mean = (pick: (r: NbdBenchRound) => number) =>
    Math.round(perRound.reduce((sum, r) => sum + pick(r), 0) / perRound.length);
  const shadowlogIops = mean((r) => r.shadowlogIops);
  const qemuQuorumIops = mean((r) => r.qemuQuorumIops);
  return {
    shadowlogIops,
    qemuQuorumIops,
    nbdkitFileIops: mean((r) => r.nbdkitFileIops),
    ratio: ratioOf(shadowlogIops, qemuQuorumIops),
    shadowlogLogOnTmpfsIops: mean((r) => r.shadowlogLogOnTmpfsIops),
    rounds: perRound,
  };
}

/** Run the NBD benchmark (see the file comment). Needs fio, nbdinfo, qemu-nbd and nbdkit on PATH. */
export async function runNbdBench(options: NbdBenchOptions): Promise<NbdBenchResult> {
  const runtimeSeconds = options.quick ? 3 : 10;
  await mkdir(options.dir, { recursive: true });
  const sizeBytes = await shadowlogSizeBytes(options);
  const rounds: Measured[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const contenders: ServerName[] = ['shadowlog', 'qemu', 'nbdkit'];
    if (existsSync(TMPFS_DIR)) contenders.push('shadowlogLogOnTmpfs');
    const order = round % 2 === 0 ? contenders : [...contenders].reverse();
    const measured: Partial<Measured> = {};
    for (const name of order)
      measured[name] = await measureOne(name, options, round, sizeBytes, runtimeSeconds);
    rounds.push(measured as Measured);
  }
  return { suite: 'nbd', randwrite4k: summary(rounds, 0), seqwrite1m: summary(rounds, 1) };
}
