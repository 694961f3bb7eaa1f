import type { VirtualUnit } from '../../processes/virtual-unit.js';
import { withEngine } from '../composition-root/open-set.js';
import { type ControlClient, findControlClient } from '../composition-root/set-control.js';
import type { SetPaths } from '../composition-root/set-home.js';
import { requireSet } from '../composition-root/set-store.js';
import type { CommandContext } from './command-context.js';

/**
 * Run a command on a set the one way that is safe: through its server when one runs (it holds
 * the log's writer lock), else with the engine opened in this process.
 */
export async function throughServerOrEngine<T>(
  ctx: CommandContext,
  paths: SetPaths,
  viaServer: (client: ControlClient) => Promise<T>,
  inProcess: (unit: VirtualUnit) => Promise<T>,
): Promise<T> {
  await requireSet(paths, ctx.home);
  const client = await findControlClient(paths);
  return client ? viaServer(client) : withEngine(paths, ctx.home, inProcess, ctx.warn);
}
