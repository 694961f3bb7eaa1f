import { CommandRejectedError } from '../../domain/errors.js';
import type { ShadowSetState } from '../../domain/shadow-set-state.js';
import type { Coordination } from './coordination.js';
import type { CoordinationBase } from './coordination-base.js';
import { SharedStreamLog } from './shared-stream-log.js';
import { SingleWriterLog } from './single-writer-log.js';

/** The options that choose and tune the coordination (a subset of `VirtualUnitOptions`). */
export interface CoordinationOptions {
  /** This host's name on a set served by several hosts; omitted for the log's single writer. */
  readonly host?: string;
  /** Several hosts: how long to wait for every host's acknowledgement (default 30 s). */
  readonly acknowledgementTimeoutMs?: number;
  /** Single writer: log application writes (default true). */
  readonly logWrites?: boolean;
  /** Single writer: start the crash merge and resume copies on open (default true). */
  readonly recover?: boolean;
  /** Single writer: how often to record MembersSynced while writes flow (default 1000 ms). */
  readonly syncIntervalMs?: number;
}

/**
 * Choose the coordination once, at open: a host name means several hosts share the stream;
 * none means this engine is the log's single writer, which a set with hosts refuses.
 */
export function chooseCoordination(options: CoordinationOptions, base: CoordinationBase): Coordination {
  assertCoordinationFits(options, base.follower.state.set);
  if (options.host !== undefined) {
    return new SharedStreamLog({
      ...base,
      host: options.host,
      acknowledgementTimeoutMs: options.acknowledgementTimeoutMs ?? 30_000,
    });
  }
  return new SingleWriterLog({
    ...base,
    logWrites: options.logWrites ?? true,
    recover: options.recover ?? true,
    syncIntervalMs: options.syncIntervalMs ?? 1000,
  });
}

/** Throw when the options cannot serve the set: a set served by several hosts needs a host name. */
export function assertCoordinationFits(options: CoordinationOptions, state: ShadowSetState): void {
  if (options.host === undefined && state.hosts.length > 0) {
    throw new CommandRejectedError(
      `${state.setId} is served by hosts ${state.hosts.join(', ')} through a shared store: open it with a host name (--node)`,
    );
  }
}
