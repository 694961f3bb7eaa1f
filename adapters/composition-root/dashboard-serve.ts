import { InvalidArgumentError } from '../../domain/errors.js';
import { type DashboardServer, startDashboardServer } from '../http/dashboard-server.js';
import type { TlsOptions } from '../http/http-listener.js';
import { isLoopbackHost } from '../nbd/nbd-server.js';
import { type OwnedLogReader, openLogDirReader, openSetLogReader } from './dashboard-source.js';
import type { HostPort } from './serve-set.js';
import { newControlToken } from './server-info.js';
import type { SetPaths } from './set-home.js';

/** Which log `shadowlog dashboard` shows. */
export type DashboardLog =
  | { readonly kind: 'set'; readonly paths: SetPaths; readonly home: string }
  | { readonly kind: 'dir'; readonly dir: string };

/** Options of {@link serveDashboard}. */
export interface ServeDashboardOptions {
  /** Where to listen; loopback unless {@link tls}. */
  readonly http: HostPort;
  /** https material (required for a non-loopback address). */
  readonly tls?: TlsOptions;
  /** Where the built page is (default: dist/dashboard of this package). */
  readonly pageDir?: string;
  /** Recoverable oddities (an unreadable snapshot skipped). */
  readonly onWarning?: (message: string) => void;
}

/** What the caller gets while the dashboard runs. */
export interface ServedDashboard {
  /** The page's URL, token in the fragment. */
  readonly url: string;
  /** `host:port` bound. */
  readonly address: string;
  /** The read token. */
  readonly token: string;
}

/**
 * Serve the dashboard read-only over a log, no engine: the log is opened read-only (a server
 * in another process may go on appending; the index follows it). `whileServing` runs with the
 * server up; when it resolves the server stops and the log is closed.
 */
export async function serveDashboard(
  log: DashboardLog,
  options: ServeDashboardOptions,
  whileServing: (served: ServedDashboard) => Promise<void>,
): Promise<void> {
  if (!isLoopbackHost(options.http.host) && options.tls === undefined) {
    throw new InvalidArgumentError(
      '--http must be a loopback address unless it serves TLS: the dashboard token would travel in the clear',
    );
  }
  const reader: OwnedLogReader =
    log.kind === 'set'
      ? await openSetLogReader(log.paths, log.home, options.onWarning)
      : await openLogDirReader(log.dir);
  let server: DashboardServer | null = null;
  try {
    const token = newControlToken();
    server = await startDashboardServer({
      reader,
      host: options.http.host,
      port: options.http.port,
      token,
      ...(options.tls && { tls: options.tls }),
      ...(options.pageDir !== undefined && { pageDir: options.pageDir }),
    });
    await whileServing({ url: server.url, address: server.address, token });
  } finally {
    await server?.close();
    await reader.close();
  }
}
