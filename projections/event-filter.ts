import { InvalidArgumentError } from '../domain/errors.js';
import { EVENT_TYPES, isWriteEvent, type RecordedEvent, type ShadowEventType } from '../domain/events.js';

/**
 * Which events `shadowlog events` prints: by type (exact names or groups), member and LBN range.
 * Pure and per event, so the command can stream a log of any length through it.
 */

/**
 * Groups of event types an operator asks for by concern. Computed from the catalogue by name so
 * that an event type added later (a refused decision, a checkpoint) joins its group.
 */
export const EVENT_TYPE_GROUPS: Readonly<Record<string, readonly ShadowEventType[]>> = {
  writes: ['BlocksWritten', 'BlocksTrimmed', 'ZeroesWritten'],
  membership: EVENT_TYPES.filter(
    (t) => (/^(Member|Host|Bitmap)/.test(t) && t !== 'MembersSynced') || /Mount|Dismount|Refused/.test(t),
  ),
  copies: EVENT_TYPES.filter((t) => t.startsWith('Copy')),
  merges: EVENT_TYPES.filter((t) => t.startsWith('Merge')),
  sync: ['MembersSynced'],
  checkpoints: EVENT_TYPES.filter((t) => t.startsWith('Checkpoint')),
};

/** What to keep; every absent criterion keeps everything. */
export interface EventCriteria {
  /** Event types to keep (already expanded from groups); undefined keeps every type. */
  readonly types?: ReadonlySet<ShadowEventType>;
  /** Keep only events naming this member id. */
  readonly member?: string;
  /** Keep only write events touching LBNs `[start, end]` (inclusive). */
  readonly lbn?: { readonly start: number; readonly end: number };
}

/**
 * Expand `--type` values (exact type names or group names, case-insensitive for groups) to a set
 * of types. An unknown value is an InvalidArgumentError listing every accepted one.
 */
export function parseEventTypes(values: readonly string[]): ReadonlySet<ShadowEventType> {
  const types = new Set<ShadowEventType>();
  for (const value of values) {
    const group = EVENT_TYPE_GROUPS[value.toLowerCase()];
    if (group) {
      for (const t of group) types.add(t);
    } else if ((EVENT_TYPES as readonly string[]).includes(value)) {
      types.add(value as ShadowEventType);
    } else {
      throw new InvalidArgumentError(
        `--type '${value}' is not an event type or group: give one of the groups ${Object.keys(EVENT_TYPE_GROUPS).join(', ')} or a type ${EVENT_TYPES.join(', ')}`,
      );
    }
  }
  return types;
}

/** True when `recorded` passes every criterion. Plain checks: it runs once per event of the log. */
export function matchesEvent(recorded: RecordedEvent, criteria: EventCriteria): boolean {
  const event = recorded.event;
  if (criteria.types !== undefined && !criteria.types.has(event.type)) return false;
  if (criteria.member !== undefined && (event as { member?: string }).member !== criteria.member)
    return false;
  if (criteria.lbn !== undefined) {
    if (!isWriteEvent(event)) return false;
    if (event.lbn > criteria.lbn.end || event.lbn + event.count - 1 < criteria.lbn.start) return false;
  }
  return true;
}
