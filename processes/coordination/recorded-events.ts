import { InvariantViolationError } from '../../domain/errors.js';
import type { RecordedEvent } from '../../domain/events.js';
import type { EventStore } from '../../domain/ports/event-store.js';

/** The recorded events at positions `[from, to)`, read back after an append. */
export async function recordedEvents(store: EventStore, from: number, to: number): Promise<RecordedEvent[]> {
  const out: RecordedEvent[] = [];
  for await (const batch of store.read(from, to)) out.push(...batch);
  return out;
}

/** The recorded event at `position`; a missing one means the log lost an event. */
export async function recordedEvent(store: EventStore, position: number): Promise<RecordedEvent> {
  for await (const batch of store.read(position, position + 1)) if (batch[0]) return batch[0];
  throw new InvariantViolationError(`event at position ${position} is missing from the log`);
}
