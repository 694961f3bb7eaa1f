import { Command, CommanderError } from 'commander';
import { ShadowlogError } from '../../domain/errors.js';
import { registerBench } from './commands/bench.js';
import { registerCreate } from './commands/create.js';
import { registerDemo } from './commands/demo.js';
import { registerInspect } from './commands/inspect.js';
import { registerMaintenance } from './commands/maintenance.js';
import { registerHostLeft, registerMembership } from './commands/membership.js';
import { registerServe } from './commands/serve.js';
import { EXIT, exitCodeFor } from './exit-codes.js';

/** Build the command tree. Exported for tests. */
export function buildProgram(): Command {
  const program = new Command('shadowlog')
    .description(
      'Event-sourced volume shadowing: mirror a volume over 2-6 members; minicopy returns a member by copying only what changed while it was away. Every write, dismount, mount and copy decision is an event in a replayable log.',
    )
    .option('--home <dir>', 'where sets live (default $SHADOWLOG_HOME, else ./.shadowlog)')
    .option('--json', 'machine-readable output: one JSON document on stdout')
    .option(
      '--store <url>',
      'keep the log in KurrentDB, e.g. kurrentdb://localhost:2113?tls=false (default $SHADOWLOG_STORE, else the embedded log)',
    )
    .option(
      '--node <name>',
      "this host's name when several hosts serve the set through one KurrentDB stream (needs --store)",
    )
    .option('--debug', 'print stack traces on errors')
    .showHelpAfterError()
    .exitOverride()
    .configureOutput({ writeErr: (text) => process.stderr.write(text) });
  registerCreate(program);
  registerServe(program);
  registerMembership(program);
  registerHostLeft(program);
  registerInspect(program);
  registerMaintenance(program);
  registerDemo(program);
  registerBench(program);
  for (const command of program.commands) command.exitOverride();
  return program;
}

/** Run the CLI; returns the exit code. Errors are one line on stderr unless --debug. */
export async function main(argv: readonly string[]): Promise<number> {
  const program = buildProgram();
  const debug = argv.includes('--debug');
  try {
    await program.parseAsync(argv as string[]);
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT.ok;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version exit with 0; commander already printed the message.
      return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
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
