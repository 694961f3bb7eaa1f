import { type ChildProcess, spawn } from 'node:child_process';
import { startCli } from './background-cli.js';
import { SHADOWLOG_BIN } from './shadowlog-bin.js';

export { SHADOWLOG_BIN };

/** What a finished command printed and returned. */
export interface CliResult {
  /** The exit code (-1 when a signal ended it). */
  readonly code: number;
  /** All it wrote to stdout. */
  readonly stdout: string;
  /** All it wrote to stderr. */
  readonly stderr: string;
}

/** Run `shadowlog` with arguments; resolves when it exits (bounded by `timeoutMs`). */
export function shadowlog(
  args: readonly string[],
  options: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [SHADOWLOG_BIN, ...args], {
      env: { ...process.env, ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`shadowlog ${args.join(' ')} timed out\n${stderr}`));
    }, options.timeoutMs ?? 60_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, stderr });
    });
  });
}

/** `shadowlog ... --json`, parsed; fails with stderr when the exit code is not 0. */
export async function shadowlogJson<T>(args: readonly string[]): Promise<T> {
  const result = await shadowlog([...args, '--json']);
  if (result.code !== 0)
    throw new Error(`shadowlog ${args.join(' ')} exited ${result.code}: ${result.stderr}`);
  return JSON.parse(result.stdout) as T;
}

/** A `shadowlog serve` in the background. */
export interface RunningServer {
  /** The `serve` child, for its pid or a SIGKILL. */
  readonly process: ChildProcess;
  /** `nbd://127.0.0.1:PORT/SET` */
  readonly uri: string;
  /** Sends SIGTERM and resolves with the exit code. */
  stop(): Promise<number>;
}

/** Start `shadowlog serve` on random ports; resolves once it serves (SIGKILL after 30 s without). */
export async function serve(home: string, set: string): Promise<RunningServer> {
  const { cli, match } = await startCli(
    ['--home', home, 'serve', set, '--nbd', '127.0.0.1:0'],
    /NBD (nbd:\/\/\S+)/,
    {
      stream: 'stderr',
    },
  );
  return { process: cli.process, uri: match[1]!.replace(/,$/, ''), stop: () => cli.signal('SIGTERM') };
}
