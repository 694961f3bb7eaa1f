import type { Command } from 'commander';
import { assert, InvalidArgumentError } from '../../../domain/errors.js';
import { type CommandContext, contextOf } from '../command-context.js';

/**
 * The suites of bench/suites.ts, by name. Listed here so `--help` and argument checks need not
 * load bench/ (it is not part of the runtime); `runBench` asserts the two lists agree.
 */
export const BENCH_SUITE_NAMES = [
  'log',
  'write-path',
  'dashboard',
  'copy',
  'nbd',
  'follow',
  'nbd-tls',
] as const;

/** Options of `shadowlog bench`. */
interface BenchOptions {
  readonly quick?: boolean;
  readonly dir?: string;
}

/** `shadowlog bench <suite>|all`: benchmarks (not tests) printing JSON. */
export function registerBench(program: Command): void {
  program
    .command('bench <suite>')
    .description(`run a benchmark suite: ${BENCH_SUITE_NAMES.join(', ')}, or all (a markdown table)`)
    .option('--quick', 'shorter runs on smaller data (for smoke checks; numbers are not comparable)')
    .option('--dir <dir>', 'where to put temporary files (default the system temp dir: same disk matters)')
    .action((suite: string, options: BenchOptions, command: Command) =>
      runBench(contextOf(command), suite, options),
    );
}

async function runBench(ctx: CommandContext, suite: string, options: BenchOptions): Promise<void> {
  const names: readonly string[] = suite === 'all' ? BENCH_SUITE_NAMES : [suite];
  for (const name of names) {
    if (!(BENCH_SUITE_NAMES as readonly string[]).includes(name)) {
      throw new InvalidArgumentError(
        `unknown bench suite '${name}': use one of ${BENCH_SUITE_NAMES.join(', ')}, all`,
      );
    }
  }
  // Loaded only now: bench/ is no part of the package's runtime, so other commands never load it.
  const { BENCH_SUITES } = await import('../../../bench/suites.js');
  assert(
    Object.keys(BENCH_SUITES).join() === BENCH_SUITE_NAMES.join(),
    `bench suites ${Object.keys(BENCH_SUITES).join(', ')} differ from the CLI's list ${BENCH_SUITE_NAMES.join(', ')}`,
  );
  const results: object[] = [];
  for (const name of names) {
    ctx.output.note(`bench ${name}: running...`);
    results.push(await BENCH_SUITES[name]!({ quick: options.quick, dir: options.dir }));
  }
  if (suite !== 'all') {
    const only = results[0]!;
    ctx.output.result(only, () => ctx.output.line(JSON.stringify(only, null, 2)));
    return;
  }
  ctx.output.result({ results }, () => printTable(ctx, results));
}

function printTable(ctx: CommandContext, results: readonly object[]): void {
  ctx.output.line('| suite | metric | value |');
  ctx.output.line('| --- | --- | --- |');
  for (const r of results) {
    for (const [key, value] of flatten(r)) {
      if (key !== 'suite')
        ctx.output.line(`| ${(r as { suite: string }).suite} | ${key} | ${formatValue(value)} |`);
    }
  }
}

function flatten(value: object, prefix = ''): [string, unknown][] {
  const out: [string, unknown][] = [];
  for (const [k, v] of Object.entries(value)) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) out.push(...flatten(v, key));
    else out.push([key, v]);
  }
  return out;
}

function formatValue(value: unknown): string {
  if (typeof value !== 'number' || Number.isInteger(value)) return String(value);
  return Math.abs(value) >= 100 ? String(Math.round(value)) : value.toFixed(3);
}
