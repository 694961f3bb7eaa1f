import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { openLogDirReader } from '../adapters/composition-root/dashboard-source.js';
import { startDashboardServer } from '../adapters/http/dashboard-server.js';
import { defaultPageDir } from '../adapters/http/page-files.js';
import type { InfoAnswer, ViewAnswer } from '../adapters/http/read-api.js';
import { buildBenchLog } from './log-bench.js';

/**
 * Benchmark of the dashboard's read API on a long log (10M events; 1M with `quick`): the log
 * is bench/log-bench.ts's (buildBenchLog: a minicopy dismount early, so every write marks a
 * bitmap, and no sync, so the minimerge bitmap spans the whole log), served
 * read-only by the dashboard server (no snapshot on disk: the server's own in-memory ones).
 * Measured over HTTP from this process: the first `GET /api/timeline` (the one pass over the
 * log on open), then `GET /api/view?at=P` at 200 random positions (a slider move). Target on
 * the 2-core reference machine: view p99 <= 200 ms.
 */

/** Result of {@link runDashboardBench}. */
export interface DashboardBenchResult {
  /** Suite name. */
  readonly suite: 'dashboard';
  /** Events in the log. */
  readonly events: number;
  /** `GET /api/view?at=P` at random positions, over HTTP. */
  readonly viewLatencyMs: { readonly p50: number; readonly p99: number };
  /** The first `GET /api/timeline` after the server started (includes the pass over the log). */
  readonly timelineMs: number;
  /** Bytes of the built page (dist/dashboard, every file); 0 when it is not built. */
  readonly pageBytes: number;
}

const VIEW_SAMPLES = 200;
const WARM_UP = 5;

/** Bytes of every file under `dir`, 0 when it does not exist. */
async function treeBytes(dir: string): Promise<number> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true }).catch(() => []);
  let total = 0;
  for (const e of entries) if (e.isFile()) total += (await stat(join(e.parentPath, e.name))).size;
  return total;
}

/** Run the dashboard benchmark in `dir` (a scratch directory the caller removes). */
export async function runDashboardBench(options: {
  dir: string;
  quick?: boolean;
}): Promise<DashboardBenchResult> {
  const events = options.quick ? 1_000_000 : 10_000_000;
  const logDir = join(options.dir, 'log');
  await (await buildBenchLog(logDir, events, 'BENCH')).close();
  const reader = await openLogDirReader(logDir);
  const token = 'bench';
  const started = performance.now();
  const server = await startDashboardServer({ reader, host: '127.0.0.1', port: 0, token });
  try {
    const get = async <T>(path: string): Promise<T> => {
      const response = await fetch(`http://${server.address}${path}`, {
        headers: { authorization: `Bearer ${token}` },
      });
      if (!response.ok) throw new Error(`GET ${path}: ${response.status} ${await response.text()}`);
      return (await response.json()) as T;
    };
    await get('/api/timeline?bins=1024');
    const timelineMs = performance.now() - started;
    const info = await get<InfoAnswer>('/api/info');
    let seed = 777;
    const times: number[] = [];
    for (let i = 0; i < VIEW_SAMPLES + WARM_UP; i++) {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      const position = seed % (info.lastPosition + 1);
      const t0 = performance.now();
      const view = await get<ViewAnswer>(`/api/view?at=${position}`);
      if (view.position !== position) throw new Error(`view at ${position} answered ${view.position}`);
      if (i >= WARM_UP) times.push(performance.now() - t0);
    }
    times.sort((a, b) => a - b);
    const at = (q: number) => times[Math.min(times.length - 1, Math.floor(q * times.length))]!;
    return {
      suite: 'dashboard',
      events: info.lastPosition + 1,
      viewLatencyMs: { p50: at(0.5), p99: at(0.99) },
      timelineMs,
      pageBytes: await treeBytes(defaultPageDir()),
    };
  } finally {
    await server.close();
    await reader.close();
  }
}
