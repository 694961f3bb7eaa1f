import type { RecoveryReport } from '../../adapters/store/embedded/index.js';
import type { DiskState } from './crash-disk-state.js';

/** How the log came back from a crash state. */
export type LogOutcome = 'clean' | 'cut' | 'kept-unacknowledged';

/**
 * What opening the rebuilt log must give, and what it gave. Every state built here is one a
 * power loss can leave, so the log must open, and:
 * - with only durable bytes: exactly the durable records, no cut reported;
 * - with the next batch torn: every durable record kept (they may have been acknowledged) and
 *   none past the batch. Intact whole appends of the unacknowledged batch may be kept. When
 *   nothing of it is kept, a cut is reported at its first byte; when all its records are
 *   kept though bytes are missing, a cut is reported too.
 * Returns the outcome, or throws with what is wrong.
 */
export function logVerdict(disk: DiskState, lastPosition: number, recovery: RecoveryReport): LogOutcome {
  const durable = disk.durable?.lastPosition ?? -1;
  const fail = (why: string): never => {
    throw new Error(`log: ${why} (recovery: ${JSON.stringify(recovery)})`);
  };
  if (disk.torn === null) {
    if (recovery.truncated) fail('a log of durable bytes only reported a torn tail');
    if (lastPosition !== durable) fail(`opened at position ${lastPosition}, ${durable} was durable`);
    return 'clean';
  }
  const torn = disk.torn;
  const whole = disk.next!.lastPosition;
  if (lastPosition < durable)
    fail(`durable records lost: the log ends at ${lastPosition}, ${durable} was durable`);
  if (lastPosition > whole)
    fail(`the log ends at ${lastPosition}, past the torn batch's last position ${whole}`);
  if (!torn.damaged) return lastPosition === durable ? 'clean' : 'kept-unacknowledged';
  if (lastPosition === durable) {
    // Only zeros of the batch reached the disk: that is the zero tail after the last seal, the
    // end of the data, clean (the writer zero-fills ahead, zero-fill-ahead.ts).
    if (torn.allZero && !recovery.truncated) return 'clean';
    // Bytes were there and none of them kept: a cut, reported, at the batch's first byte.
    if (!recovery.truncated) fail(`the torn batch (${torn.how}) was dropped without a reported cut`);
    if (recovery.segment !== torn.segment || recovery.offset !== torn.from) {
      fail(
        `the cut is at ${recovery.segment}@${recovery.offset}, the torn batch starts at ${torn.segment}@${torn.from}`,
      );
    }
    return 'cut';
  }
  // Every record kept, yet bytes of the batch are missing (its seal): something was cut and must be said.
  // In between, the tear may have ended exactly after a whole append, leaving nothing to cut.
  if (lastPosition === whole && !recovery.truncated) {
    fail(`the torn batch (${torn.how}) opened whole without a reported cut`);
  }
  return 'kept-unacknowledged';
}
