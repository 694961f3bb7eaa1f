import { readdir } from 'node:fs/promises';
import type { Command } from 'commander';
import { formatCount } from '../../../domain/copy-planning.js';
import { ShadowlogError } from '../../../domain/errors.js';
import { summarise } from '../../../projections/set-summary.js';
import { findServer } from '../../composition-root/server-info.js';
import type { SetPaths } from '../../composition-root/set-home.js';
import { projectionsAt } from '../../composition-root/set-store.js';
import { type CommandContext, contextOf } from '../command-context.js';
import { table } from '../output.js';
import { withReadOnlyLog } from '../read-only-log.js';

/** Most sets `list` reads: bounds the loop over a home directory. */
const MAX_SETS = 10_000;

/** One set as `list --json` prints it. */
export interface ListedSet {
  /** The set's name. */
  readonly set: string;
  /** Members in the set. */
  readonly members: number;
  /** Members whose state is `valid`. */
  readonly valid: number;
  /** `ok` when every member is valid, else the members that are not, e.g. `m2 dismounted`. */
  readonly state: string;
  /** Position of the last event of the log. */
  readonly position: number;
  /** The time of that event, ISO-8601. */
  readonly time: string | null;
  /** The running server, or null when none serves the set. */
  readonly server: { readonly pid: number; readonly nbd: string | null; readonly http: string } | null;
  /** Why the set could not be read (its other fields are then zero), or null. */
  readonly error: string | null;
}

/** `shadowlog list`: every set under the home (like `zpool list`). */
export function registerList(program: Command): void {
  program
    .command('list')
    .description('every set under the home: members (valid/total), state, log position, server')
    .action((_options: unknown, command: Command) => list(contextOf(command)));
}

/** `shadowlog list`. */
export async function list(ctx: CommandContext): Promise<void> {
  const names = (await setNames(ctx.home)).slice(0, MAX_SETS);
  const sets: ListedSet[] = [];
  for (const name of names) sets.push(await listed(ctx, ctx.paths(name)));
  ctx.output.result({ home: ctx.home, sets }, () => {
    if (sets.length === 0) {
      ctx.output.line(`no shadow sets in ${ctx.home}`);
      return;
    }
    for (const line of table([
      ['set', 'members', 'state', 'position', 'time', 'server'],
      ...sets.map((s) => [
        s.set,
        `${s.valid}/${s.members} valid`,
        s.error ?? s.state,
        formatCount(s.position),
        s.time ?? '-',
        s.server ? `pid ${s.server.pid}${s.server.nbd ? ` nbd ${s.server.nbd}` : ''}` : '-',
      ]),
    ]))
      ctx.output.line(line);
  });
}

async function setNames(home: string): Promise<string[]> {
  try {
    const entries = await readdir(home, { withFileTypes: true });
    return entries
      .filter((e) => e.isDirectory() && /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/.test(e.name))
      .map((e) => e.name)
      .sort();
  } catch {
    return [];
  }
}

async function listed(ctx: CommandContext, paths: SetPaths): Promise<ListedSet> {
  const running = await findServer(paths);
  const server = running ? { pid: running.info.pid, nbd: running.info.nbd, http: running.info.http } : null;
  try {
    return await withReadOnlyLog(ctx, paths, async (store) => {
      const summary = summarise(await projectionsAt(store, paths, null, ctx.warn));
      const notValid = summary.members.filter((m) => m.state !== 'valid');
      const state = notValid.length === 0 ? 'ok' : notValid.map((m) => `${m.id} ${m.state}`).join(', ');
      return {
        set: paths.set,
        members: summary.members.length,
        valid: summary.members.length - notValid.length,
        state,
        position: summary.position,
        time: summary.time,
        server,
        error: null,
      };
    });
  } catch (error) {
    // One unreadable set (a stray directory, a damaged log) must not hide the others.
    if (!(error instanceof ShadowlogError)) throw error;
    return {
      set: paths.set,
      members: 0,
      valid: 0,
      state: 'unreadable',
      position: -1,
      time: null,
      server,
      error: error.message,
    };
  }
}
