import { decideCreateCheckpoint, decideDeleteCheckpoint } from './checkpoint-decider.js';
import {
  decideAbortCopy,
  decideCompleteCopy,
  decideCompleteMerge,
  decideProgressCopy,
  decideStartCopy,
  decideStartMerge,
} from './copy-decider.js';
import { planCopy } from './copy-planning.js';
import { decideCreate } from './create-decider.js';
import { CommandRejectedError, InvalidArgumentError } from './errors.js';
import { dismountPolicySchema, EVENT_SCHEMA_VERSION, mountPolicySchema, type ShadowEvent } from './events.js';
import { checkRange } from './geometry.js';
import { resolveMember } from './member-lookup.js';
import { checkSecondPhase, decideMultiHost } from './multi-host-decider.js';
import type {
  DeleteBitmap,
  DismountMember,
  FailMember,
  RecordRefusal,
  RequestMount,
  ShadowCommand,
  SyncMembers,
  WriteBlocks,
} from './shadow-set-commands.js';
import { type MemberState, type ShadowSetState, validMembers } from './shadow-set-state.js';

// Callers find a member by name through the decider, as before the split.
export { resolveMember } from './member-lookup.js';

const v = EVENT_SCHEMA_VERSION;

// The member count limits moved with the create decision; exported from here as before.
export { MAX_MEMBERS, MIN_MEMBERS } from './create-decider.js';

/**
 * The shadow set decider: turn a command into the events that record it, or refuse it with
 * a CommandRejectedError naming the reason and the fix. Pure: it reads `state` and never
 * changes it; the caller appends the events and folds them with `evolve`.
 *
 * Membership decisions are in this file; creating the set in `create-decider.ts`; copies and
 * merges in `copy-decider.ts`; the multi-host protocols in `multi-host-decider.ts`.
 */
export function decide(command: ShadowCommand, state: ShadowSetState): ShadowEvent[] {
  if (command.type === 'CreateSet') return decideCreate(command, state);
  if (state.geometry === null)
    throw new CommandRejectedError(`${command.type} refused: the shadow set does not exist`);
  switch (command.type) {
    case 'WriteBlocks':
      return decideWrite(command, state);
    case 'DismountMember':
      return decideDismount(command, state);
    case 'JoinHost':
    case 'LeaveHost':
    case 'RequestDismount':
    case 'Acknowledge':
    case 'FinishCopy':
      return decideMultiHost(
        command,
        state,
        (name) => resolveMember(state, name),
        (m, policy) => checkDismountable(state, m, policy),
      );
    case 'RequestMount':
      return decideMount(command, state);
    case 'StartCopy':
      return decideStartCopy(command, state);
    case 'ProgressCopy':
      return decideProgressCopy(command, state);
    case 'CompleteCopy':
      return decideCompleteCopy(command, state);
    case 'AbortCopy':
      return decideAbortCopy(command, state);
    case 'FailMember':
      return decideFail(command, state);
    case 'DeleteBitmap':
      return decideDeleteBitmap(command, state);
    case 'SyncMembers':
      return decideSync(command, state);
    case 'StartMerge':
      return decideStartMerge(command, state);
    case 'CompleteMerge':
      return decideCompleteMerge(command, state);
    case 'CreateCheckpoint':
      return decideCreateCheckpoint(command, state);
    case 'DeleteCheckpoint':
      return decideDeleteCheckpoint(command, state);
    case 'RecordRefusal':
      return decideRefusal(command, state);
  }
}

function decideWrite(command: WriteBlocks, state: ShadowSetState): ShadowEvent[] {
  checkRange(state.geometry!, command.lbn, command.count);
  const type =
    command.kind === 'write' ? 'BlocksWritten' : command.kind === 'trim' ? 'BlocksTrimmed' : 'ZeroesWritten';
  return [{ type, v, lbn: command.lbn, count: command.count }];
}

/** On a set served by several hosts (or a member already leaving) this is phase two of the dismount. */
function decideDismount(command: DismountMember, state: ShadowSetState): ShadowEvent[] {
  const m = resolveMember(state, command.member);
  if (state.hosts.length > 0 || m.status === 'leaving') {
    checkSecondPhase(state, m);
    const policy = m.leaving!.policy;
    return [{ type: 'MemberDismounted', v, member: m.id, policy, fingerprint: command.fingerprint }];
  }
  checkDismountable(state, m, command.policy);
  return [
    { type: 'MemberDismounted', v, member: m.id, policy: command.policy, fingerprint: command.fingerprint },
  ];
}

