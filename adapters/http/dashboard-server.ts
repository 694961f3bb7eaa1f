import { assert } from '../../domain/errors.js';
import type { TlsOptions } from './http-listener.js';
import { startHttpServer } from './http-server.js';
import type { LogIndex } from './log-index.js';
import type { LogReader } from './log-reader.js';

/** Options of {@link startDashboardServer}. */
export interface DashboardServerOptions {
  /** The log to show. */
  readonly reader: LogReader;
  /** Address to bind (the caller keeps it loopback, or gives `tls`). */
  readonly host: string;
  /** TCP port; 0 picks a free one. */
  readonly port: number;
  /** The token the read API needs (carried in the page URL's fragment). */
  readonly token: string;
  /** https with this material. */
  readonly tls?: TlsOptions;
  /** Where the built page is (default: dist/dashboard of this package). */
  readonly pageDir?: string;
}

/** A running read-only dashboard. */
export interface DashboardServer {
  /** `host:port` bound. */
  readonly address: string;
  /** The page's URL with the token in its fragment (`http://127.0.0.1:PORT/#token=T`). */
  readonly url: string;
  /** The index of the log (its first pass, its follow). */
  readonly index: LogIndex;
  /** Stop. */
  close(): Promise<void>;
}

/** The URL that opens the page with `token` (in the fragment: a browser never sends it). */
export function dashboardUrl(scheme: 'http' | 'https', address: string, token: string): string {
  return `${scheme}://${address}/#token=${encodeURIComponent(token)}`;
}

/** `shadowlog dashboard`: the read API and the page over a log, no engine, no control routes. */
export async function startDashboardServer(options: DashboardServerOptions): Promise<DashboardServer> {
  const server = await startHttpServer({
    host: options.host,
    port: options.port,
    ...(options.tls && { tls: options.tls }),
    readToken: options.token,
    reader: options.reader,
    ...(options.pageDir !== undefined && { pageDir: options.pageDir }),
  });
  const index = server.index;
  assert(index !== null, 'a dashboard server always has an index');
  // The page is what this server is for: fold the log now, while the operator opens the URL.
  void index.ready;
  return {
    address: server.address,
    url: dashboardUrl(server.scheme, server.address, options.token),
    index,
    close: () => server.close(),
  };
}
