import type { Command } from 'commander';
import { InvalidArgumentError } from '../../../domain/errors.js';
import { type HostPort, serveSet } from '../../composition-root/serve-set.js';
import { type CommandContext, contextOf } from '../command-context.js';
import { parseCount } from '../size-argument.js';

/** Options of `shadowlog serve`. */
interface ServeOptions {
  readonly nbd: string;
  readonly http: string;
  readonly allowRemote?: boolean;
  readonly maxCopies: string;
  readonly copyRate?: string;
}

/** Parse HOST:PORT. */
export function parseHostPort(name: string, text: string): HostPort {
  const match = /^(\[[0-9a-fA-F:]+\]|[^:]+):(\d{1,5})$/.exec(text.trim());
  const port = match ? Number(match[2]) : Number.NaN;
  if (!match || port > 65_535)
    throw new InvalidArgumentError(`${name} '${text}' is invalid: give HOST:PORT, e.g. 127.0.0.1:10809`);
  return { host: match[1]!.replace(/^\[|\]$/g, ''), port };
}

/** `shadowlog serve <set> [--nbd HOST:PORT] [--http HOST:PORT]` */
export function registerServe(program: Command): void {
  program
    .command('serve <set>')
    .description('serve the set as an NBD export and a control API until SIGTERM/SIGINT')
    .option('--nbd <host:port>', 'NBD listen address', '127.0.0.1:10809')
    .option(
      '--http <host:port>',
      'control API listen address (default 127.0.0.1, random port)',
      '127.0.0.1:0',
    )
    .option('--allow-remote', 'allow a non-loopback NBD address (the NBD protocol has no authentication)')
    .option('--max-copies <n>', 'copies running at once (OpenVMS SHADOW_MAX_COPY)', '2')
    .option('--copy-rate <MiB/s>', 'copy bandwidth limit (default unlimited)')
    .action((set: string, options: ServeOptions, command: Command) =>
      serve(contextOf(command), set, options),
    );
}

async function serve(ctx: CommandContext, set: string, options: ServeOptions): Promise<void> {
  const paths = ctx.paths(set);
  const nbd = parseHostPort('--nbd', options.nbd);
  const http = parseHostPort('--http', options.http);
  const tuning = {
    maxCopies: parseCount('--max-copies', options.maxCopies, 1),
    copyRateMiBps:
      options.copyRate === undefined ? undefined : parseCount('--copy-rate', options.copyRate, 1),
  };
  const log = (line: string) => ctx.output.note(line);
  await serveSet(
    paths,
    ctx.home,
    { nbd, http, allowRemote: options.allowRemote === true, tuning, log },
    async (served) => {
      ctx.output.note(
        `serving ${set}: NBD nbd://${served.nbdAddress}/${set}, control API http://${served.controlAddress} (pid ${served.pid})`,
      );
      await waitForSignal();
      ctx.output.note('stopping: finishing in-flight requests, flushing members, recording MembersSynced');
    },
  );
}

function waitForSignal(): Promise<void> {
  return new Promise((resolve) => {
    const stop = () => {
      process.off('SIGTERM', stop);
      process.off('SIGINT', stop);
      resolve();
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
  });
}
