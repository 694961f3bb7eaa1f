import type { Command } from 'commander';
import { resolveHome, resolveStore, type SetPaths, setPaths } from '../composition-root/set-home.js';
import { Output } from './output.js';

/** What every command gets from the global options. */
export interface CommandContext {
  /** The home directory of sets. */
  readonly home: string;
  /** Where results go. */
  readonly output: Output;
  /** Paths of a set in this home. */
  paths(set: string): SetPaths;
  /** Report a recoverable oddity to the operator (stderr). */
  warn(message: string): void;
}

/** Build the context from a command's options merged with the global ones. */
export function contextOf(command: Command): CommandContext {
  const options = command.optsWithGlobals<{ home?: string; json?: boolean; store?: string; node?: string }>();
  const home = resolveHome(options.home);
  const store = resolveStore(options.store);
  const output = new Output(options.json === true);
  return {
    home,
    output,
    paths: (set) => setPaths(home, set, store, options.node ?? null),
    warn: (message) => output.note(message),
  };
}
