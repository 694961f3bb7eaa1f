import { InvalidArgumentError } from '../../../domain/errors.js';
import { parseEvent, type ShadowEvent } from '../../../domain/events.js';
import type { PendingAppend } from '../shared/pending-append.js';
import { sizeOnDisk } from './event-mapping.js';

/**
 * What the KurrentDB writer prepares from an append when it accepts it: the events validated,
 * their sizes as the server counts them, their ids and the call's ticket. Everything is
 * checked before anything is queued: an append is all or nothing, and an event that could not
 * be read back must not be written.
 *
 * Ids are fixed here, once: every retry of a server append carries the same ids, which is
 * what lets the server's idempotency check recognise a repeated call (append-writer.ts).
 */

/** An accepted append, prepared for server appends. */
export interface ServerAppend {
  /** Its events, validated. */
  readonly events: readonly ShadowEvent[];
  /** Event ids, fixed at acceptance and reused by every retry. */
  readonly ids: readonly string[];
  /** Size of each event as the server counts it. */
  readonly sizes: readonly number[];
  /** Order of the call among all appends of the writer (1, 2, ...). */
  readonly ticket: number;
}

/** An append queued in the KurrentDB writer. */
export type PendingServerAppend = PendingAppend<ServerAppend>;

/** Validate and measure `events`; throws InvalidArgumentError (or the schema's error) on a bad append. */
export function prepareServerAppend(
  events: readonly ShadowEvent[],
  maxAppendBytes: number,
  newId: () => string,
  ticket: number,
): { readonly prepared: ServerAppend; readonly bytes: number } {
  if (!Array.isArray(events) || events.length === 0) {
    throw new InvalidArgumentError('append needs at least one event');
  }
  const parsed = events.map((event) => parseEvent(event));
  const sizes = parsed.map(sizeOnDisk);
  const tooLarge = sizes.findIndex((size) => size > maxAppendBytes);
  if (tooLarge >= 0) {
    throw new InvalidArgumentError(
      `event ${tooLarge} of the append (${parsed[tooLarge]!.type}, ${sizes[tooLarge]} bytes) is larger than ` +
        `the server's max append size (${maxAppendBytes} bytes)`,
    );
  }
  const ids = parsed.map(() => newId());
  const bytes = sizes.reduce((a, b) => a + b, 0);
  return { prepared: { events: parsed, ids, sizes, ticket }, bytes };
}
