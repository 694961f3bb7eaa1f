import { InvalidArgumentError, LogLockedError } from '../../domain/errors.js';
import type { VirtualUnit } from '../../processes/virtual-unit.js';
import { type ControlServer, startControlServer } from '../http/control-server.js';
import { isLoopbackHost } from '../nbd/nbd-server.js';
import { startSetNbdServer } from '../nbd/shadow-set-export.js';
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
  /** Where the control API listens; must be loopback. */
  readonly http: HostPort;
  /** Permit a non-loopback NBD address (the NBD protocol has no authentication). */
  readonly allowRemote: boolean;
  /** Engine options. */
  readonly tuning: EngineTuning;
  /** Operator notes: NBD server events and recovery warnings. */
  readonly log: (line: string) => void;
}

/** A set being served, as {@link serveSet} hands it to its caller. */
export interface ServedSet {
  /** This process's id (the one in server.json). */
  readonly pid: number;
  /** `host:port` of the NBD server (IPv6 in brackets). */
  readonly nbdAddress: string;
  /** `host:port` of the control API. */
  readonly controlAddress: string;
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
  if (!isLoopbackHost(options.http.host))
    throw new InvalidArgumentError(
      '--http must be a loopback address: the control API is for local commands only',
    );
  const running = await findServer(paths);
  if (running)
    throw new LogLockedError(
      `shadow set '${paths.set}' is already served by pid ${running.info.pid} (${running.info.http})`,
    );
  await withEngine(
    paths,
    home,
    (unit) => serveUnit(unit, paths, options, whileServing),
    options.log,
    options.tuning,
  );
}

async function serveUnit(
  unit: VirtualUnit,
  paths: SetPaths,
  options: ServeSetOptions,
  whileServing: (served: ServedSet) => Promise<void>,
): Promise<void> {
  const nbdServer = await startSetNbdServer(unit, paths.set, {
    host: options.nbd.host,
    port: options.nbd.port,
    allowNonLoopback: options.allowRemote,
    log: options.log,
  });
  let control: ControlServer | null = null;
  try {
    const token = newControlToken();
    control = await startControlServer({ unit, host: options.http.host, port: options.http.port, token });
    const served: ServedSet = {
      pid: process.pid,
      nbdAddress: nbdServer.addressText,
      controlAddress: control.address,
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
    await nbdServer.close();
    await withdrawServer(paths);
  }
}
