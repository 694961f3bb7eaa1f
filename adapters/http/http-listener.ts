import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { createAdaptorServer } from '@hono/node-server';
import type { Hono } from 'hono';

/** TLS material for an https listener (PEM). */
export interface TlsOptions {
  /** Private key. */
  readonly key: Buffer;
  /** Certificate chain. */
  readonly cert: Buffer;
  /** CA certificates that client certificates must chain to. */
  readonly ca?: Buffer;
  /** Ask for (and, with `ca`, require) a client certificate. */
  readonly requestCert?: boolean;
}

/** Where and how to listen. */
export interface ListenOptions {
  /** Address to bind. */
  readonly host: string;
  /** TCP port; 0 picks a free one. */
  readonly port: number;
  /** Serve https with this material instead of plain http. */
  readonly tls?: TlsOptions;
}

/** A listening app. */
export interface Listener {
  /** `host:port` actually bound (IPv6 in brackets). */
  readonly address: string;
  /** `http` or `https`. */
  readonly scheme: 'http' | 'https';
  /** Stop accepting; in-flight requests get `graceMs`, then every connection is closed. */
  close(graceMs?: number): Promise<void>;
}

/** How long a close waits for in-flight requests by default. */
const CLOSE_GRACE_MS = 2_000;

/** Serve `app` on `options`: Hono's Node adapter over node:http, or node:https with `tls`. */
export async function listen(app: Hono, options: ListenOptions): Promise<Listener> {
  const tls = options.tls;
  const server = (
    tls
      ? createAdaptorServer({
          fetch: app.fetch,
          createServer: createHttpsServer,
          serverOptions: {
            key: tls.key,
            cert: tls.cert,
            ...(tls.ca && { ca: tls.ca }),
            requestCert: tls.requestCert === true,
            rejectUnauthorized: tls.requestCert === true && tls.ca !== undefined,
          },
        })
      : createAdaptorServer({ fetch: app.fetch, createServer: createHttpServer })
  ) as Server;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = server.address() as AddressInfo;
  const host = bound.family === 'IPv6' ? `[${bound.address}]` : bound.address;
  return {
    address: `${host}:${bound.port}`,
    scheme: tls ? 'https' : 'http',
    close: (graceMs = CLOSE_GRACE_MS) => closeServer(server, graceMs),
  };
}

async function closeServer(server: Server, graceMs: number): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  // A request still running (a long stream, a slow client) gets the grace period, no more.
  const timer = setTimeout(() => server.closeAllConnections(), graceMs);
  try {
    await closed;
  } finally {
    clearTimeout(timer);
  }
}
