import type { Command } from 'commander';
import { contextOf } from '../command-context.js';
import { logCheck } from './log-check.js';
import { replay } from './replay.js';
import { verify } from './verify.js';

/** `replay`, `verify` and `log check`. */
export function registerMaintenance(program: Command): void {
  program
    .command('replay [set]')
    .description("rebuild every projection from the set's log, or from a copied log (--log), up to --until")
    .option('--log <path>', "a log directory copied from an incident, instead of the set's")
    .option('--until <position|ISO-time>', 'stop after this position or time')
    .action((set: string | undefined, options: { log?: string; until?: string }, command: Command) =>
      replay(contextOf(command), set, options),
    );

  program
    .command('verify <set>')
    .description(
      'compare all valid members block by block and report differing LBN ranges (online with a server)',
    )
    .action((set: string, _options: unknown, command: Command) => verify(contextOf(command), set));

  program
    .command('log')
    .description('log maintenance')
    .command('check <set>')
    .description("verify every record's CRC; report a torn tail and corruption with segment and offset")
    .action((set: string, _options: unknown, command: Command) => logCheck(contextOf(command), set));
}
