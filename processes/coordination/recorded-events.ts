import { InvariantViolationError } from '../../domain/errors.js';
import type { RecordedEvent } from '../../domain/events.js';
import type { EventStore } from '../../domain/ports/event-store.js';

/** Where a control operation finds its own events just folded (the projection follower). */
export interface RecentEvents {
  /** The recorded event at `position` if still kept, else null. */
  recent(position: number): RecordedEvent | null;
}

/**
 * The recorded events at positions `[from, to)`, read back after an append: from `recent` when
 * it still holds every one (the usual case: they were just folded), else from the store.
 */
export async function recordedEvents(
  store: EventStore,
  from: number,
  to: number,
  recent?: RecentEvents,
): Promise<RecordedEvent[]> {
  const out: RecordedEvent[] = [];
  if (recent !== undefined) {
    for (let p = from; p < to; p++) {
      const event = recent.recent(p);
      if (event === null) break;
      out.push(event);
    }
    if (out.length === to - from) return out;
    out.length = 0;
  }
  for await (const batch of store.read(from, to)) out.push(...batch);
  return out;
}

/** The recorded event at `position`; a missing one means the log lost an event. */
export async function recordedEvent(store: EventStore, position: number): Promise<RecordedEvent> {
  for await (const batch of store.read(position, position + 1)) if (batch[0]) return batch[0];
  throw new InvariantViolationError(`event at position ${position} is missing from the log`);
}
