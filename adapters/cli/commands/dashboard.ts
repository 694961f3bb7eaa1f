import type { Command } from 'commander';
import { InvalidArgumentError } from '../../../domain/errors.js';
import { type DashboardLog, serveDashboard } from '../../composition-root/dashboard-serve.js';
import { type CommandContext, contextOf } from '../command-context.js';
import { waitForStopSignal } from '../stop-signal.js';
import { parseHostPort } from './serve.js';

/** Options of `shadowlog dashboard`. */
interface DashboardOptions {
  readonly log?: string;
  readonly http: string;
}

/** `shadowlog dashboard <set> | --log DIR [--http HOST:PORT]` */
export function registerDashboard(program: Command): void {
  program
    .command('dashboard [set]')
    .description(
      "serve the dashboard read-only over the set's log (or --log DIR), no engine, until SIGTERM/SIGINT",
    )
    .option('--log <dir>', "a log folder instead of a set (an incident's log, a copy of <home>/<set>/log)")
    .option('--http <host:port>', 'listen address (default 127.0.0.1, random port)', '127.0.0.1:0')
    .action((set: string | undefined, options: DashboardOptions, command: Command) =>
      dashboard(contextOf(command), set, options),
    );
}

async function dashboard(
  ctx: CommandContext,
  set: string | undefined,
  options: DashboardOptions,
): Promise<void> {
  if ((set === undefined) === (options.log === undefined)) {
    throw new InvalidArgumentError('give a set or --log DIR (one of them)');
  }
  const http = parseHostPort('--http', options.http);
  const log: DashboardLog =
    options.log !== undefined
      ? { kind: 'dir', dir: options.log }
      : { kind: 'set', paths: ctx.paths(set as string), home: ctx.home };
  await serveDashboard(log, { http, onWarning: (m) => ctx.warn(m) }, async (served) => {
    ctx.output.result({ dashboard: served }, () => ctx.output.line(`dashboard: ${served.url}`));
    await waitForStopSignal();
  });
}
