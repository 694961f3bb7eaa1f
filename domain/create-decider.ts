import { CommandRejectedError, InvalidArgumentError } from './errors.js';
import { EVENT_SCHEMA_VERSION, type SetOrigin, type ShadowEvent } from './events.js';
import { BLOCK_SIZE, DEFAULT_CHUNK_BLOCKS, makeGeometry } from './geometry.js';
import type { CreateSet } from './shadow-set-commands.js';
import type { ShadowSetState } from './shadow-set-state.js';

/** Fewest members a set may have. */
export const MIN_MEMBERS = 2;
/** Most members a set may have, as on OpenVMS V8.4 (up to six). */
export const MAX_MEMBERS = 6;

/**
 * CreateSet: check the members (count, distinct files, sizes) and record ShadowSetCreated with
 * the set's origin: a mirror is only true when its members hold the same data, so members that
 * may differ from the first one are owed a full copy from it (md's initial resync) unless the
 * operator says they are clean.
 */
export function decideCreate(command: CreateSet, state: ShadowSetState): ShadowEvent[] {
  if (state.geometry !== null) throw new CommandRejectedError(`shadow set ${state.setId} exists already`);
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/.test(command.setId)) {
    throw new InvalidArgumentError(
      `set name '${command.setId}' is invalid: use letters, digits, '.', '_' and '-' (up to 128), starting with a letter or digit`,
    );
  }
  const paths = command.memberPaths;
  if (paths.length < MIN_MEMBERS || paths.length > MAX_MEMBERS) {
    throw new InvalidArgumentError(
      `a shadow set has ${MIN_MEMBERS} to ${MAX_MEMBERS} members; ${paths.length} given`,
    );
  }
  if (new Set(paths).size !== paths.length) {
    throw new InvalidArgumentError(
      'the same member path is given twice; each member must be a different file or device',
    );
  }
  checkDistinctStorage(paths, command.memberIdentities);
  const geometry = makeGeometry(command.blocks, command.chunkBlocks ?? DEFAULT_CHUNK_BLOCKS);
  const expectedBytes = geometry.blocks * BLOCK_SIZE;
  if (command.memberSizesBytes.length !== paths.length) {
    throw new InvalidArgumentError('a size must be given for every member');
  }
  command.memberSizesBytes.forEach((size, i) => {
    if (size !== expectedBytes) {
      throw new InvalidArgumentError(
        `member ${paths[i]} is ${size} bytes but the set is ${expectedBytes} bytes; every member must have the set's size`,
      );
    }
  });
  const origin = decideOrigin(command);
  return [
    {
      type: 'ShadowSetCreated',
      v: EVENT_SCHEMA_VERSION,
      setId: command.setId,
      blockSize: 512,
      blocks: geometry.blocks,
      chunkBlocks: geometry.chunkBlocks,
      members: paths.map((path, i) => ({ id: memberIdAt(i), path })),
      ...(origin === null ? {} : { origin }),
    },
  ];
}

/** Member ids are given in `--member` order. */
function memberIdAt(index: number): string {
  return `m${index + 1}`;
}

/** Refuse two members that are one file or device reached by two paths: they would mirror nothing. */
function checkDistinctStorage(paths: readonly string[], identities: readonly string[] | undefined): void {
  if (identities === undefined) return;
  if (identities.length !== paths.length) {
    throw new InvalidArgumentError('an identity must be given for every member');
  }
  const seen = new Map<string, number>();
  identities.forEach((identity, i) => {
    const first = seen.get(identity);
    if (first !== undefined) {
      throw new InvalidArgumentError(
        `members ${paths[first]} and ${paths[i]} are the same storage (${identity}): a link or a second name of one file is not a mirror; give each member its own file or device`,
      );
    }
    seen.set(identity, i);
  });
}

/**
 * The origin: all members new sparse images → `fresh`, nothing to copy; else every member
 * that may differ from the first (any member, unless it and the first are both new, hence both
 * zeroes) is `copied`, or none with `assumeClean`. Null when the caller says nothing of how
 * the members were made (a log as written before origins existed).
 */
function decideOrigin(command: CreateSet): SetOrigin | null {
  const fresh = command.createdFresh;
  if (fresh === undefined) return null;
  if (fresh.length !== command.memberPaths.length) {
    throw new InvalidArgumentError('whether it was created fresh must be given for every member');
  }
  const created = fresh.flatMap((isFresh, i) => (isFresh ? [memberIdAt(i)] : []));
  const differing = fresh.flatMap((isFresh, i) => (i > 0 && !(fresh[0] && isFresh) ? [memberIdAt(i)] : []));
  if (differing.length === 0) return { kind: 'fresh', created, copied: [] };
  if (command.assumeClean === true) return { kind: 'assume-clean', created, copied: [] };
  return { kind: 'copied', created, copied: differing };
}
