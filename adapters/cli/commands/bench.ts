import type { Command } from 'commander';
import { BENCH_SUITES } from '../../../bench/suites.js';
import { InvalidArgumentError } from '../../../domain/errors.js';
import { contextOf } from '../command-context.js';

/** `shadowlog bench <suite>|all`: benchmarks (not tests) printing JSON. */
export function registerBench(program: Command): void {
  program
    .command('bench <suite>')
    .description(`run a benchmark suite: ${Object.keys(BENCH_SUITES).join(', ')}, or all (a markdown table)`)
    .option('--quick', 'shorter runs on smaller data (for smoke checks; numbers are not comparable)')
    .option('--dir <dir>', 'where to put temporary files (default the system temp dir: same disk matters)')
    .action(async (suite: string, options: { quick?: boolean; dir?: string }, command: Command) => {
      const ctx = contextOf(command);
      const names = suite === 'all' ? Object.keys(BENCH_SUITES) : [suite];
      for (const name of names) {
        if (!BENCH_SUITES[name]) {
          throw new InvalidArgumentError(
            `unknown bench suite '${name}': use one of ${Object.keys(BENCH_SUITES).join(', ')}, all`,
          );
        }
      }
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
      ctx.output.result({ results }, () => {
        ctx.output.line('| suite | metric | value |');
        ctx.output.line('| --- | --- | --- |');
        for (const r of results) {
          for (const [key, value] of flatten(r)) {
            if (key !== 'suite')
              ctx.output.line(`| ${(r as { suite: string }).suite} | ${key} | ${formatValue(value)} |`);
          }
        }
      });
    });
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
