import type { RecordedEvent } from '../../../domain/events.js';
import type { EventStore } from '../../../domain/ports/event-store.js';
import { type EventCriteria, matchesEvent } from '../../../projections/event-filter.js';

/**
 * `events --follow`: every event from `from` on, then new ones as they become durable (the
 * store's subscription: a read-only embedded log polls the writer's segments, KurrentDB pushes),
 * until SIGINT or SIGTERM (a normal end: resolves), `limit` events, or the reader closes stdout.
 */
export async function followEvents(
  store: EventStore,
  from: number,
  criteria: EventCriteria,
  limit: number,
  print: (r: RecordedEvent) => Promise<void>,
  readerGone: () => boolean,
): Promise<void> {
  let printed = 0;
  let stop: () => void = () => {};
  const stopped = new Promise<void>((resolve) => {
    stop = resolve;
  });
  const subscription = store.subscribe(from, async (batch) => {
    for (const r of batch) {
      if (printed >= limit || readerGone()) break;
      if (!matchesEvent(r, criteria)) continue;
      await print(r);
      printed++;
    }
    if (printed >= limit || readerGone()) stop();
  });
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    await Promise.race([stopped, subscription.done]);
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    await subscription.unsubscribe();
  }
}
