import { ChunkBitmap } from './chunk-bitmap.js';
import type { DismountPolicy, Fingerprint, RecordedEvent } from './events.js';
import type { MemberStatus } from './member-status.js';
import type { MemberState, ShadowSetState } from './shadow-set-state.js';

/**
 * The steps every state fold (membership, copy, multi-host) takes on one member: give it a
 * status, start or drop its write bitmap. One copy of each, so that the folds agree
 * on what "the bitmap starts here" means.
 */

/** Give the member a status, remembering the position of the event that gave it. */
export function setStatus(m: MemberState, status: MemberStatus, position: number): void {
  m.status = status;
  m.statusPosition = position;
}

/**
 * The member left the set (dismounted or failed) at `recorded`: remember how and when, for
 * its return; a pending return is void.
 */
export function setAway(
  m: MemberState,
  recorded: RecordedEvent,
  policy: DismountPolicy | 'failed',
  fingerprint: Fingerprint | null,
  error: string | null,
): void {
  m.away = { position: recorded.position, recordedAt: recorded.recordedAt, policy, fingerprint, error };
  m.mount = null;
}

/** Drop the member's write bitmap; `reason` tells an operator why it has none. */
export function dropBitmap(m: MemberState, reason: string): void {
  m.bitmap = null;
  m.noBitmapReason = reason;
}

/**
 * From `position` on, writes no longer reach the member: with policy minicopy its write bitmap
 * starts there (empty, exact to the position); with policy none it keeps no bitmap.
 */
export function startAwayBitmap(
  state: ShadowSetState,
  m: MemberState,
  policy: DismountPolicy,
  position: number,
  sinceTime: number,
): void {
  if (policy === 'minicopy') {
    m.bitmap = { sincePosition: position, sinceTime, chunks: new ChunkBitmap(state.geometry!.chunks) };
    m.noBitmapReason = null;
  } else {
    dropBitmap(m, `no bitmap: dismounted with policy none at position ${position}`);
  }
}
