import type { ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startCli } from '../support/background-cli.js';

/** A `shadowlog dashboard` or `shadowlog serve --http` child and the page URL it serves. */
export interface DashboardProcess {
  /** The child, for its pid or a SIGKILL. */
  readonly process: ChildProcess;
  /** `http://127.0.0.1:PORT` */
  readonly origin: string;
  /** The page with its token: `http://127.0.0.1:PORT/#token=T`. */
  readonly url: string;
  /** For `serve`: `nbd://127.0.0.1:PORT/SET`; null for `dashboard`. */
  readonly nbd: string | null;
  /** SIGTERM; resolves with the exit code. */
  stop(): Promise<number>;
}

const DASHBOARD_URL = /dashboard: (http:\/\/[\d.]+:\d+)\/?#token=([\w.~-]+)/;

/** `shadowlog dashboard <set> --http 127.0.0.1:0`: read-only over the log; resolves once it serves. */
export async function startDashboard(home: string, set: string): Promise<DashboardProcess> {
  const { cli: s, match } = await startCli(
    ['--home', home, 'dashboard', set, '--http', '127.0.0.1:0'],
    DASHBOARD_URL,
    { stream: 'both' },
  );
  const [, origin, token] = match;
  return {
    process: s.process,
    origin: origin!,
    url: `${origin}/#token=${token}`,
    nbd: null,
    stop: () => s.signal('SIGTERM'),
  };
}

const SERVING = /NBD (nbd:\/\/\S+?),? .*?(http:\/\/[\d.]+:\d+)/;

/**
 * `shadowlog serve <set> --nbd 127.0.0.1:0 --http 127.0.0.1:0`; the page URL takes the token the
 * server printed (`#token=`) or, failing that, the one in `<home>/<set>/control.token`.
 */
export async function startServeHttp(
  home: string,
  set: string,
  extra: readonly string[] = [],
): Promise<DashboardProcess> {
  const { cli: s, match } = await startCli(
    ['--home', home, 'serve', set, '--nbd', '127.0.0.1:0', '--http', '127.0.0.1:0', ...extra],
    SERVING,
    { stream: 'both' },
  );
  const [, nbd, origin] = match;
  const printed = DASHBOARD_URL.exec(s.output());
  const token = printed?.[2] ?? (await readFile(join(home, set, 'control.token'), 'utf8')).trim();
  return {
    process: s.process,
    origin: origin!,
    url: `${origin}/#token=${token}`,
    nbd: nbd!,
    stop: () => s.signal('SIGTERM'),
  };
}
