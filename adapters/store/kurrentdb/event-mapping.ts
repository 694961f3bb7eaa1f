import type { JSONEventData, ResolvedEvent } from '@kurrent/kurrentdb-client';
import { EventInvalidError } from '../../../domain/errors.js';
import { parseEvent, type RecordedEvent, type ShadowEvent } from '../../../domain/events.js';
import { positionFromRevision } from './revision-mapping.js';

/**
 * Shadow events ↔ KurrentDB events. A KurrentDB event has a type, JSON data and JSON
 * metadata; shadowlog puts the event type in the type (so the server's UI, `$et-` projections
 * and filters see real names), the payload in the data, and the envelope -- schema version
 * and recordedAt -- in the metadata:
 *
 *     type = 'BlocksWritten'   data = { lbn, count }   metadata = { v: 1, recordedAt: 1764000000000 }
 *
 * recordedAt is chosen by the writer and stored, not taken from the server's `created`
 * timestamp: replay must reproduce it exactly and it must never go backwards with position,
 * which a server clock (or a failover to a node with another clock) does not promise.
 *
 * Everything read back is validated: the envelope here, the payload by the event's zod schema
 * (`parseEvent`). Errors name the stream and revision of the offending event.
 */

/** The envelope kept in each KurrentDB event's metadata. */
export interface EventMetadata {
  /** Schema version of the event (`v` of the catalogue). */
  readonly v: number;
  /** When the writer recorded it, ms since the epoch; never decreases along the stream. */
  readonly recordedAt: number;
}

/**
 * Upper bound of the metadata's JSON length: `{"v":,"recordedAt":}` plus two numbers of at
 * most 24 characters each. Sizes are estimated before recordedAt is known.
 */
const METADATA_BYTES_BOUND = 19 + 24 + 24;

/** The KurrentDB event for `event`, with event id `id`. */
export function toEventData(event: ShadowEvent, id: string, recordedAt: number): JSONEventData {
  const { type, v, ...payload } = event;
  const metadata: EventMetadata = { v, recordedAt };
  return { id, contentType: 'application/json', type, data: payload, metadata: { ...metadata } };
}

/**
 * Bytes `event` counts against the server's MaxAppendSize, an upper bound: KurrentDB counts
 * data + metadata + 2 × the type's length (UTF-16) per event.
 */
export function sizeOnDisk(event: ShadowEvent): number {
  const { type, v: _v, ...payload } = event;
  return Buffer.byteLength(JSON.stringify(payload)) + METADATA_BYTES_BOUND + 2 * type.length;
}

/** Where an event came from, for error messages. */
function where(streamName: string, revision: unknown): string {
  return `(stream ${streamName}, revision ${String(revision)})`;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return (
    typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array)
  );
}

/**
 * The recorded event for a KurrentDB event read from `streamName`. Throws EventInvalidError
 * for anything shadowlog did not write: a link, a binary event, a missing or malformed
 * envelope, or a payload its schema rejects.
 */
export function fromResolvedEvent(resolved: ResolvedEvent, streamName: string): RecordedEvent {
  const record = resolved.event;
  if (record === undefined) {
    throw new EventInvalidError(
      '',
      `a link to a deleted event ${where(streamName, resolved.link?.revision)}`,
    );
  }
  const at = where(streamName, record.revision);
  if (!record.isJson || !isPlainObject(record.data)) {
    throw new EventInvalidError('data', `is not a JSON object ${at}`);
  }
  const metadata = record.metadata;
  if (!isPlainObject(metadata)) {
    throw new EventInvalidError('metadata', `is not a JSON object with v and recordedAt ${at}`);
  }
  const { v, recordedAt } = metadata;
  if (typeof recordedAt !== 'number' || !Number.isFinite(recordedAt)) {
    throw new EventInvalidError('metadata.recordedAt', `must be a finite number ${at}`);
  }
  const position = positionFromRevision(record.revision);
  let event: ShadowEvent;
  try {
    // type and v last: the data cannot override the envelope.
    event = parseEvent({ ...record.data, type: record.type, v });
  } catch (error) {
    if (error instanceof EventInvalidError) error.message = `${error.message} ${at}`;
    throw error;
  }
  return { position, recordedAt, event };
}
