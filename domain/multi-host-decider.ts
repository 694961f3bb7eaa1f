import { CommandRejectedError } from './errors.js';
import { EVENT_SCHEMA_VERSION, type ShadowEvent } from './events.js';
import type { Acknowledge, FinishCopy, JoinHost, LeaveHost, RequestDismount } from './shadow-set-commands.js';
import { allHostsAcked, type MemberState, type ShadowSetState } from './shadow-set-state.js';

const v = EVENT_SCHEMA_VERSION;

/**
 * Decisions of the multi-host protocols (a set served by several hosts through one stream):
 * hosts joining and leaving, the two-phase dismount, and the cluster-wide stall that ends a
 * copy. Acknowledgements are idempotent: a repeated one decides nothing.
 */
export function decideMultiHost(
  command: JoinHost | LeaveHost | RequestDismount | Acknowledge | FinishCopy,
  state: ShadowSetState,
  resolve: (name: string) => MemberState,
  checkDismount: (m: MemberState, policy: 'minicopy' | 'none') => void,
): ShadowEvent[] {
  switch (command.type) {
    case 'JoinHost':
      return decideJoin(command, state);
    case 'LeaveHost':
      return decideLeave(command, state);
    case 'RequestDismount': {
      requireHost(state, command.host);
      const m = resolve(command.member);
      checkDismount(m, command.policy);
      return [
        { type: 'MemberDismountRequested', v, member: m.id, policy: command.policy, host: command.host },
      ];
    }
    case 'Acknowledge':
      requireHost(state, command.host);
      return decideAcknowledge(command, resolve(command.member));
    case 'FinishCopy':
      return decideFinishCopy(command, resolve(command.member));
  }
}

function decideJoin(command: JoinHost, state: ShadowSetState): ShadowEvent[] {
  if (state.hosts.includes(command.host)) return [];
  // A new host would owe acknowledgements for a protocol it never saw the start of.
  const busy = state.members.find((m) => m.leaving !== null || (m.copy !== null && m.copy.owner !== null));
  if (busy) {
    throw new CommandRejectedError(
      `host '${command.host}' cannot join ${state.setId} while ${busy.id} is ${busy.status}; retry when it is done`,
    );
  }
  return [{ type: 'HostJoined', v, host: command.host }];
}

function decideLeave(command: LeaveHost, state: ShadowSetState): ShadowEvent[] {
  if (!state.hosts.includes(command.host)) return [];
  const events: ShadowEvent[] = [{ type: 'HostLeft', v, host: command.host }];
  // A copy the departed host ran cannot finish; its target got only that host's writes
  // and its bitmap does not cover the others', so it is aborted without a fingerprint:
  // the bitmap is dropped and the member's next return is a full copy (docs/reference.md: the
  // copy continues as a full copy when the bitmap cannot be trusted).
  for (const m of state.members) {
    if (m.copy?.owner === command.host) {
      events.push({
        type: 'CopyAborted',
        v,
        member: m.id,
        reason: `host ${command.host} left the set during the copy; return the member again (full copy)`,
        fingerprint: null,
      });
    }
  }
  return events;
}

/** A step acknowledged already decides nothing; one the member is not at is refused. */
function decideAcknowledge(command: Acknowledge, m: MemberState): ShadowEvent[] {
  if (command.step === 'copy-finish') {
    if (!m.copy?.finishing) throw new CommandRejectedError(`no copy to ${m.id} is finishing`);
    if (m.copy.finishing.acked.includes(command.host)) return [];
  } else if (command.step === 'copy-start') {
    if (m.copy === null) throw new CommandRejectedError(`no copy to ${m.id} is running`);
    if (m.copy.startAcked.includes(command.host)) return [];
  } else {
    if (m.leaving === null) throw new CommandRejectedError(`${m.id} is not leaving`);
    if (command.step === 'dismount-writes' && m.leaving.cutPosition === null) {
      throw new CommandRejectedError(
        `${m.id} has no cut yet: writes cannot be drained before every host stopped reading it`,
      );
    }
    const acked = command.step === 'dismount-reads' ? m.leaving.readsAcked : m.leaving.writesAcked;
    if (acked.includes(command.host)) return [];
  }
  return [{ type: 'HostAcknowledged', v, host: command.host, member: m.id, step: command.step }];
}

function decideFinishCopy(command: FinishCopy, m: MemberState): ShadowEvent[] {
  if (m.copy === null || m.copy.owner !== command.host) {
    throw new CommandRejectedError(`${command.host} runs no copy to ${m.id}`);
  }
  if (m.copy.finishing !== null) return [];
  return [{ type: 'CopyFinishing', v, member: m.id, host: command.host }];
}

/** On a set served by several hosts, a dismount is recorded only after every host drained its writes. */
export function checkSecondPhase(state: ShadowSetState, m: MemberState): void {
  if (m.status !== 'leaving' || m.leaving === null) {
    throw new CommandRejectedError(
      `dismount of ${m.id} refused: ${state.setId} is served by ${state.hosts.length} hosts; request the dismount first so every host can stop writing it`,
    );
  }
  if (m.leaving.cutPosition === null || !allHostsAcked(state, m.leaving.writesAcked)) {
    const waiting = state.hosts.filter((h) => !m.leaving!.writesAcked.includes(h));
    throw new CommandRejectedError(
      `dismount of ${m.id} waits for hosts ${waiting.join(', ')} to acknowledge`,
    );
  }
}

/** On a set served by several hosts, a copy completes only after every host stalled its writes. */
export function checkCopyFinished(state: ShadowSetState, m: MemberState): void {
  const copy = m.copy;
  if (copy === null || copy.owner === null || state.hosts.length === 0) return;
  if (copy.finishing === null || !allHostsAcked(state, copy.finishing.acked)) {
    throw new CommandRejectedError(
      `copy to ${m.id} cannot complete before every host stalled its writes (CopyFinishing)`,
    );
  }
}

function requireHost(state: ShadowSetState, host: string): void {
  if (!state.hosts.includes(host)) {
    throw new CommandRejectedError(`host '${host}' does not serve ${state.setId}; it must join first`);
  }
}
