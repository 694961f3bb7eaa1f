import { isWriteEvent, type RecordedEvent } from '../domain/events.js';

/**
 * How `shadowlog events` shows one event: a JSON object with stable names (`position`, `time`
 * as ISO, `type`, then the event's own fields) and a one-line human form of the same fields.
 */

/** One event as `events --json` prints it (one per line). */
export interface EventView {
  /** Place in the set's stream. */
  readonly position: number;
  /** When the store recorded it, ISO-8601 in UTC. */
  readonly time: string;
  /** The event type name. */
  readonly type: string;
  /** The event's fields, under their names in docs/design.md (without the schema version `v`). */
  readonly [field: string]: unknown;
}

/** The JSON view of a recorded event. */
export function eventView(recorded: RecordedEvent): EventView {
  return {
    position: recorded.position,
    time: new Date(recorded.recordedAt).toISOString(),
    type: recorded.event.type,
    ...eventFields(recorded),
  };
}

/**
 * An event's own fields, without the schema version. A field named `position` (MembersSynced,
 * CheckpointCreated) would hide the event's own place in the log: it is renamed to what it means.
 */
export function eventFields(recorded: RecordedEvent): Record<string, unknown> {
  const { type, v: _version, ...fields } = recorded.event;
  if (!('position' in fields)) return fields;
  const { position, ...rest } = fields;
  const name =
    type === 'MembersSynced'
      ? 'syncedPosition'
      : type === 'CheckpointCreated'
        ? 'checkpointPosition'
        : 'eventPosition';
  return { [name]: position, ...rest };
}

// Fields a human line leaves out: the fingerprint is 32 hashes, the created members a table.
const HIDDEN = new Set(['fingerprint']);

/** One human line: `position  time  type  details`. */
export function eventLine(recorded: RecordedEvent): string {
  const time = new Date(recorded.recordedAt).toISOString();
  return `${String(recorded.position).padStart(8)}  ${time}  ${recorded.event.type.padEnd(22)}  ${eventDetails(recorded)}`;
}

/** The fields that matter of an event, as `name value` pairs; writes as `LBN first-last (count)`. */
export function eventDetails(recorded: RecordedEvent): string {
  const event = recorded.event;
  if (isWriteEvent(event)) return `LBN ${event.lbn}-${event.lbn + event.count - 1} (${event.count})`;
  const parts: string[] = [];
  for (const [name, value] of Object.entries(eventFields(recorded))) {
    if (HIDDEN.has(name) || value === undefined) continue;
    parts.push(`${name} ${describeValue(name, value)}`);
  }
  return parts.join(', ');
}

function describeValue(name: string, value: unknown): string {
  if (name === 'members' && Array.isArray(value)) {
    return value.map((m: { id: string; path: string }) => `${m.id}=${m.path}`).join(' ');
  }
  if (typeof value === 'string') return /[\s,]/.test(value) ? JSON.stringify(value) : value;
  if (typeof value === 'object' && value !== null) return JSON.stringify(value);
  return String(value);
}
