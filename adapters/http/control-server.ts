import type { VirtualUnit } from '../../processes/virtual-unit.js';
import type { TlsOptions } from './http-listener.js';
import { startHttpServer } from './http-server.js';
import type { LogReader } from './log-reader.js';

/** A running control API. */
export interface ControlServer {
  /** `host:port` actually bound. */
  readonly address: string;
  /** `http` or `https`. */
  readonly scheme: 'http' | 'https';
  /** Stop accepting and close. */
  close(): Promise<void>;
}

/** Options of {@link startControlServer}. */
export interface ControlServerOptions {
  /** The engine the API drives. */
  readonly unit: VirtualUnit;
  /** Address to bind (the caller keeps it loopback, or gives `tls`). */
  readonly host: string;
  /** TCP port; 0 picks a free one. */
  readonly port: number;
  /** The bearer token every control request must carry (it opens the read API too). */
  readonly token: string;
  /** https with this material. */
  readonly tls?: TlsOptions;
  /** Serve the dashboard's read API and page over this log as well (`serve --http`). */
  readonly reader?: LogReader;
  /** The token the dashboard's URL carries: it opens the read API only. */
  readonly readToken?: string;
  /** Where the built page is (default: dist/dashboard of this package). */
  readonly pageDir?: string;
}

/**
 * The control API of `shadowlog serve`: the CLI's dismount, mount, show and verify go through
 * it while a server runs. Every control request must carry the set's token
 * (`Authorization: Bearer ...`, compared in constant time), bodies are bounded and validated
 * with zod. Errors come back as `{error: {code, message}}` with the HTTP status of the error
 * code (error-status.ts). With a `reader` the same port serves the dashboard (http-server.ts).
 */
export async function startControlServer(options: ControlServerOptions): Promise<ControlServer> {
  const server = await startHttpServer({
    host: options.host,
    port: options.port,
    ...(options.tls && { tls: options.tls }),
    unit: options.unit,
    controlToken: options.token,
    ...(options.readToken !== undefined && { readToken: options.readToken }),
    ...(options.reader && { reader: options.reader }),
    ...(options.pageDir !== undefined && { pageDir: options.pageDir }),
  });
  return { address: server.address, scheme: server.scheme, close: () => server.close() };
}
