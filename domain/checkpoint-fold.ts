import { assert } from './errors.js';
import type { EventOf, RecordedEvent } from './events.js';

/**
 * A named point of the log (`shadowlog checkpoint`). Its dirty bitmap is every chunk written
 * after `position`; it is computed from the log, so no crash can make it inconsistent.
 */
export interface CheckpointState {
  /** The operator's name; also the NBD context `qemu:dirty-bitmap:<name>`. */
  readonly name: string;
  /** The last event before the checkpoint: writes after it are "since the checkpoint". */
  readonly position: number;
  /** Position of the CheckpointCreated event. */
  readonly eventPosition: number;
  /** recordedAt of CheckpointCreated (ms since the epoch). */
  readonly recordedAt: number;
}

/** The state part the checkpoint folds touch. */
interface WithCheckpoints {
  checkpoints: CheckpointState[];
}

/** CheckpointCreated or CheckpointDeleted. */
export function foldCheckpoint(
  state: WithCheckpoints,
  event: EventOf<'CheckpointCreated'> | EventOf<'CheckpointDeleted'>,
  recorded: RecordedEvent,
): void {
  if (event.type === 'CheckpointCreated') foldCheckpointCreated(state, event, recorded);
  else foldCheckpointDeleted(state, event, recorded.position);
}

/** CheckpointCreated: the name now stands for the point before the event. */
function foldCheckpointCreated(
  state: WithCheckpoints,
  event: EventOf<'CheckpointCreated'>,
  recorded: RecordedEvent,
): void {
  assert(
    !state.checkpoints.some((c) => c.name === event.name),
    `CheckpointCreated ${event.name} at position ${recorded.position}: the name exists`,
  );
  state.checkpoints.push({
    name: event.name,
    position: event.position,
    eventPosition: recorded.position,
    recordedAt: recorded.recordedAt,
  });
}

/** CheckpointDeleted: the name is free again. */
function foldCheckpointDeleted(
  state: WithCheckpoints,
  event: EventOf<'CheckpointDeleted'>,
  position: number,
): void {
  const index = state.checkpoints.findIndex((c) => c.name === event.name);
  assert(index >= 0, `CheckpointDeleted ${event.name} at position ${position}: no such checkpoint`);
  state.checkpoints.splice(index, 1);
}
