import { type AddressInfo, BlockList, createServer, isIP, type Server, type Socket } from 'node:net';
import { InvalidArgumentError, IoError } from '../../domain/errors.js';
import { RangeLock } from '../../primitives/range-lock.js';
import { ConnectionCap } from './connection-cap.js';
import { type ConnectionServices, NbdConnection } from './nbd-connection.js';
import {
  DEFAULT_BUDGET_WAIT_MS,
  DEFAULT_GRACEFUL_CLOSE_TIMEOUT_MS,
  DEFAULT_HANDSHAKE_TIMEOUT_MS,
  DEFAULT_IDLE_TIMEOUT_MS,
  DEFAULT_MAX_CONNECTIONS,
  DEFAULT_MAX_IN_FLIGHT_BYTES,
  DEFAULT_MAX_IN_FLIGHT_BYTES_PER_CONNECTION,
} from './nbd-constants.js';
import { describeError } from './nbd-error-mapping.js';
import type { NbdExport } from './nbd-export.js';
import { type NbdLog, safeLog } from './nbd-log.js';
import { type NbdTlsOptions, NbdTlsUpgrader } from './nbd-tls.js';
import { SharedBudget } from './shared-budget.js';

/** Options of {@link startNbdServer}. */
export interface NbdServerOptions {
  /** Address to bind; loopback unless {@link allowNonLoopback}. */
  readonly host: string;
  /** TCP port; 0 picks a free one (see {@link NbdServer.address}). */
  readonly port: number;
  /** The export a client names; '' is the default export. */
  readonly exports: (name: string) => NbdExport | undefined;
  /** Every export, for NBD_OPT_LIST (`nbdinfo --list`). */
  readonly listExports: () => readonly NbdExport[];
  /**
   * Permit a non-loopback address without required TLS. Plain NBD has no authentication: anyone
   * who can connect can write. With `tls.mode` 'require' a non-loopback address needs no permission.
   */
  readonly allowNonLoopback?: boolean;
  /** NBD_OPT_STARTTLS with these credentials; without, the server is NOTLS (STARTTLS: ERR_UNSUP). */
  readonly tls?: NbdTlsOptions;
  /** Bound on payload and reply bytes held per connection (default 64 MiB). */
  readonly maxInFlightBytesPerConnection?: number;
  /** Bound on payload and reply bytes held by all connections together (default 256 MiB). */
  readonly maxInFlightBytes?: number;
  /** Longest a request waits for the shared budget before it is answered ENOMEM (default 30 s). */
  readonly budgetWaitMs?: number;
  /**
   * Bound on simultaneous connections (default 256). At the cap a new connection is served and
   * the connection idle the longest is closed; it is refused only when every one is busy.
   */
  readonly maxConnections?: number;
  /** Time a client has to finish option haggling (default 10 s). */
  readonly handshakeTimeoutMs?: number;
  /** After the handshake, a connection with nothing in flight is closed after this long idle (default 10 min; 0: never). */
  readonly idleTimeoutMs?: number;
  /** Where to report; silent by default. */
  readonly log?: NbdLog;
}

/** Where the server listens. */
export interface NbdServerAddress {
  /** Address actually bound. */
  readonly host: string;
  /** Port actually bound. */
  readonly port: number;
}

/** Options of {@link NbdServer.close}. */
export interface NbdCloseOptions {
  /**
   * True (default): stop accepting, let in-flight requests finish, flush every export in use, then
   * close the sockets. False: destroy the sockets at once.
   */
  readonly graceful?: boolean;
  /** Bound on the graceful wait; sockets still open after it are destroyed (default 30 s). */
  readonly timeoutMs?: number;
}

/** A running NBD server. */
export interface NbdServer {
  /** Where it listens. */
  readonly address: NbdServerAddress;
  /** Connections open now (including those still finishing in-flight requests). */
  readonly connections: number;
  /** The most payload and reply bytes any connection has held at once: evidence of the bound. */
  readonly peakInFlightBytesPerConnection: number;
  /** Payload and reply bytes held by all connections now (the shared budget's counter). */
  readonly inFlightBytes: number;
  /** The most payload and reply bytes all connections held at once: evidence of the total bound. */
  readonly peakInFlightBytes: number;
  /** Idle connections closed to make room at the connection cap, and new ones refused at it. */
  readonly capped: { readonly evictions: number; readonly refusals: number };
  /** Stop the server (see {@link NbdCloseOptions}); idempotent. */
  close(options?: NbdCloseOptions): Promise<void>;
}

const LOOPBACK = new BlockList();
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4');
LOOPBACK.addAddress('::1', 'ipv6');
LOOPBACK.addSubnet('::ffff:127.0.0.0', 104, 'ipv6');

/** True for 127.0.0.0/8, ::1 and `localhost`; host names are not resolved, so they count as non-loopback. */
export function isLoopbackHost(host: string): boolean {
  if (host === 'localhost') return true;
  const family = isIP(host);
  if (family === 4) return LOOPBACK.check(host, 'ipv4');
  if (family === 6) return LOOPBACK.check(host, 'ipv6');
  return false;
}

