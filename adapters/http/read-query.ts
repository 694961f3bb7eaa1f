import { InvalidArgumentError, NotFoundError } from '../../domain/errors.js';
import type { EventStore } from '../../domain/ports/event-store.js';
import { parsePoint, positionOfPoint, resolveWindow } from '../../processes/queries/log-point.js';
import { badRequest, parseRequestPart } from './http-errors.js';
import type { LogIndex } from './log-index.js';

/**
 * Query parameters of the read API, parsed as the CLI parses its options (same point forms,
 * processes/queries/log-point.ts). A malformed parameter is 400 INVALID_ARGUMENT.
 */

/** A whole number in `[min, max]`, `fallback` when absent. */
export function intParam(
  name: string,
  text: string | undefined,
  fallback: number,
  min: number,
  max: number,
): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(value) || value < min || value > max) {
    throw badRequest(`${name} '${text}' is invalid: give a whole number from ${min} to ${max}`);
  }
  return value;
}

/** `START-END` inclusive LBNs, as `--lbn`. */
export function lbnParam(text: string | undefined): { start: number; end: number } | undefined {
  if (text === undefined) return undefined;
  const match = /^(\d+)-(\d+)$/.exec(text.trim());
  if (!match || Number(match[2]) < Number(match[1])) {
    throw badRequest(`lbn '${text}' is invalid: give START-END with START <= END, e.g. 0-1023`);
  }
  return { start: Number(match[1]), end: Number(match[2]) };
}

/**
 * The position `at` names: the last event at or before it, the end of the log when absent,
 * clamped to the last event. Before the log's first event, or an empty log, is 404.
 */
export async function atParam(
  index: LogIndex,
  store: EventStore,
  first: number,
  text: string | undefined,
): Promise<number> {
  await index.ready;
  const last = index.lastPosition;
  if (last < first) throw new NotFoundError('the log holds no event yet');
  if (text === undefined) return last;
  const point = parseRequestPart(() => parsePoint('at', text));
  const position = await positionOfPoint(store, point, 'end');
  if (position < first)
    throw new NotFoundError(`at '${text}' is before the first event of the log (position ${first})`);
  return Math.min(position, last);
}

/** `from` and `to` as a window of positions (inclusive), clamped to the log; empty when to < from. */
export async function windowParams(
  index: LogIndex,
  store: EventStore,
  first: number,
  from: string | undefined,
  to: string | undefined,
): Promise<{ fromPosition: number; toPosition: number }> {
  await index.ready;
  const fromPoint = from === undefined ? undefined : parseRequestPart(() => parsePoint('from', from));
  const toPoint = to === undefined ? undefined : parseRequestPart(() => parsePoint('to', to));
  const window = await resolveWindow(store, fromPoint, toPoint).catch((error: unknown) => {
    if (error instanceof InvalidArgumentError) throw badRequest(error.message);
    throw error;
  });
  return {
    fromPosition: Math.max(first, window.fromPosition),
    toPosition: Math.min(index.lastPosition, window.toPosition),
  };
}
