import { readFile } from 'node:fs/promises';
import { IoError } from '../../domain/errors.js';
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
  if (!server) return null;
  const { info } = server;
  const caFile = info.caCertFile;
  const ca =
    caFile === undefined
      ? undefined
      : await readFile(caFile).catch((error: Error) => {
          throw new IoError(
            `the server of this set serves https with CA ${caFile}, which cannot be read (${error.message}): restore the file or restart the server`,
          );
        });
  return new ControlClient({ ...info, ...(ca ? { ca } : {}) }, server.token);
}