function checkPositive(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new InvalidArgumentError(`${name} must be a positive whole number, got ${value}`);
  }
  return value;
}

/** Reference-counted range locks, one per export name, shared by that export's connections. */
class ExportLocks {
  private readonly locks = new Map<string, { lock: RangeLock; users: number }>();

  acquire(name: string): RangeLock {
    let entry = this.locks.get(name);
    if (!entry) {
      entry = { lock: new RangeLock(), users: 0 };
      this.locks.set(name, entry);
    }
    entry.users += 1;
    return entry.lock;
  }

  release(name: string): void {
    const entry = this.locks.get(name);
    if (!entry) return;
    entry.users -= 1;
    if (entry.users <= 0) this.locks.delete(name);
  }
}

/** The bounds a server runs with, checked. */
interface NbdServerLimits {
  readonly maxInFlightBytes: number;
  readonly maxTotalInFlightBytes: number;
  readonly budgetWaitMs: number;
  readonly maxConnections: number;
  readonly handshakeTimeoutMs: number;
  readonly idleTimeoutMs: number;
}

/** Check the address and the bounds; warn about a permitted non-loopback address. */
function checkOptions(options: NbdServerOptions, log: NbdLog): NbdServerLimits {
  // Required TLS authenticates every client (certificate or key) before it learns of the export.
  if (!isLoopbackHost(options.host) && options.tls?.mode !== 'require') {
    if (!options.allowNonLoopback) {
      throw new InvalidArgumentError(
        `refusing to serve NBD on non-loopback address ${options.host}: the NBD protocol has no ` +
          'authentication, so anyone who can reach it can read and write the volume; require TLS or set allowNonLoopback to do it anyway',
      );
    }
    log(
      'warn',
      `NBD server on non-loopback address ${options.host}: no authentication, any peer can read and write`,
    );
  }
  if (!Number.isInteger(options.port) || options.port < 0 || options.port > 65535) {
    throw new InvalidArgumentError(`NBD port must be 0..65535, got ${options.port}`);
  }
  return {
    maxInFlightBytes: checkPositive(
      'maxInFlightBytesPerConnection',
      options.maxInFlightBytesPerConnection,
      DEFAULT_MAX_IN_FLIGHT_BYTES_PER_CONNECTION,
    ),
    maxTotalInFlightBytes: checkPositive(
      'maxInFlightBytes',
      options.maxInFlightBytes,
      DEFAULT_MAX_IN_FLIGHT_BYTES,
    ),
    budgetWaitMs: checkPositive('budgetWaitMs', options.budgetWaitMs, DEFAULT_BUDGET_WAIT_MS),
    maxConnections: checkPositive('maxConnections', options.maxConnections, DEFAULT_MAX_CONNECTIONS),
    handshakeTimeoutMs: checkPositive(
      'handshakeTimeoutMs',
      options.handshakeTimeoutMs,
      DEFAULT_HANDSHAKE_TIMEOUT_MS,
    ),
    idleTimeoutMs:
      options.idleTimeoutMs === 0
        ? 0
        : checkPositive('idleTimeoutMs', options.idleTimeoutMs, DEFAULT_IDLE_TIMEOUT_MS),
  };
}

/** The export a client names; '' (e.g. `nbd://host:port` with no path) is the only export, if there is one. */
function exportLookup(options: NbdServerOptions): (name: string) => NbdExport | undefined {
  return (name) => {
    const found = options.exports(name);
    if (found || name !== '') return found;
    const all = options.listExports();
    return all.length === 1 ? all[0] : undefined;
  };
}

/** Why a listen failed, for the operator. */
function listenFailure(host: string, port: number, error: Error): IoError {
  const code = (error as { code?: unknown }).code;
  const address = `${host.includes(':') ? `[${host}]` : host}:${port}`;
  const why =
    code === 'EADDRINUSE'
      ? 'another program listens there'
      : code === 'EACCES'
        ? 'permission denied (ports below 1024 need privileges)'
        : code === 'EADDRNOTAVAIL'
          ? 'no local interface has that address'
          : error.message;
  return new IoError(`NBD server cannot listen on ${address}: ${why}`, { cause: error });
}

/** What every connection of one server shares: exports, their range locks, the bounds, the log. */
function servicesOf(
  options: NbdServerOptions,
  limits: NbdServerLimits,
  sharedBudget: SharedBudget,
  log: NbdLog,
): ConnectionServices {
  const lookup = exportLookup(options);
  const locks = new ExportLocks();
  const tls = options.tls && new NbdTlsUpgrader(options.tls);
  return {
    exports: { lookup, list: () => options.listExports() },
    acquireExportLock: (name) => locks.acquire(name),
    releaseExportLock: (name) => locks.release(name),
    maxInFlightBytes: limits.maxInFlightBytes,
    sharedBudget,
    handshakeTimeoutMs: limits.handshakeTimeoutMs,
    idleTimeoutMs: limits.idleTimeoutMs,
    log,
    ...(tls ? { tls } : {}),
  };
}

