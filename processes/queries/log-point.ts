import { InvalidArgumentError, NotFoundError } from '../../domain/errors.js';
import type { EventStore } from '../../domain/ports/event-store.js';
import { positionAtTime } from './position-at-time.js';

/** A point of the log as given on the command line: a position or a time (ms since the epoch). */
export type PointArgument = { readonly position: number } | { readonly timeMs: number };

/** The forms every `--at`, `--from`, `--to` and `--until` accepts, for error messages and help. */
export const POINT_FORMS =
  'a position (e.g. 1042), an ISO-8601 time with a zone (e.g. 2026-11-24T16:00:00Z or 2026-11-24T17:00:00+01:00) or a relative time (-30s, -15m, -2h, -1d)';

const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
// Date and time with an explicit zone: a zone-less time would silently be read as local time.
const ISO_WITH_ZONE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/;

/**
 * Parse a point argument: exactly a non-negative integer position, an ISO-8601 time with a zone,
 * or a relative time before `nowMs`. Anything else (including `-5`, which Date.parse reads as
 * the year 2001) is an InvalidArgumentError naming the accepted forms.
 */
export function parsePoint(name: string, text: string, nowMs: number = Date.now()): PointArgument {
  const trimmed = text.trim();
  if (/^\d+$/.test(trimmed) && Number.isSafeInteger(Number(trimmed))) return { position: Number(trimmed) };
  const relative = /^-(\d+)([smhd])$/.exec(trimmed);
  if (relative) return { timeMs: nowMs - Number(relative[1]) * UNIT_MS[relative[2]!]! };
  if (ISO_WITH_ZONE.test(trimmed)) {
    const timeMs = Date.parse(trimmed);
    if (!Number.isNaN(timeMs)) return { timeMs };
  }
  throw new InvalidArgumentError(`${name} '${text}' is invalid: give ${POINT_FORMS}`);
}

/** Which end of a window a point bounds: a time starts at the first event at or after it, or ends at the last one at or before it. */
export type PointEnd = 'start' | 'end';

/**
 * The position a point stands for. A position is taken as given; a time resolves through the
 * log: as an end, to the last event recorded at or before it (-1 when the log starts later);
 * as a start, to the first event recorded at or after it.
 */
export async function positionOfPoint(
  store: EventStore,
  point: PointArgument,
  end: PointEnd,
): Promise<number> {
  if ('position' in point) return point.position;
  // Times are whole milliseconds: "at or after T" is "after the last event at or before T-1".
  return end === 'end'
    ? positionAtTime(store, point.timeMs)
    : (await positionAtTime(store, point.timeMs - 1)) + 1;
}

/** Resolve `--at`: a point at which the set must exist; before the first event is NotFoundError (exit 3). */
export async function resolveAt(store: EventStore, point: PointArgument, name: string): Promise<number> {
  const position = await positionOfPoint(store, point, 'end');
  const last = await store.lastPosition();
  if (position < 0 || last < 0) {
    const what = 'position' in point ? `position ${point.position}` : new Date(point.timeMs).toISOString();
    throw new NotFoundError(`${name} ${what} is before the first event of the log`);
  }
  return position;
}

/** A window of the log resolved to positions (inclusive), and the times of its ends when known. */
export interface ResolvedWindow {
  /** First position of the window. */
  readonly fromPosition: number;
  /** Last position of the window (inclusive); below fromPosition when the window is empty. */
  readonly toPosition: number;
}

/**
 * Resolve `--from`/`--to` to positions, clamped to the log. A window whose start is after its
 * end as given is an InvalidArgumentError naming both.
 */
export async function resolveWindow(
  store: EventStore,
  from: PointArgument | undefined,
  to: PointArgument | undefined,
): Promise<ResolvedWindow> {
  const last = await store.lastPosition();
  const fromPosition = from === undefined ? 0 : await positionOfPoint(store, from, 'start');
  const toPosition = to === undefined ? last : Math.min(last, await positionOfPoint(store, to, 'end'));
  if (from && to && 'position' in from && 'position' in to && from.position > to.position) {
    throw new InvalidArgumentError(
      `--from ${from.position} is after --to ${to.position}: give --from <= --to`,
    );
  }
  if (from && to && 'timeMs' in from && 'timeMs' in to && from.timeMs > to.timeMs) {
    throw new InvalidArgumentError(
      `--from ${new Date(from.timeMs).toISOString()} is after --to ${new Date(to.timeMs).toISOString()}: give --from <= --to`,
    );
  }
  return { fromPosition, toPosition };
}
