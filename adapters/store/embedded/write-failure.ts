import { IoError } from '../../../domain/errors.js';
import { isNoSpace } from './durable-file.js';

/**
 * What a failed write means, and what the store says about itself after one.
 *
 * - No space (ENOSPC, EDQUOT): recoverable. The failing batch and every append queued behind
 *   it are rejected, the segment is cut back to its last durable end, and the next append
 *   tries again -- failing fast while the disk is full, succeeding once space is back. Nothing
 *   acknowledged is lost: only appends that were never acknowledged fail.
 * - Anything else: fail-stop. After a failed write or fsync the page cache no longer tells
 *   what is on disk (PostgreSQL's "fsyncgate": a retried fsync can report success for data
 *   that was dropped), so the writer refuses every later append until the log is reopened,
 *   which re-reads and re-verifies the tail from disk.
 */

/** How the store is: for the engine and the server to report. */
export type StoreHealth =
  | { readonly status: 'ok' }
  | {
      /** Appends fail for a reason that goes away by itself (a full disk); they are retried. */
      readonly status: 'degraded';
      /** What is wrong and what to do. */
      readonly reason: string;
      /** When it started (ms since epoch). */
      readonly sinceMs: number;
    }
  | {
      /** The writer stopped for good: restart (reopen) to go on. */
      readonly status: 'failed';
      /** What is wrong and what to do. */
      readonly reason: string;
    };

/** The healthy state. */
export const HEALTHY: StoreHealth = { status: 'ok' };

/** The IoError appends get while the disk of `segmentPath` is full. */
export function noSpaceError(segmentPath: string, error: unknown): IoError {
  return new IoError(
    `cannot append to event log segment ${segmentPath}: no space left on device; free space on that file system and retry -- nothing acknowledged was lost, and appends succeed again once there is room`,
    { cause: error },
  );
}

/** The IoError of a fail-stop writer: every append from now on gets it. */
export function failStopError(segmentPath: string, error: unknown): IoError {
  const message = (error as Error).message ?? String(error);
  return new IoError(
    `event log segment ${segmentPath} failed: ${message}; the writer stopped so that nothing is acknowledged on top of an unknown tail -- restart the server (reopen the log) so the tail is re-read and verified`,
    { cause: error },
  );
}

/** True when `error` (possibly wrapped) is a full file system or quota. */
export function isRecoverable(error: unknown): boolean {
  return isNoSpace(error);
}
