import { InvalidArgumentError } from '../../domain/errors.js';
import { type LogSource, openLogSource, openSetSource } from '../composition-root/incident-bundle-source.js';
import type { CommandContext } from './command-context.js';

/**
 * The read-only commands (`show`, `audit`, `events`, `replay`) take a set name or `--log DIR`
 * (a log folder or an incident bundle), so the set argument is optional to commander and
 * checked here, with the same one-line usage error everywhere (exit 2).
 */
export function requireSetName(set: string | undefined): string {
  if (set === undefined) {
    throw new InvalidArgumentError(
      "missing argument 'set': give a set name, or --log DIR (a log folder or an incident bundle); see 'shadowlog --help'",
    );
  }
  return set;
}

/** The source a read-only command reads: `--log DIR` when given, else the set's own log. */
export function openSetOrLog(
  ctx: CommandContext,
  set: string | undefined,
  log: string | undefined,
): Promise<LogSource> {
  if (log !== undefined) return openLogSource(log, ctx.warn);
  return openSetSource(ctx.paths(requireSetName(set)), ctx.home, ctx.warn);
}
