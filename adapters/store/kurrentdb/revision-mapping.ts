import type { AppendStreamState, CurrentStreamState } from '@kurrent/kurrentdb-client';
import { OutOfRangeError } from '../../../domain/errors.js';
import { NO_STREAM, START } from './client-constants.js';

/**
 * Positions ↔ KurrentDB stream revisions. A set's stream holds nothing but its events, so the
 * event at position p has revision p: the mapping is the identity, but across two number
 * types. Revisions are unsigned 64-bit bigints; positions are JavaScript safe integers, so a
 * revision past 2^53 - 1 cannot be a position. No shadow set gets there (it would take 285
 * years at a million events a second), so meeting one means the stream is not what we think
 * it is: refuse it loudly rather than round it.
 */

const MAX_POSITION = BigInt(Number.MAX_SAFE_INTEGER);

/** The position of the event with stream revision `revision`. Throws OutOfRangeError past 2^53 - 1. */
export function positionFromRevision(revision: bigint): number {
  if (typeof revision !== 'bigint' || revision < 0n) {
    throw new OutOfRangeError(`KurrentDB stream revision ${String(revision)} is not a revision (negative)`);
  }
  if (revision > MAX_POSITION) {
    throw new OutOfRangeError(
      `KurrentDB stream revision ${revision} is past ${Number.MAX_SAFE_INTEGER}, the last position shadowlog ` +
        'can represent exactly; this stream cannot be used as a shadow set log',
    );
  }
  return Number(revision);
}

/** The stream revision of the event at `position`. */
export function revisionFromPosition(position: number): bigint {
  if (!Number.isSafeInteger(position) || position < 0) {
    throw new OutOfRangeError(`position ${position} is not a non-negative safe integer`);
  }
  return BigInt(position);
}

/**
 * The expected stream state for an append whose first event must get `position`: no stream
 * for position 0, else "the last event has revision position - 1".
 */
export function streamStateBefore(position: number): AppendStreamState {
  return position === 0 ? NO_STREAM : revisionFromPosition(position - 1);
}

/**
 * The stream's end (the position the next event gets) from the current state a server
 * reports with a wrong-expected-version error: 0 for no stream, else last revision + 1.
 * Deleted and tombstoned streams are reported as negative revisions: refused.
 */
export function endFromStreamState(state: CurrentStreamState): number {
  if (state === NO_STREAM) return 0;
  if (typeof state === 'bigint' && state < 0n) {
    throw new OutOfRangeError(`KurrentDB reports the stream as deleted (state ${state})`);
  }
  return positionFromRevision(state) + 1;
}

/**
 * Where a catch-up subscription must start to deliver `from` first. KurrentDB subscriptions
 * start *after* the revision given, so position p > 0 subscribes from revision p - 1 and
 * position 0 from the start.
 */
export function subscriptionStart(from: number): typeof START | bigint {
  return from === 0 ? START : revisionFromPosition(from - 1);
}
