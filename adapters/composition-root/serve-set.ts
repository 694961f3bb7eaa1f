import { InvalidArgumentError, IoError, LogLockedError, ShadowlogError } from '../../domain/errors.js';
import type { VirtualUnit } from '../../processes/virtual-unit.js';
import { type ControlServer, startControlServer } from '../http/control-server.js';
import { dashboardUrl } from '../http/dashboard-server.js';
import type { TlsOptions } from '../http/http-listener.js';
import type { LogReader } from '../http/log-reader.js';
import { isLoopbackHost } from '../nbd/nbd-server.js';
import { startSetNbdServer } from '../nbd/shadow-set-export.js';
import { engineLogReader } from './dashboard-source.js';
import { type EngineTuning, withEngine } from './open-set.js';
import { findServer, newControlToken, publishServer, withdrawServer } from './server-info.js';
import type { SetPaths } from './set-home.js';

/** A listen address. */
export interface HostPort {
  /** Host name or IP address (IPv6 without brackets). */
  readonly host: string;
  /** TCP port; 0 picks a free one. */
  readonly port: number;
}

/** Options of {@link serveSet}. */
export interface ServeSetOptions {
  /** Where the NBD export listens; loopback unless {@link allowRemote}. */
  readonly nbd: HostPort;
  /** Where the control API and the dashboard listen; loopback unless {@link httpTls}. */
  readonly http: HostPort;
  /** https for the control API and the dashboard (required for a non-loopback --http). */
  readonly httpTls?: TlsOptions;
  /** Permit a non-loopback NBD address (the NBD protocol has no authentication). */
  readonly allowRemote: boolean;
  /** Engine options. */
  readonly tuning: EngineTuning;
  /** NBD connection limits; the NBD server's defaults when omitted. */
  readonly nbdLimits?: NbdLimits;
  /** Operator notes: NBD server events and recovery warnings. */
  readonly log: (line: string) => void;
}

/** Connection limits of the NBD server (`serve --max-connections`, `--idle-timeout`). */
export interface NbdLimits {
  /** Most connections at once; at the cap the connection idle the longest is closed (default 256). */
  readonly maxConnections?: number;
  /** A connection with nothing in flight is closed after this long idle, after the handshake (default 10 min; 0: never). */
  readonly idleTimeoutMs?: number;
}

/** The NBD server's graceful close waits this long for in-flight requests: a stop is bounded. */
const NBD_STOP_MS = 5_000;

/** A set being served, as {@link serveSet} hands it to its caller. */
export interface ServedSet {
  /** This process's id (the one in server.json). */
  readonly pid: number;
  /** `host:port` of the NBD server (IPv6 in brackets). */
  readonly nbdAddress: string;
  /** `host:port` of the control API. */
  readonly controlAddress: string;
  /** The dashboard's URL, with its read token in the fragment. */
  readonly dashboardUrl: string;
}

/**
 * Serve a set: open its engine here, export it over NBD, start the control API and publish
 * server.json and the token so other commands go through this server. `whileServing` runs
 * with the servers up; when it resolves, both servers stop (in-flight NBD requests finish,
 * members are flushed) and server.json is withdrawn.
 */
export async function serveSet(
  paths: SetPaths,
  home: string,
  options: ServeSetOptions,
  whileServing: (served: ServedSet) => Promise<void>,
): Promise<void> {
  if (!isLoopbackHost(options.http.host) && options.httpTls === undefined)
    throw new InvalidArgumentError(
      '--http must be a loopback address unless it serves TLS: the control API and the dashboard carry a token in the clear',
    );
  const running = await findServer(paths);
  if (running)
    throw new LogLockedError(
      `shadow set '${paths.set}' is already served by pid ${running.info.pid} (${running.info.http})`,
    );
  let stopping = false;
  try {
    await withEngine(
      paths,
      home,
      (unit, store) =>
        serveUnit(unit, engineLogReader(unit, store, paths, options.log), paths, options, async (served) => {
          await whileServing(served);
          stopping = true;
        }),
      options.log,
      options.tuning,
    );
  } catch (error) {
    throw stopping ? stopFailure(error) : error;
  }
}

/** A stop that could not record its last MembersSynced: one line, what it means and what happens next. */
function stopFailure(error: unknown): unknown {
  if (!(error instanceof IoError)) return error;
  return new IoError(
    `stopped without recording MembersSynced: ${error.message}. The members are flushed; the next serve runs a crash merge over the writes since the last sync`,
    { cause: error },
  );
}

/** An operator fault at listen (address in use, no permission) with the option that fixes it. */
function listenFailure(error: unknown, option: '--nbd' | '--http', address: HostPort): unknown {
  const cause = error instanceof ShadowlogError ? (error.cause ?? error) : error;
  const code = (cause as { code?: unknown } | null)?.code;
  const text = `${address.host.includes(':') ? `[${address.host}]` : address.host}:${address.port}`;
  if (code === 'EADDRINUSE') {
    return new IoError(`another program listens on ${text}; choose another ${option} address`, { cause });
  }
  if (code === 'EACCES') {
    return new IoError(`no permission to listen on ${text}; choose a port above 1023 with ${option}`, {
      cause,
    });
  }
  if (code === 'EADDRNOTAVAIL') {
    return new IoError(`no local interface has the address ${text}; choose another ${option} address`, {
      cause,
    });
  }
  return error;
}

async function serveUnit(
  unit: VirtualUnit,
  reader: LogReader,
  paths: SetPaths,
  options: ServeSetOptions,
  whileServing: (served: ServedSet) => Promise<void>,
): Promise<void> {
  const nbdServer = await startSetNbdServer(unit, paths.set, {
    host: options.nbd.host,
    port: options.nbd.port,
    allowNonLoopback: options.allowRemote,
    log: options.log,
    ...options.nbdLimits,
  }).catch((error: unknown) => {
    throw listenFailure(error, '--nbd', options.nbd);
  });
  // The log's faults are reported once when they start and once when they heal, not per request.
  const health = unit.logHealth$.subscribe((change) => options.log(change.message));
  let control: ControlServer | null = null;
  try {
    const token = newControlToken();
    // The page's URL carries a second token that opens the read API only (README "Dashboard").
    const readToken = newControlToken();
    control = await startControlServer({
      unit,
      host: options.http.host,
      port: options.http.port,
      token,
      readToken,
      reader,
      ...(options.httpTls && { tls: options.httpTls }),
    }).catch((error: unknown) => {
      throw listenFailure(error, '--http', options.http);
    });
    const served: ServedSet = {
      pid: process.pid,
      nbdAddress: nbdServer.addressText,
      controlAddress: control.address,
      dashboardUrl: dashboardUrl(control.scheme, control.address, readToken),
    };
    await publishServer(
      paths,
      {
        pid: served.pid,
        http: served.controlAddress,
        nbd: served.nbdAddress,
        startedAt: new Date().toISOString(),
      },
      token,
    );
    await whileServing(served);
  } finally {
    await control?.close();
    await nbdServer.close({ timeoutMs: NBD_STOP_MS });
    await withdrawServer(paths);
    health.unsubscribe();
  }
}
