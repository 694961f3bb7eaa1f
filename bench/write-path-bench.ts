import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileMemberAccess } from '../adapters/devices/file-member-access.js';
import { createSparseImage } from '../adapters/devices/sparse-image.js';
import { openEmbeddedStore } from '../adapters/store/embedded/index.js';
import { DEFAULT_WRITES_IN_FLIGHT } from '../adapters/store/embedded/store-options.js';
import { VirtualUnit } from '../processes/virtual-unit.js';
import { median } from './median.js';

/** Result of `shadowlog bench write-path --json`. */
export interface WritePathBenchResult {
  suite: 'write-path';
  /** 4 KiB random writes per second at queue depth 32, each durably logged. */
  loggedIops: number;
  /** The same with logging off (the engine's mirror alone). */
  unloggedIops: number;
  /** loggedIops / unloggedIops; target >= 0.85. */
  ratio: number;
  /** Seconds each run lasted. */
  seconds: number;
  /** Runs of each mode (the IOPS are medians). */
  rounds: number;
  /** Queue depth. */
  queueDepth: number;
  /**
   * Logged IOPS (medians) by log writes in flight (store option `maxWritesInFlight`; loggedIops
   * is the default's entry): docs/pipelined-commits.md "Measured".
   */
  loggedIopsByWritesInFlight: Record<string, number>;
}

const SET_BYTES = 256 * 1024 * 1024;
const QUEUE_DEPTH = 32;
/** Windows measured beside the store's default (loggedIops). */
const WINDOWS = [1, 2, 4].filter((w) => w !== DEFAULT_WRITES_IN_FLIGHT);

/** 4 KiB random writes at QD32 on a 2-member set, logged vs unlogged. */
export async function runWritePathBench(
  options: { dir?: string; quick?: boolean } = {},
): Promise<WritePathBenchResult> {
  const seconds = options.quick ? 1 : 4;
  const rounds = options.quick ? 1 : 3;
  const base = await mkdtemp(join(options.dir ?? tmpdir(), 'shadowlog-bench-write-'));
  try {
    // Page-cache writeback of the members makes single runs swing by +-20% here: alternate
    // the two modes over several rounds, each on a fresh set, and take the medians.
    const loggedRuns: number[] = [];
    const unloggedRuns: number[] = [];
    const windowRuns = new Map<number, number[]>(WINDOWS.map((w) => [w, []]));
    for (let round = 0; round < rounds; round++) {
      loggedRuns.push(await measure(join(base, `logged-${round}`), true, seconds));
      unloggedRuns.push(await measure(join(base, `unlogged-${round}`), false, seconds));
      for (const w of WINDOWS)
        windowRuns.get(w)!.push(await measure(join(base, `window-${w}-${round}`), true, seconds, w));
    }
    const logged = median(loggedRuns);
    const unlogged = median(unloggedRuns);
    const loggedIopsByWritesInFlight: Record<string, number> = {
      [DEFAULT_WRITES_IN_FLIGHT]: Math.round(logged),
    };
    for (const [w, runs] of windowRuns) loggedIopsByWritesInFlight[String(w)] = Math.round(median(runs));
    return {
      suite: 'write-path',
      loggedIops: Math.round(logged),
      unloggedIops: Math.round(unlogged),
      ratio: Math.round((logged / unlogged) * 1000) / 1000,
      seconds,
      rounds,
      queueDepth: QUEUE_DEPTH,
      loggedIopsByWritesInFlight,
    };
  } finally {
    await rm(base, { recursive: true, force: true });
  }
}

async function measure(
  dir: string,
  logWrites: boolean,
  seconds: number,
  maxWritesInFlight = DEFAULT_WRITES_IN_FLIGHT,
): Promise<number> {
  const { mkdir } = await import('node:fs/promises');
  await mkdir(dir, { recursive: true });
  const paths = [join(dir, 'm1.img'), join(dir, 'm2.img')];
  for (const path of paths) await createSparseImage(path, SET_BYTES);
  const store = await openEmbeddedStore(join(dir, 'log'), { streamId: 'bench', maxWritesInFlight });
  const access = new FileMemberAccess();
  await VirtualUnit.create(store, access, { setId: 'bench', blocks: SET_BYTES / 512, memberPaths: paths });
  const unit = await VirtualUnit.open({ store, access, logWrites, recover: false });
  const data = new Uint8Array(4096).fill(0x5a);
  const slots = SET_BYTES / 4096;
  let seed = 12345;
  const next = () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % slots;
  };
  let done = 0;
  const endAt = performance.now() + seconds * 1000;
  const worker = async () => {
    while (performance.now() < endAt) {
      await unit.write(next() * 8, data);
      done++;
    }
  };
  const start = performance.now();
  await Promise.all(Array.from({ length: QUEUE_DEPTH }, worker));
  const elapsed = (performance.now() - start) / 1000;
  await unit.close();
  await store.close();
  await rm(dir, { recursive: true, force: true });
  return done / elapsed;
}
