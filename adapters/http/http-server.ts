import { Hono } from 'hono';
import type { ProgressUpdate } from '../../processes/engine/progress-update.js';
import type { VirtualUnit } from '../../processes/virtual-unit.js';
import { requireToken } from './bearer-token.js';
import { controlRoutes } from './control-routes.js';
import { eventStream, StreamRegistry } from './event-stream.js';
import { errorResponse, notFoundResponse } from './http-errors.js';
import { type Listener, listen, type TlsOptions } from './http-listener.js';
import { LogIndex } from './log-index.js';
import type { LogReader } from './log-reader.js';
import { defaultPageDir, pageRoutes } from './page-files.js';
import { readRoutes } from './read-routes.js';

/** What one HTTP server of shadowlog serves. */
export interface HttpServerOptions {
  /** Address to bind (the caller decides whether a non-loopback one is allowed). */
  readonly host: string;
  /** TCP port; 0 picks a free one. */
  readonly port: number;
  /** https with this material. */
  readonly tls?: TlsOptions;
  /** The engine for the control routes (`serve`); absent for a read-only dashboard. */
  readonly unit?: VirtualUnit;
  /** The control token: opens every route. Required with `unit`. */
  readonly controlToken?: string;
  /** The read token: opens the read API only (the token in the dashboard's URL). */
  readonly readToken?: string;
  /** The log the read API and the page read; without it only the control routes are served. */
  readonly reader?: LogReader;
  /** Where the built page is (default: dist/dashboard of this package). */
  readonly pageDir?: string;
}

/** A running server. */
export interface HttpServer {
  /** `host:port` bound. */
  readonly address: string;
  /** `http` or `https`. */
  readonly scheme: 'http' | 'https';
  /** The read API's index of the log, when a reader is served. */
  readonly index: LogIndex | null;
  /** Stop: end the event streams, finish in-flight requests (bounded), stop following the log. */
  close(): Promise<void>;
}

/** GET routes a read token opens (the rest of /api needs the control token). */
function isReadRoute(method: string, path: string): boolean {
  if (method !== 'GET' && method !== 'HEAD') return false;
  return (
    [
      '/api/info',
      '/api/view',
      '/api/events',
      '/api/timeline',
      '/api/audit',
      '/api/journal',
      '/api/stream',
    ].includes(path) || path.startsWith('/api/chunk/')
  );
}

/**
 * One Hono app on one port: the control API (with an engine), the read API and the page
 * (with a log reader). Errors are `{error: {code, message}}` with the status of
 * error-status.ts; an unknown path is 404; a body that is not JSON is 400.
 */
export async function startHttpServer(options: HttpServerOptions): Promise<HttpServer> {
  const progress = new Map<string, ProgressUpdate>();
  const subscription = options.unit?.progress$.subscribe((u) => progress.set(`${u.kind}:${u.member}`, u));
  const index = options.reader ? new LogIndex(options.reader) : null;
  const streams = new StreamRegistry();
  const control = options.controlToken === undefined ? [] : [options.controlToken];
  const read = [...control, ...(options.readToken === undefined ? [] : [options.readToken])];
  const controlGuard = requireToken({ tokens: control, allowQuery: false });
  const readGuard = requireToken({ tokens: read, allowQuery: true });
  const app = new Hono();
  app.onError(errorResponse);
  app.notFound(notFoundResponse);
  app.use('/api/*', (c, next) => (isReadRoute(c.req.method, c.req.path) ? readGuard : controlGuard)(c, next));
  if (options.unit) app.route('/', controlRoutes(options.unit, progress));
  if (options.reader && index) {
    const reader = options.reader;
    app.get('/api/stream', (c) => eventStream(c, index, streams, reader.engine));
    app.route('/', readRoutes(reader, index));
    app.route('/', pageRoutes(options.pageDir ?? defaultPageDir()));
  }
  let listener: Listener;
  try {
    listener = await listen(app, { host: options.host, port: options.port, tls: options.tls });
  } catch (error) {
    subscription?.unsubscribe();
    await index?.close();
    throw error;
  }
  return {
    address: listener.address,
    scheme: listener.scheme,
    index,
    close: async () => {
      streams.closeAll();
      subscription?.unsubscribe();
      await listener.close();
      await index?.close();
    },
  };
}