/** Listen, rejecting with an IoError naming the address (its cause the listen error: in use, permission). */
function listen(server: Server, host: string, port: number): Promise<NbdServerAddress> {
  return new Promise<NbdServerAddress>((resolve, reject) => {
    const onError = (error: Error) => reject(listenFailure(host, port, error));
    server.once('error', onError);
    server.listen({ host, port }, () => {
      server.off('error', onError);
      const bound = server.address() as AddressInfo;
      resolve({ host: bound.address, port: bound.port });
    });
  });
}

/**
 * Start an NBD server (fixed newstyle, TLS by STARTTLS when `tls` is given) serving the given exports. Rejects with an
 * InvalidArgumentError for a non-loopback host without `allowNonLoopback`, or with an IoError
 * naming the address when it cannot listen (its `cause` the system error).
 */
export async function startNbdServer(options: NbdServerOptions): Promise<NbdServer> {
  const log = safeLog(options.log);
  const limits = checkOptions(options, log);
  const connections = new Set<NbdConnection>();
  const shared = new SharedBudget(limits.maxTotalInFlightBytes, limits.budgetWaitMs);
  const services = servicesOf(options, limits, shared, log);
  const cap = new ConnectionCap(limits.maxConnections, log);
  let peakInFlightBytes = 0;
  let closing: Promise<void> | undefined;

  // No `server.maxConnections`: Node would refuse at the cap, and idle connections would lock
  // new clients out. The cap's policy is ConnectionCap's.
  const server: Server = createServer({ allowHalfOpen: true, noDelay: true });
  server.on('connection', (socket: Socket) => {
    if (closing || !cap.admit(connections)) {
      socket.destroy();
      return;
    }
    const label = `nbd ${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`;
    const connection = new NbdConnection(socket, services, label);
    connections.add(connection);
    void connection.finished.then(() => {
      peakInFlightBytes = Math.max(peakInFlightBytes, connection.peakInFlightBytes);
      connections.delete(connection);
    });
    connection.start();
  });
  server.on('error', (error) => log('error', `NBD server error: ${describeError(error)}`));

  const address = await listen(server, options.host, options.port);
  log('info', `NBD server listening on ${address.host}:${address.port}`);
  return {
    address,
    get connections() {
      return connections.size;
    },
    get peakInFlightBytesPerConnection() {
      let peak = peakInFlightBytes;
      for (const connection of connections) peak = Math.max(peak, connection.peakInFlightBytes);
      return peak;
    },
    get inFlightBytes() {
      return shared.inFlightBytes;
    },
    get peakInFlightBytes() {
      return shared.peakInFlightBytes;
    },
    get capped() {
      return { evictions: cap.evictions, refusals: cap.refusals };
    },
    close(closeOptions?: NbdCloseOptions): Promise<void> {
      closing ??= shutdown(server, [...connections], {
        graceful: closeOptions?.graceful ?? true,
        timeoutMs: closeOptions?.timeoutMs ?? DEFAULT_GRACEFUL_CLOSE_TIMEOUT_MS,
        log,
      });
      return closing;
    },
  };
}

/**
 * Stop accepting, then either let the open connections finish their in-flight requests and flush
 * the exports they use (graceful) or destroy them; whatever is still open after `timeoutMs` is
 * destroyed.
 */
async function shutdown(
  server: Server,
  open: readonly NbdConnection[],
  options: { graceful: boolean; timeoutMs: number; log: NbdLog },
): Promise<void> {
  const { graceful, timeoutMs, log } = options;
  const serverClosed = new Promise<void>((resolve) => server.close(() => resolve()));
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), timeoutMs);
  });
  const work = async (): Promise<void> => {
    if (graceful) {
      await Promise.all(open.map((connection) => connection.quiesce()));
      await flushExports(open, log);
      for (const connection of open) connection.close();
    } else {
      for (const connection of open) connection.destroy();
    }
    await Promise.all(open.map((connection) => connection.finished));
  };
  const outcome = await Promise.race([work(), timedOut]);
  clearTimeout(timer);
  if (outcome === 'timeout') {
    log(
      'warn',
      `NBD server close: in-flight requests still pending after ${timeoutMs} ms; dropping connections`,
    );
    for (const connection of open) connection.destroy();
  }
  await serverClosed;
  log('info', 'NBD server closed');
}

/** Flush each export in use once; a failing flush is reported, not thrown (the close goes on). */
async function flushExports(open: readonly NbdConnection[], log: NbdLog): Promise<void> {
  const exports = new Map<string, NbdExport>();
  for (const connection of open) {
    const exp = connection.export;
    if (exp && !exp.readOnly) exports.set(exp.name, exp);
  }
  await Promise.all(
    [...exports.values()].map(async (exp) => {
      try {
        await exp.flush();
      } catch (error) {
        log('error', `flushing export '${exp.name}' during NBD server close failed: ${describeError(error)}`);
      }
    }),
  );
}
