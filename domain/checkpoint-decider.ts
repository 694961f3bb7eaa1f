import { CommandRejectedError, InvalidArgumentError, NotFoundError } from './errors.js';
import { EVENT_SCHEMA_VERSION, type ShadowEvent } from './events.js';
import type { CreateCheckpoint, DeleteCheckpoint } from './shadow-set-commands.js';
import type { ShadowSetState } from './shadow-set-state.js';

/** Most checkpoints a set keeps: each may be served as an NBD bitmap, so they are bounded. */
export const MAX_CHECKPOINTS = 256;
/** What a checkpoint name may be: it becomes the leaf of an NBD context name. */
const NAME_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;
/** Names reserved for the position contexts `qemu:dirty-bitmap:since-<position>`. */
const RESERVED_PREFIX = 'since-';

/** Refuse a name NBD could not tell from a member's bitmap or a position context. */
export function checkCheckpointName(name: string, state: ShadowSetState): void {
  if (!NAME_PATTERN.test(name)) {
    throw new InvalidArgumentError(
      `checkpoint name '${name}' is invalid: use 1 to 64 letters, digits, '.', '_' or '-'`,
    );
  }
  if (name.startsWith(RESERVED_PREFIX)) {
    throw new InvalidArgumentError(
      `checkpoint name '${name}' is invalid: names starting with '${RESERVED_PREFIX}' are the position bitmaps; choose another`,
    );
  }
  if (state.members.some((m) => m.id === name)) {
    throw new InvalidArgumentError(
      `checkpoint name '${name}' is invalid: it is a member id, whose bitmap NBD offers under that name; choose another`,
    );
  }
}

/** CHECKPOINT name: the point is the last event before CheckpointCreated. */
export function decideCreateCheckpoint(command: CreateCheckpoint, state: ShadowSetState): ShadowEvent[] {
  checkCheckpointName(command.name, state);
  const existing = state.checkpoints.find((c) => c.name === command.name);
  if (existing) {
    throw new CommandRejectedError(
      `checkpoint ${command.name} exists (at position ${existing.position}); delete it first or choose another name`,
    );
  }
  if (state.checkpoints.length >= MAX_CHECKPOINTS) {
    throw new CommandRejectedError(
      `checkpoint ${command.name} refused: ${state.setId} has ${MAX_CHECKPOINTS} checkpoints, the most it keeps; delete one first`,
    );
  }
  return [
    { type: 'CheckpointCreated', v: EVENT_SCHEMA_VERSION, name: command.name, position: state.position },
  ];
}

/** DELETE CHECKPOINT name. */
export function decideDeleteCheckpoint(command: DeleteCheckpoint, state: ShadowSetState): ShadowEvent[] {
  if (!state.checkpoints.some((c) => c.name === command.name)) {
    throw new NotFoundError(
      `checkpoint ${command.name} not found in ${state.setId}; see \`shadowlog checkpoint list ${state.setId}\``,
    );
  }
  return [{ type: 'CheckpointDeleted', v: EVENT_SCHEMA_VERSION, name: command.name }];
}
