import { assert } from './errors.js';
import type { EventOf } from './events.js';
import { eventMember } from './member-lookup.js';
import { setStatus, startAwayBitmap } from './member-transitions.js';
import type { MemberState, ShadowSetState } from './shadow-set-state.js';

/**
 * The multi-host part of the state fold (a set served by several hosts through one stream),
 * as `multi-host-decider.ts` is of the decider: hosts joining and leaving, the two-phase
 * dismount with its cut, and the acknowledgements that start and finish a copy.
 */

/** True once every host serving the set is in `acked`. */
export function allHostsAcked(state: ShadowSetState, acked: readonly string[]): boolean {
  return state.hosts.every((h) => acked.includes(h));
}

/** Acknowledgements are idempotent: a host is in an acknowledgement list once. */
function addHost(acked: string[], host: string): void {
  if (!acked.includes(host)) acked.push(host);
}

/** HostJoined: the host serves the set from now on. */
export function foldHostJoined(state: ShadowSetState, event: EventOf<'HostJoined'>): void {
  addHost(state.hosts, event.host);
}

/** HostLeft: the host owes no acknowledgement any more. */
export function foldHostLeft(state: ShadowSetState, event: EventOf<'HostLeft'>, position: number): void {
  state.hosts = state.hosts.filter((h) => h !== event.host);
  // The hosts left may all have acknowledged already.
  for (const m of state.members) if (m.leaving) cutIfAllRead(state, m, position);
}

/** MemberDismountRequested: phase one of a two-phase dismount starts. */
export function foldDismountRequested(
  state: ShadowSetState,
  event: EventOf<'MemberDismountRequested'>,
  position: number,
): void {
  const m = eventMember(state, event.member, event);
  assert(m.status === 'valid', `MemberDismountRequested of ${m.id} in status ${m.status}`);
  setStatus(m, 'leaving', position);
  m.leaving = {
    requestPosition: position,
    policy: event.policy,
    requester: event.host,
    readsAcked: [],
    cutPosition: null,
    writesAcked: [],
  };
}

/** CopyFinishing: the copy's owner asks every host to drain and stall its writes. */
export function foldCopyFinishing(
  state: ShadowSetState,
  event: EventOf<'CopyFinishing'>,
  position: number,
): void {
  const m = eventMember(state, event.member, event);
  assert(m.copy !== null && m.copy.finishing === null, `CopyFinishing for ${m.id} without a running copy`);
  m.copy.finishing = { position, acked: [] };
}

/** HostAcknowledged: one host did one step of a multi-host protocol. */
export function foldHostAcknowledged(
  state: ShadowSetState,
  event: EventOf<'HostAcknowledged'>,
  position: number,
): void {
  const m = eventMember(state, event.member, event);
  if (event.step === 'copy-finish') {
    assert(m.copy?.finishing, `copy-finish acknowledgement for ${m.id} without CopyFinishing`);
    addHost(m.copy.finishing.acked, event.host);
    return;
  }
  if (event.step === 'copy-start') {
    assert(m.copy !== null, `copy-start acknowledgement for ${m.id} without a copy`);
    addHost(m.copy.startAcked, event.host);
    return;
  }
  assert(m.leaving !== null, `${event.step} acknowledgement for ${m.id}, which is not leaving`);
  if (event.step === 'dismount-reads') {
    addHost(m.leaving.readsAcked, event.host);
    cutIfAllRead(state, m, position);
  } else {
    assert(m.leaving.cutPosition !== null, `dismount-writes acknowledgement for ${m.id} before the cut`);
    addHost(m.leaving.writesAcked, event.host);
  }
}

/** Phase two of a two-phase dismount may be recorded only once every host drained its writes. */
export function assertWritesDrained(state: ShadowSetState, m: MemberState): void {
  assert(
    m.leaving !== null && m.leaving.cutPosition !== null && allHostsAcked(state, m.leaving.writesAcked),
    `MemberDismounted of ${m.id} before every host drained its writes`,
  );
}

/**
 * At the last `dismount-reads` acknowledgement, the cut: writes after it no longer reach the
 * member, so its write bitmap (policy minicopy) starts here, exact to the position.
 */
function cutIfAllRead(state: ShadowSetState, m: MemberState, position: number): void {
  const leaving = m.leaving!;
  if (leaving.cutPosition !== null || !allHostsAcked(state, leaving.readsAcked)) return;
  leaving.cutPosition = position;
  // state.recordedAt is still the previous event's time here (evolve sets it after the fold).
  startAwayBitmap(state, m, leaving.policy, position, state.recordedAt);
}
