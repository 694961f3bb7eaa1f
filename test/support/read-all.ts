import type { RecordedEvent } from '../../domain/events.js';
import type { EventStore } from '../../domain/ports/event-store.js';

/** Every event of a store, in order. */
export async function readAll(store: EventStore, from = 0): Promise<RecordedEvent[]> {
  const out: RecordedEvent[] = [];
  for await (const batch of store.read(from)) out.push(...batch);
  return out;
}
