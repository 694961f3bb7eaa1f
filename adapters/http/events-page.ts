import type { RecordedEvent } from '../../domain/events.js';
import type { EventStore } from '../../domain/ports/event-store.js';
import { type EventCriteria, matchesEvent, parseEventTypes } from '../../projections/event-filter.js';
import { eventView } from '../../projections/event-view.js';
import { parseRequestPart } from './http-errors.js';
import type { EventsAnswer } from './read-api.js';

/** Events one request reads at most, matching or not: a rare filter over a long log pages on. */
export const EVENTS_SCAN_MAX = 1_000_000;
const BATCH = 4096;

/** What `GET /api/events` asks for, parsed. */
export interface EventsQuery {
  /** `type` values (exact types or groups, as `events --type`). */
  readonly types: readonly string[];
  /** Member id. */
  readonly member: string | undefined;
  /** LBN range of write events. */
  readonly lbn: { readonly start: number; readonly end: number } | undefined;
  /** Most events answered. */
  readonly limit: number;
  /** Newest first. */
  readonly reverse: boolean;
}

/**
 * A page of events of `window` passing the `shadowlog events` filters (projections/event-filter.ts).
 * Reads at most EVENTS_SCAN_MAX events; `next` says where the following page starts (the
 * request's `from`, or `to` with `reverse`), null when the window is done.
 */
export async function eventsPage(
  store: EventStore,
  window: { readonly fromPosition: number; readonly toPosition: number },
  query: EventsQuery,
): Promise<EventsAnswer> {
  const types = query.types.length > 0 ? parseRequestPart(() => parseEventTypes(query.types)) : undefined;
  const criteria: EventCriteria = {
    ...(types && { types }),
    ...(query.member && { member: query.member }),
    ...(query.lbn && { lbn: query.lbn }),
  };
  const { fromPosition, toPosition } = window;
  if (toPosition < fromPosition) return { events: [], next: null };
  const events: ReturnType<typeof eventView>[] = [];
  const keep = (r: RecordedEvent) => {
    if (matchesEvent(r, criteria)) events.push(eventView(r));
    return events.length < query.limit;
  };
  if (!query.reverse) {
    const end = Math.min(toPosition, fromPosition + EVENTS_SCAN_MAX - 1);
    for await (const batch of store.read(fromPosition, end + 1, { batchSize: BATCH })) {
      for (const r of batch)
        if (!keep(r)) return { events, next: r.position < toPosition ? r.position + 1 : null };
    }
    return { events, next: end < toPosition ? end + 1 : null };
  }
  const low = Math.max(fromPosition, toPosition - EVENTS_SCAN_MAX + 1);
  // Bounded: each pass moves `high` down by one batch, at most EVENTS_SCAN_MAX / BATCH passes.
  for (let high = toPosition + 1; high > low; high -= BATCH) {
    const slice: RecordedEvent[] = [];
    for await (const batch of store.read(Math.max(low, high - BATCH), high, { batchSize: BATCH }))
      slice.push(...batch);
    for (let i = slice.length - 1; i >= 0; i--) {
      const r = slice[i]!;
      if (!keep(r)) return { events, next: r.position > fromPosition ? r.position - 1 : null };
    }
  }
  return { events, next: low > fromPosition ? low - 1 : null };
}
