import type { Command } from 'commander';
import { contextOf } from '../command-context.js';
import { audit } from './audit.js';
import { explain } from './explain.js';
import { show } from './show.js';

/** `show`, `audit` and `explain`: read-only, from the log (safe while a server runs). */
export function registerInspect(program: Command): void {
  program
    .command('show <set>')
    .description(
      'members, position and geometry; --bitmap lists the bitmaps (SHOW DEVICE/BITMAP); --at travels back',
    )
    .option('--bitmap', 'list the write bitmaps and the minimerge bitmap')
    .option('--at <position|ISO-time>', 'show the set as it was at that position or time')
    .action((set: string, options: { bitmap?: boolean; at?: string }, command: Command) =>
      show(contextOf(command), set, options),
    );

  program
    .command('audit <set>')
    .description('the exact LBN ranges written, trimmed or zeroed in a window, merged')
    .option('--from <position|ISO-time>', 'start of the window (inclusive)')
    .option('--to <position|ISO-time>', 'end of the window (inclusive)')
    .option('--lbn <START-END>', 'only these blocks')
    .action((set: string, options: { from?: string; to?: string; lbn?: string }, command: Command) =>
      audit(contextOf(command), set, options),
    );

  program
    .command('explain <set>')
    .description(
      'every copy and merge with its decision and reason; --chunk N: the writes that marked a chunk',
    )
    .option('--member <member>', 'only copies to this member (id or path)')
    .option('--chunk <n>', 'which write events marked chunk N, per bitmap')
    .action((set: string, options: { member?: string; chunk?: string }, command: Command) =>
      explain(contextOf(command), set, options),
    );
}
