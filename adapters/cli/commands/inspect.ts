import type { Command } from 'commander';
import { contextOf } from '../command-context.js';
import { POINT_FORMS } from '../point-argument.js';
import { audit } from './audit.js';
import { explain } from './explain.js';
import { show } from './show.js';

/** `show`, `audit` and `explain`: read-only, from the log (safe while a server runs). */
export function registerInspect(program: Command): void {
  program
    .command('show [set]')
    .description(
      'members, position and geometry; --bitmap lists the bitmaps (SHOW DEVICE/BITMAP); --at travels back',
    )
    .option('--bitmap', 'list the write bitmaps and the minimerge bitmap')
    .option('--at <point>', `show the set as it was then: ${POINT_FORMS}`)
    .option('--watch', 'redraw as the set changes (a terminal); on a pipe one line per change; until Ctrl-C')
    .option('--log <dir>', 'read a log folder or an incident bundle (log export) instead of a set')
    .action(
      (
        set: string | undefined,
        options: { bitmap?: boolean; at?: string; watch?: boolean; log?: string },
        command: Command,
      ) => show(contextOf(command), set, options),
    );

  program
    .command('audit [set]')
    .description('the exact LBN ranges written, trimmed or zeroed in a window, merged')
    .option('--from <point>', `start of the window (inclusive): ${POINT_FORMS}`)
    .option('--to <point>', 'end of the window (inclusive), same forms')
    .option('--lbn <START-END>', 'only these blocks')
    .option('--log <dir>', 'read a log folder or an incident bundle (log export) instead of a set')
    .action(
      (
        set: string | undefined,
        options: { from?: string; to?: string; lbn?: string; log?: string },
        command: Command,
      ) => audit(contextOf(command), set, options),
    );

  program
    .command('explain <set>')
    .description(
      'every copy and merge with its decision and reason; --chunk N: the writes that marked a chunk',
    )
    .option('--member <member>', 'only copies to this member (id or path)')
    .option('--chunk <n>', 'which write events marked chunk N, per bitmap')
    .option('--from <point>', `only copies and merges starting at or after: ${POINT_FORMS}`)
    .option('--to <point>', 'only copies and merges starting at or before (the set as of then)')
    .action(
      (
        set: string,
        options: { member?: string; chunk?: string; from?: string; to?: string },
        command: Command,
      ) => explain(contextOf(command), set, options),
    );
}
