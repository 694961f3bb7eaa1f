import type { Command } from 'commander';
import { InvalidArgumentError } from '../../../domain/errors.js';
import { type HostPort, serveSet } from '../../composition-root/serve-set.js';
import { loadTlsCredentials, type TlsMode } from '../../composition-root/tls-credentials.js';
import { type CommandContext, contextOf } from '../command-context.js';
import { EXIT } from '../exit-codes.js';
import { parseCount } from '../size-argument.js';
import { waitForStopSignal } from '../stop-signal.js';

/**
 * A stop (SIGTERM/SIGINT) ends within this bound: in-flight NBD requests get 5 s, the rest is
 * flushing and one record. Past it (a member that does not answer), the process exits 7 and
 * the next serve runs a crash merge.
 */
const STOP_BOUND_MS = 20_000;

/** Options of `shadowlog serve`. */
interface ServeOptions {
  readonly nbd: string;
  readonly http: string;
  readonly allowRemote?: boolean;
  readonly maxCopies: string;
  readonly copyRate?: string;
  readonly maxConnections: string;
  readonly idleTimeout: string;
  readonly tls?: string;
  readonly tlsCerts?: string;
  readonly tlsPsk?: string;
  readonly tlsVerifyPeer?: boolean;
}

/** `--tls require|on|off`. */
function parseTlsMode(text: string | undefined): TlsMode | undefined {
  if (text === undefined || text === 'require' || text === 'on' || text === 'off') return text;
  throw new InvalidArgumentError(`--tls '${text}' is invalid: give require, on or off`);
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
      'control API and dashboard listen address (default 127.0.0.1, random port)',
      '127.0.0.1:0',
    )
    .option(
      '--allow-remote',
      'allow a non-loopback NBD address without required TLS (plain NBD has no authentication)',
    )
    .option('--tls-certs <dir>', 'x509 credentials: ca-cert.pem, server-cert.pem, server-key.pem')
    .option('--tls-verify-peer', 'require a client certificate signed by ca-cert.pem')
    .option('--tls-psk <file>', 'pre-shared keys, username:hexkey lines (psktool)')
    .option('--tls <mode>', 'require (default with credentials), on (offered) or off')
    .option('--max-copies <n>', 'copies running at once (OpenVMS SHADOW_MAX_COPY)', '2')
    .option('--copy-rate <MiB/s>', 'copy bandwidth limit (default unlimited)')
    .option(
      '--max-connections <n>',
      'most NBD connections at once; at the cap the connection idle the longest is closed',
      '256',
    )
    .option(
      '--idle-timeout <seconds>',
      'close an NBD connection with nothing in flight after this long idle (0: never)',
      '600',
    )
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
  const nbdLimits = {
    maxConnections: parseCount('--max-connections', options.maxConnections, 1),
    idleTimeoutMs: parseCount('--idle-timeout', options.idleTimeout, 0) * 1000,
  };
  const tls = await loadTlsCredentials({
    certsDir: options.tlsCerts,
    pskFile: options.tlsPsk,
    verifyPeer: options.tlsVerifyPeer === true,
    mode: parseTlsMode(options.tls),
  });
  const log = (line: string) => ctx.output.note(line);
  // Lifted once serveSet returns; set when the stop begins.
  const bound = { lift: (): void => undefined };
  try {
    await serveSet(
      paths,
      ctx.home,
      { nbd, http, allowRemote: options.allowRemote === true, tuning, nbdLimits, log, tls },
      async (served) => {
        const scheme = tls.mode === 'require' ? 'nbds' : 'nbd';
        const note = tls.mode === 'on' ? ' (TLS offered)' : '';
        ctx.output.note(
          `serving ${set}: NBD ${scheme}://${served.nbdAddress}/${set}${note}, control API http://${served.controlAddress} (pid ${served.pid})`,
        );
        ctx.output.note(`dashboard: ${served.dashboardUrl}`);
        await waitForStopSignal();
        ctx.output.note('stopping: finishing in-flight requests, flushing members, recording MembersSynced');
        bound.lift = boundStop();
      },
    );
  } finally {
    bound.lift();
  }
}

/**
 * From the first signal on, the stop is bounded: by STOP_BOUND_MS, or at once by a second
 * signal. The timer keeps the process alive on purpose: a stop stuck on a promise nothing will
 * settle would otherwise end with Node's exit code 13, which means nothing to an operator.
 * Returns the function that lifts the bound once the stop is done.
 */
function boundStop(): () => void {
  const abandon = (why: string) => {
    process.stderr.write(
      `shadowlog: ${why}: exiting without recording MembersSynced; the next serve runs a crash merge\n`,
    );
    process.exit(EXIT.io);
  };
  const timer = setTimeout(
    () => abandon(`stop did not finish within ${STOP_BOUND_MS / 1000} s`),
    STOP_BOUND_MS,
  );
  const again = () => abandon('second signal during the stop');
  process.once('SIGTERM', again);
  process.once('SIGINT', again);
  return () => {
    clearTimeout(timer);
    process.off('SIGTERM', again);
    process.off('SIGINT', again);
  };
}
