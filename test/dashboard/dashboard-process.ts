import { type ChildProcess, spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SHADOWLOG_BIN } from '../support/run-cli.js';

/** A `shadowlog dashboard` or `shadowlog serve --http` child and the page URL it serves. */
export interface DashboardProcess {
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

function start(
  args: readonly string[],
  ready: (out: string) => boolean,
  what: string,
): Promise<{ child: ChildProcess; out: () => string; exited: Promise<number> }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [SHADOWLOG_BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const exited = new Promise<number>((r) => child.on('exit', (code) => r(code ?? -1)));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${what} did not start:\n${out}`));
    }, 30_000);
    const onData = (d: Buffer): void => {
      out += d.toString();
      if (ready(out)) {
        clearTimeout(timer);
        resolve({ child, out: () => out, exited });
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`${what} exited ${code}:\n${out}`));
    });
  });
}

const DASHBOARD_URL = /dashboard: (http:\/\/[\d.]+:\d+)\/?#token=([\w.~-]+)/;

/** `shadowlog dashboard <set> --http 127.0.0.1:0`: read-only over the log; resolves once it serves. */
export async function startDashboard(home: string, set: string): Promise<DashboardProcess> {
  const s = await start(
    ['--home', home, 'dashboard', set, '--http', '127.0.0.1:0'],
    (o) => DASHBOARD_URL.test(o),
    'dashboard',
  );
  const [, origin, token] = DASHBOARD_URL.exec(s.out())!;
  return {
    process: s.child,
    origin: origin!,
    url: `${origin}/#token=${token}`,
    nbd: null,
    stop: async () => {
      s.child.kill('SIGTERM');
      return s.exited;
    },
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
  const s = await start(
    ['--home', home, 'serve', set, '--nbd', '127.0.0.1:0', '--http', '127.0.0.1:0', ...extra],
    (o) => SERVING.test(o),
    'serve',
  );
  const [, nbd, origin] = SERVING.exec(s.out())!;
  const printed = DASHBOARD_URL.exec(s.out());
  const token = printed?.[2] ?? (await readFile(join(home, set, 'control.token'), 'utf8')).trim();
  return {
    process: s.child,
    origin: origin!,
    url: `${origin}/#token=${token}`,
    nbd: nbd!,
    stop: async () => {
      s.child.kill('SIGTERM');
      return s.exited;
    },
  };
}
