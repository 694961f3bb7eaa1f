import { assert } from './errors.js';
import type { EventOf, RecordedEvent, ShadowSetCreated } from './events.js';
import { makeGeometry } from './geometry.js';
import { eventMember } from './member-lookup.js';
import { dropBitmap, setAway, setStatus, startAwayBitmap } from './member-transitions.js';
import { assertWritesDrained } from './multi-host-fold.js';
import type { ShadowSetState } from './shadow-set-state.js';

/**
 * The membership part of the state fold: the set and its members coming into being, members
 * leaving (dismount, failure) and asking to return, bitmaps deleted, and the sync point below
 * which every write is on every valid member.
 */

/**
 * ShadowSetCreated: the set, its geometry and its members, all valid except those owed the
 * initial copy: they start as returning members asking for a full copy from the first member,
 * so the normal copy machinery (and recovery at open) runs it.
 */
export function foldSetCreated(
  state: ShadowSetState,
  event: ShadowSetCreated,
  recorded: RecordedEvent,
): void {
  assert(state.position === -1 && recorded.position === 0, 'ShadowSetCreated must be the first event');
  state.setId = event.setId;
  state.geometry = makeGeometry(event.blocks, event.chunkBlocks);
  state.createdAt = recorded.recordedAt;
  const origin = event.origin ?? null;
  state.origin =
    origin === null ? null : { ...origin, created: [...origin.created], copied: [...origin.copied] };
  const first = event.members[0]!.id;
  const copied = new Set(origin?.copied ?? []);
  assert(!copied.has(first), `ShadowSetCreated: the first member ${first} cannot get the initial copy`);
  for (const id of copied)
    assert(
      event.members.some((m) => m.id === id),
      `ShadowSetCreated: initial copy to ${id}, not a member`,
    );
  state.members = event.members.map((m) => {
    const owed = copied.has(m.id);
    return {
      id: m.id,
      path: m.path,
      status: owed ? 'returning' : 'valid',
      statusPosition: 0,
      away: null,
      bitmap: null,
      noBitmapReason: owed ? `no bitmap: the initial copy from ${first} has not completed` : null,
      mount: owed ? { position: 0, policy: 'full', fingerprint: null, initialCopyFrom: first } : null,
      copy: null,
      leaving: null,
    };
  });
}

/**
 * MemberDismounted: the member leaves. On a single host its bitmap (policy minicopy) starts
 * here; as phase two of a multi-host dismount, the bitmap started at the cut and stays.
 */
export function foldMemberDismounted(
  state: ShadowSetState,
  event: EventOf<'MemberDismounted'>,
  recorded: RecordedEvent,
): void {
  const position = recorded.position;
  const m = eventMember(state, event.member, event);
  const twoPhase = m.status === 'leaving';
  if (twoPhase) assertWritesDrained(state, m);
  else assert(m.status === 'valid', `MemberDismounted of ${m.id} in status ${m.status}`);
  setStatus(m, 'dismounted', position);
  setAway(m, recorded, event.policy, event.fingerprint, null);
  m.leaving = null;
  if (!twoPhase) startAwayBitmap(state, m, event.policy, position, recorded.recordedAt);
}

/** MemberMountRequested: a dismounted or failed member asks to return. */
export function foldMountRequested(
  state: ShadowSetState,
  event: EventOf<'MemberMountRequested'>,
  position: number,
): void {
  const m = eventMember(state, event.member, event);
  assert(m.status === 'dismounted' || m.status === 'failed', `mount of ${m.id} in status ${m.status}`);
  setStatus(m, 'returning', position);
  m.mount = { position, policy: event.policy, fingerprint: event.fingerprint };
}

/**
 * MemberFailed: the member is expelled after an I/O error. A member that fails while leaving
 * (several hosts, a dismount in its phases) is failed, not leaving: its dismount is over, no
 * host owes an acknowledgement for it, and the cut must not start a bitmap later.
 */
export function foldMemberFailed(
  state: ShadowSetState,
  event: EventOf<'MemberFailed'>,
  recorded: RecordedEvent,
): void {
  const position = recorded.position;
  const m = eventMember(state, event.member, event);
  assert(m.status !== 'failed', `MemberFailed for ${m.id} already failed`);
  setStatus(m, 'failed', position);
  m.copy = null;
  m.leaving = null;
  setAway(m, recorded, 'failed', null, event.error);
  // A failed member returns with a full copy: what it holds is unknown.
  dropBitmap(m, `no bitmap: member failed at position ${position} (${event.error})`);
}

/** BitmapDeleted: the operator gave up the member's bitmap; its return is a full copy. */
export function foldBitmapDeleted(
  state: ShadowSetState,
  event: EventOf<'BitmapDeleted'>,
  position: number,
): void {
  const m = eventMember(state, event.member, event);
  assert(m.bitmap !== null, `BitmapDeleted for ${m.id} without a bitmap`);
  dropBitmap(m, `bitmap deleted at position ${position}`);
}

/** MembersSynced: every write at or below `event.position` is on every valid member. */
export function foldMembersSynced(
  state: ShadowSetState,
  event: EventOf<'MembersSynced'>,
  position: number,
): void {
  assert(event.position < position, `MembersSynced(${event.position}) at position ${position}`);
  if (state.synced === null || event.position > state.synced.position) {
    state.synced = { position: event.position, eventPosition: position };
  }
}
