import type { Command } from 'commander';
import { InvalidArgumentError, LogLockedError } from '../../../domain/errors.js';
import { startControlServer } from '../../http/control-server.js';
import { findServer, newControlToken, publishServer, withdrawServer } from '../../http/server-info.js';
import { isLoopbackHost } from '../../nbd/nbd-server.js';
import { startSetNbdServer } from '../../nbd/shadow-set-export.js';
import { contextOf } from '../command-context.js';
import { withEngine } from '../set-access.js';
import { parseCount } from '../size-argument.js';

/** Parse HOST:PORT. */
export function parseHostPort(name: string, text: string): { host: string; port: number } {
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
    .action(
      async (
        set: string,
        options: { nbd: string; http: string; allowRemote?: boolean; maxCopies: string; copyRate?: string },
        command: Command,
      ) => {
        const ctx = contextOf(command);
        const paths = ctx.paths(set);
        const nbd = parseHostPort('--nbd', options.nbd);
        const http = parseHostPort('--http', options.http);
        if (!isLoopbackHost(http.host))
          throw new InvalidArgumentError(
            '--http must be a loopback address: the control API is for local commands only',
          );
        const running = await findServer(paths);
        if (running)
          throw new LogLockedError(
            `shadow set '${set}' is already served by pid ${running.info.pid} (${running.info.http})`,
          );
        await withEngine(
          paths,
          ctx.home,
          async (unit) => {
            const nbdServer = await startSetNbdServer(unit, set, {
              host: nbd.host,
              port: nbd.port,
              allowNonLoopback: options.allowRemote === true,
              log: (line) => ctx.output.note(line),
            });
            let control: Awaited<ReturnType<typeof startControlServer>> | null = null;
            try {
              const token = newControlToken();
              control = await startControlServer({ unit, host: http.host, port: http.port, token });
              await publishServer(
                paths,
                {
                  pid: process.pid,
                  http: control.address,
                  nbd: nbdServer.addressText,
                  startedAt: new Date().toISOString(),
                },
                token,
              );
              ctx.output.note(
                `serving ${set}: NBD nbd://${nbdServer.addressText}/${set}, control API http://${control.address} (pid ${process.pid})`,
              );
              await waitForSignal();
              ctx.output.note(
                'stopping: finishing in-flight requests, flushing members, recording MembersSynced',
              );
            } finally {
              await control?.close();
              await nbdServer.close();
              await withdrawServer(paths);
            }
          },
          (w) => ctx.output.note(w),
          {
            maxCopies: parseCount('--max-copies', options.maxCopies, 1),
            copyRateMiBps:
              options.copyRate === undefined ? undefined : parseCount('--copy-rate', options.copyRate, 1),
          },
        );
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
