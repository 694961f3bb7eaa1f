import { ControlClient } from '../http/control-client.js';
import { findServer } from './server-info.js';
import type { SetPaths } from './set-home.js';

export type { MountPolicy } from '../http/control-api.js';
export type { ControlClient } from '../http/control-client.js';

/**
 * A client of the set's running server (`shadowlog serve`), or null when none runs: commands
 * then go through the server, which holds the set's log, instead of opening it themselves.
 */
export async function findControlClient(paths: SetPaths): Promise<ControlClient | null> {
  const server = await findServer(paths);
  return server ? new ControlClient(server.info, server.token) : null;
}
