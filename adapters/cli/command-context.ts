import type { Command } from 'commander';
import { storeSettingFrom } from '../store/kurrentdb/index.js';
import { Output } from './output.js';
import { resolveHome, type SetPaths, setPaths } from './set-home.js';

/** What every command gets from the global options. */
export interface CommandContext {
  /** The home directory of sets. */
  readonly home: string;
  /** Where results go. */
  readonly output: Output;
  /** Paths of a set in this home. */
  paths(set: string): SetPaths;
}

/** Build the context from a command's options merged with the global ones. */
export function contextOf(command: Command): CommandContext {
  const options = command.optsWithGlobals<{ home?: string; json?: boolean; store?: string; node?: string }>();
  const home = resolveHome(options.home);
  const store = storeSettingFrom({ store: options.store, env: process.env }) ?? null;
  return {
    home,
    output: new Output(options.json === true),
    paths: (set) => setPaths(home, set, store, options.node ?? null),
  };
}
