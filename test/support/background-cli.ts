import { type ChildProcess, spawn } from 'node:child_process';
import { SHADOWLOG_BIN } from './shadowlog-bin.js';

/** Which output of the child a wait reads: one stream, or both in the order they arrived. */
export type CliStream = 'stdout' | 'stderr' | 'both';

/** How long a wait polls, and what it reads. */
export interface WaitOptions {
  /** The output to match; `stdout` unless told. */
  readonly stream?: CliStream;
  /** Give up after this long (30 s unless told); the error shows all the child printed. */
  readonly timeoutMs?: number;
}

/** A `shadowlog` child running in the background, with what it has printed so far. */
export interface BackgroundCli {
  /** The child, for its pid or a SIGKILL. */
  readonly process: ChildProcess;
  /** Resolves with the exit code (-1 when a signal ended it) once the child exits. */
  readonly exited: Promise<number>;
  /** All of stdout so far. */
  stdout(): string;
  /** All of stderr so far. */
  stderr(): string;
  /** stdout and stderr so far, interleaved as they arrived. */
  output(): string;
  /**
   * Resolves with the first match of `pattern` in the chosen output once it appears (polls every
   * 50 ms); rejects when the child exits without it or after the timeout, showing its output.
   */
  waitFor(pattern: RegExp, options?: WaitOptions): Promise<RegExpExecArray>;
  /** Sends `signal` and resolves with the exit code. */
  signal(signal: NodeJS.Signals): Promise<number>;
}

/** Poll interval of `waitFor`: short next to a CLI process start, long next to a busy loop. */
const POLL_MS = 50;

/** Start the built `shadowlog` with `args` in the background; stdin is closed. */
export function backgroundCli(args: readonly string[]): BackgroundCli {
  const child = spawn(process.execPath, [SHADOWLOG_BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const text: Record<CliStream, string> = { stdout: '', stderr: '', both: '' };
  // 'close' comes after the last 'data' of both pipes: past it, the output is final.
  let closed = false;
  child.on('close', () => {
    closed = true;
  });
  for (const stream of ['stdout', 'stderr'] as const) {
    child[stream].on('data', (d: Buffer) => {
      text[stream] += d.toString();
      text.both += d.toString();
    });
  }
  const exited = new Promise<number>((resolve) => child.on('exit', (code) => resolve(code ?? -1)));
  const printed = () => `stdout:\n${text.stdout}\nstderr:\n${text.stderr}`;
  return {
    process: child,
    exited,
    stdout: () => text.stdout,
    stderr: () => text.stderr,
    output: () => text.both,
    async waitFor(pattern, options = {}) {
      const deadline = Date.now() + (options.timeoutMs ?? 30_000);
      for (;;) {
        const match = pattern.exec(text[options.stream ?? 'stdout']);
        if (match) return match;
        if (closed) throw new Error(`shadowlog ${args.join(' ')} exited without ${pattern}\n${printed()}`);
        if (Date.now() > deadline)
          throw new Error(`no ${pattern} from shadowlog ${args.join(' ')}\n${printed()}`);
        await new Promise((r) => setTimeout(r, POLL_MS));
      }
    },
    async signal(signal) {
      child.kill(signal);
      return exited;
    },
  };
}

/** A started child and the match of the line that said it was ready. */
export interface ReadyCli {
  /** The running child. */
  readonly cli: BackgroundCli;
  /** What `ready` matched. */
  readonly match: RegExpExecArray;
}

/**
 * `backgroundCli(args)`, resolved once `ready` matches its output (as `waitFor`, with `options`);
 * a child that never gets there is killed (SIGKILL) and the wait's error is thrown.
 */
export async function startCli(
  args: readonly string[],
  ready: RegExp,
  options: WaitOptions = {},
): Promise<ReadyCli> {
  const cli = backgroundCli(args);
  try {
    return { cli, match: await cli.waitFor(ready, options) };
  } catch (error) {
    cli.process.kill('SIGKILL');
    throw error;
  }
}