function decideMount(command: RequestMount, state: ShadowSetState): ShadowEvent[] {
  const m = resolveMember(state, command.member);
  if (m.status !== 'dismounted' && m.status !== 'failed') {
    throw new CommandRejectedError(
      `mount of ${m.id} refused: it is ${m.status}; only a dismounted or failed member can return`,
    );
  }
  if (state.merge !== null) {
    throw new CommandRejectedError(
      `mount of ${m.id} refused: ${state.setId} is merging (since position ${state.merge.position}); retry after the merge completes`,
    );
  }
  // Refuse now rather than at copy start: the operator asked for minicopy and must hear why not.
  planCopy(m, state.geometry!, command.policy, command.fingerprint);
  return [
    {
      type: 'MemberMountRequested',
      v,
      member: m.id,
      policy: command.policy,
      fingerprint: command.fingerprint,
    },
  ];
}

function decideFail(command: FailMember, state: ShadowSetState): ShadowEvent[] {
  const m = resolveMember(state, command.member);
  if (m.status === 'failed' || m.status === 'dismounted') {
    throw new CommandRejectedError(`${m.id} cannot fail: it is ${m.status} and receives no I/O`);
  }
  if (m.status === 'valid' && validMembers(state).length <= 1) {
    // OpenVMS keeps the last member: expelling it would leave no copy of the data.
    throw new CommandRejectedError(
      `${m.id} is the last valid member of ${state.setId} and is kept; the I/O fails instead: ${command.error}`,
    );
  }
  if (state.members.some((o) => o.copy?.source === m.id) && validMembers(state).length <= 1) {
    throw new CommandRejectedError(`${m.id} is the only copy source and is kept`);
  }
  return [{ type: 'MemberFailed', v, member: m.id, error: command.error }];
}

function decideDeleteBitmap(command: DeleteBitmap, state: ShadowSetState): ShadowEvent[] {
  const m = resolveMember(state, command.member);
  if (m.bitmap === null) {
    throw new CommandRejectedError(`${m.id} has no bitmap to delete (${m.noBitmapReason ?? 'it is valid'})`);
  }
  if (m.status === 'copying') {
    throw new CommandRejectedError(
      `bitmap of ${m.id} is in use by the running minicopy; abort the copy first`,
    );
  }
  return [{ type: 'BitmapDeleted', v, member: m.id }];
}

/** A refusal is recorded as it was given, clipped to what the event holds. */
function decideRefusal(command: RecordRefusal, state: ShadowSetState): ShadowEvent[] {
  const m = resolveMember(state, command.member);
  const reason = command.reason.slice(0, 1000) || 'refused';
  if (command.refused === 'mount') {
    const policy = mountPolicySchema.parse(command.policy);
    return [{ type: 'MountRefused', v, member: m.id, policy, reason }];
  }
  const policy = dismountPolicySchema.parse(command.policy);
  return [{ type: 'DismountRefused', v, member: m.id, policy, reason }];
}

/** A sync point at or below the last one decides nothing: the sync point only moves forward. */
function decideSync(command: SyncMembers, state: ShadowSetState): ShadowEvent[] {
  if (!Number.isSafeInteger(command.position) || command.position < 0 || command.position > state.position) {
    throw new InvalidArgumentError(
      `members synced at position ${command.position}: must be from 0 to the last position ${state.position}`,
    );
  }
  if (state.synced !== null && command.position <= state.synced.position) return [];
  return [{ type: 'MembersSynced', v, position: command.position }];
}

/** Refuse a dismount the set cannot take: the member must be valid, not the last one, not a copy or merge source. */
function checkDismountable(state: ShadowSetState, m: MemberState, policy: 'minicopy' | 'none'): void {
  if (m.status !== 'valid') {
    throw new CommandRejectedError(`dismount of ${m.id} refused: it is ${m.status}, not a valid member`);
  }
  if (validMembers(state).length <= 1) {
    throw new CommandRejectedError(
      `dismount of ${m.id} refused: it is the last valid member of ${state.setId}; mount another member first`,
    );
  }
  if (policy === 'minicopy' && state.merge !== null) {
    throw new CommandRejectedError(
      `dismount of ${m.id} with policy minicopy refused: ${state.setId} is merging (since position ${state.merge.position}); retry after the merge completes`,
    );
  }
  const copying = state.members.find((o) => o.copy?.source === m.id);
  if (copying) {
    throw new CommandRejectedError(
      `dismount of ${m.id} refused: it is the source of the copy to ${copying.id}; wait for the copy or abort it`,
    );
  }
  if (state.merge?.source === m.id) {
    throw new CommandRejectedError(`dismount of ${m.id} refused: it is the source of the merge in progress`);
  }
}
