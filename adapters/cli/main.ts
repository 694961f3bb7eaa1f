import { Command, CommanderError } from 'commander';
import { ShadowlogError } from '../../domain/errors.js';
import { EXIT, exitCodeFor } from './exit-codes.js';

/** Raised by commands that are planned in DESIGN.md but not built yet. */
class NotAvailableError extends Error {}

function planned(name: string): () => never {
  return () => {
    throw new NotAvailableError(`'shadowlog ${name}' is not yet available in this version`);
  };
}

/** Build the command tree. Exported for tests. */
export function buildProgram(): Command {
  const program = new Command('shadowlog')
    .description(
      'Event-sourced volume shadowing: mirror a volume over 2-6 members; minicopy returns a member by copying only what changed while it was away. Every write, dismount, mount and copy decision is an event in a replayable log.',
    )
    .option('--home <dir>', 'where sets live (default $SHADOWLOG_HOME, else ./.shadowlog)')
    .option('--json', 'machine-readable output: one JSON document on stdout')
    .option('--debug', 'print stack traces on errors')
    .showHelpAfterError()
    .exitOverride();
  program.command('create <set>').description('create a shadow set').action(planned('create'));
  program.command('serve <set>').description('serve a set over NBD and HTTP').action(planned('serve'));
  program
    .command('dismount <set> <member>')
    .description('take a member out of the set')
    .action(planned('dismount'));
  program
    .command('mount <set> <member>')
    .description('return a member (minicopy or full copy)')
    .action(planned('mount'));
  program
    .command('show <set>')
    .description('members, bitmaps, position; --at for time travel')
    .action(planned('show'));
  program.command('audit <set>').description('exact LBN ranges written in a window').action(planned('audit'));
  program.command('explain <set>').description('why each copy did what it did').action(planned('explain'));
  program
    .command('replay <set>')
    .description('rebuild every projection from a log')
    .action(planned('replay'));
  program.command('verify <set>').description('compare all valid members').action(planned('verify'));
  program.command('log').description('log maintenance').command('check <set>').action(planned('log check'));
  program
    .command('demo')
    .description('the whole minicopy workflow on a temporary set')
    .action(planned('demo'));
  program
    .command('bench <suite>')
    .description('run a benchmark suite (log, write-path, copy, nbd, all)')
    .action(planned('bench'));
  return program;
}

/** Run the CLI; returns the exit code. Errors are one line on stderr unless --debug. */
export async function main(argv: readonly string[]): Promise<number> {
  const program = buildProgram();
  const debug = argv.includes('--debug');
  try {
    await program.parseAsync(argv as string[]);
    return EXIT.ok;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version exit with 0; commander already printed the message.
      return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    if (error instanceof NotAvailableError) {
      process.stderr.write(`shadowlog: ${error.message}\n`);
      return EXIT.notAvailable;
    }
    if (error instanceof ShadowlogError) {
      process.stderr.write(`shadowlog: ${error.message}\n`);
      if (debug) process.stderr.write(`${error.stack}\n`);
      return exitCodeFor(error.code);
    }
    process.stderr.write(`shadowlog: internal error: ${(error as Error).message}\n`);
    if (debug) process.stderr.write(`${(error as Error).stack}\n`);
    return EXIT.internal;
  }
}
