import { Command, CommanderError } from 'commander';
import { ShadowlogError } from '../../domain/errors.js';
import { registerBench } from './commands/bench.js';
import { registerCheckpoint } from './commands/checkpoint.js';
import { registerCreate } from './commands/create.js';
import { registerDashboard } from './commands/dashboard.js';
import { registerDemo } from './commands/demo.js';
import { registerEvents } from './commands/events.js';
import { registerInspect } from './commands/inspect.js';
import { registerList } from './commands/list.js';
import { registerMaintenance } from './commands/maintenance.js';
import { registerHostLeft, registerMembership } from './commands/membership.js';
import { registerServe } from './commands/serve.js';
import { EXIT, exitCodeFor } from './exit-codes.js';
import { packageVersion } from './package-version.js';

/** What follows a usage error: one pointer, not the whole help. */
const SEE_HELP = "see 'shadowlog --help' (or 'shadowlog <command> --help')";

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
    .version(packageVersion(), '-V, --version', 'print the version and exit')
    .showHelpAfterError(SEE_HELP)
    .exitOverride()
    .configureOutput({ writeErr: (text) => process.stderr.write(text) });
  registerCreate(program);
  registerServe(program);
  registerDashboard(program);
  registerMembership(program);
  registerHostLeft(program);
  registerCheckpoint(program);
  registerInspect(program);
  registerEvents(program);
  registerList(program);
  registerMaintenance(program);
  registerDemo(program);
  registerBench(program);
  for (const command of program.commands) command.exitOverride().showHelpAfterError(SEE_HELP);
  return program;
}

/** Run the CLI; returns the exit code. Errors are one line on stderr unless --debug. */
export async function main(argv: readonly string[]): Promise<number> {
  const program = buildProgram();
  const debug = argv.includes('--debug');
  const json = argv.includes('--json');
  try {
    await program.parseAsync(argv as string[]);
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT.ok;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version exit with 0; commander already printed the message and SEE_HELP.
      if (error.exitCode === 0) return EXIT.ok;
      if (json) printJsonError('USAGE', error.message.replace(/^error: /, ''), EXIT.usage);
      return EXIT.usage;
    }
    if (error instanceof ShadowlogError) {
      process.stderr.write(`shadowlog: ${error.message}\n`);
      if (debug) process.stderr.write(`${error.stack}\n`);
      const exitCode = exitCodeFor(error.code);
      if (json) printJsonError(error.code, error.message, exitCode);
      return exitCode;
    }
    process.stderr.write(`shadowlog: internal error: ${(error as Error).message}\n`);
    if (debug) process.stderr.write(`${(error as Error).stack}\n`);
    if (json) printJsonError('INTERNAL', (error as Error).message, EXIT.internal);
    return EXIT.internal;
  }
}

/**
 * Under --json a script reads stdout only: the error is a document there too (the stderr line
 * stays for a human watching). Shape documented in README ("Errors under --json").
 */
function printJsonError(code: string, message: string, exitCode: number): void {
  process.stdout.write(`${JSON.stringify({ error: { code, message, exitCode } })}\n`);
}
