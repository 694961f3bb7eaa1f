import { resolve } from 'node:path';
import { InvalidArgumentError } from '../../domain/errors.js';
import { storeSettingFrom } from '../store/kurrentdb/index.js';

/**
 * Where a set lives: `<home>/<set>/` holds its log (`log/`), projection snapshots
 * (`snapshots/`), and while `shadowlog serve` runs, `server.json` and the control token.
 */
export interface SetPaths {
  /** The set's name. */
  readonly set: string;
  /** `<home>/<set>`. */
  readonly dir: string;
  /** The embedded log's directory. */
  readonly log: string;
  /** Projection snapshots. */
  readonly snapshots: string;
  /** Written by a running server: its pid and control address. */
  readonly serverInfo: string;
  /** The control API token (mode 0600). */
  readonly token: string;
  /** KurrentDB connection string when the set's log lives there (`--store`); null for the embedded log. */
  readonly store: string | null;
  /** This host's name when several hosts serve the set through one KurrentDB stream (`--node`). */
  readonly node: string | null;
}

/** The home directory: `--home`, else $SHADOWLOG_HOME, else ./.shadowlog. */
export function resolveHome(option: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  return resolve(option ?? env.SHADOWLOG_HOME ?? '.shadowlog');
}

/**
 * The store in effect: `--store` when given, else $SHADOWLOG_STORE, else null (the embedded log
 * under the set's directory). Blank values count as not given.
 */
export function resolveStore(
  option: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
): string | null {
  return storeSettingFrom({ store: option, env }) ?? null;
}

/** Paths of a set, checking its name. */
export function setPaths(
  home: string,
  set: string,
  store: string | null = null,
  node: string | null = null,
): SetPaths {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/.test(set)) {
    throw new InvalidArgumentError(
      `set name '${set}' is invalid: use letters, digits, '.', '_' and '-' (up to 128), starting with a letter or digit`,
    );
  }
  const dir = resolve(home, set);
  return {
    set,
    dir,
    log: resolve(dir, 'log'),
    snapshots: resolve(dir, 'snapshots'),
    serverInfo: resolve(dir, 'server.json'),
    token: resolve(dir, 'control.token'),
    store,
    node,
  };
}
