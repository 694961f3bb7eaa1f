import { planCopy } from './copy-planning.js';
import { CommandRejectedError, InvalidArgumentError } from './errors.js';
import { EVENT_SCHEMA_VERSION, type ShadowEvent } from './events.js';
import { BLOCK_SIZE, checkRange, DEFAULT_CHUNK_BLOCKS, makeGeometry } from './geometry.js';
import { checkCopyFinished, checkSecondPhase, decideMultiHost } from './multi-host-decider.js';
import type { ShadowCommand } from './shadow-set-commands.js';
import { type MemberState, type ShadowSetState, validMembers } from './shadow-set-state.js';

const v = EVENT_SCHEMA_VERSION;
/** Members a set may have, as on OpenVMS V8.4 (up to six). */
export const MIN_MEMBERS = 2;
export const MAX_MEMBERS = 6;

/**
 * The shadow set decider: turn a command into the events that record it, or refuse it with
 * a CommandRejectedError naming the reason and the fix. Pure: it reads `state` and never
 * changes it; the caller appends the events and folds them with `evolve`.
 */
export function decide(command: ShadowCommand, state: ShadowSetState): ShadowEvent[] {
  if (command.type === 'CreateSet') return decideCreate(command, state);
  const geometry = state.geometry;
  if (geometry === null)
    throw new CommandRejectedError(`${command.type} refused: the shadow set does not exist`);
  switch (command.type) {
    case 'WriteBlocks': {
      checkRange(geometry, command.lbn, command.count);
      const type =
        command.kind === 'write'
          ? 'BlocksWritten'
          : command.kind === 'trim'
            ? 'BlocksTrimmed'
            : 'ZeroesWritten';
      return [{ type, v, lbn: command.lbn, count: command.count }];
    }
    case 'DismountMember': {
      const m = resolveMember(state, command.member);
      if (state.hosts.length > 0 || m.status === 'leaving') {
        checkSecondPhase(state, m);
        const policy = m.leaving!.policy;
        return [{ type: 'MemberDismounted', v, member: m.id, policy, fingerprint: command.fingerprint }];
      }
      checkDismountable(state, m, command.policy);
      return [
        {
          type: 'MemberDismounted',
          v,
          member: m.id,
          policy: command.policy,
          fingerprint: command.fingerprint,
        },
      ];
    }
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
    case 'RequestMount': {
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
      planCopy(m, geometry, command.policy, command.fingerprint);
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
    case 'StartCopy': {
      const m = resolveMember(state, command.member);
      if (m.status !== 'returning' || m.mount === null) {
        throw new CommandRejectedError(
          `copy to ${m.id} refused: it is ${m.status}, not returning; mount it first`,
        );
      }
      const source =
        command.source === undefined ? validMembers(state)[0] : resolveMember(state, command.source);
      if (source === undefined || source.status !== 'valid') {
        throw new CommandRejectedError(`copy to ${m.id} refused: no valid source member`);
      }
      if (state.merge !== null) {
        throw new CommandRejectedError(
          `copy to ${m.id} refused: ${state.setId} is merging; retry after the merge`,
        );
      }
      const plan = planCopy(m, geometry, m.mount.policy, m.mount.fingerprint);
      return [
        {
          type: 'CopyStarted',
          v,
          member: m.id,
          source: source.id,
          kind: plan.kind,
          reason: plan.reason,
          chunks: plan.chunks,
          bytes: plan.bytes,
          ...(command.host === undefined ? {} : { host: command.host }),
        },
      ];
    }
    case 'ProgressCopy': {
      const m = copyTarget(state, command.member, 'progress');
      const copy = m.copy!;
      if (command.chunksDone < copy.chunksDone || command.chunksDone > copy.plannedChunks) {
        throw new InvalidArgumentError(
          `copy progress of ${m.id}: ${command.chunksDone} chunks done is outside ${copy.chunksDone}-${copy.plannedChunks}`,
        );
      }
      if (command.nextChunk < copy.nextChunk || command.nextChunk > geometry.chunks) {
        throw new InvalidArgumentError(
          `copy progress of ${m.id}: next chunk ${command.nextChunk} goes backwards`,
        );
      }
      return [
        {
          type: 'CopyProgressed',
          v,
          member: m.id,
          chunksDone: command.chunksDone,
          nextChunk: command.nextChunk,
          bytesCopied: command.bytesCopied,
        },
      ];
    }
    case 'CompleteCopy': {
      const m = copyTarget(state, command.member, 'complete');
      checkCopyFinished(state, m);
      return [
        {
          type: 'CopyCompleted',
          v,
          member: m.id,
          bytesCopied: command.bytesCopied,
          durationMs: command.durationMs,
        },
      ];
    }
    case 'AbortCopy': {
      const m = copyTarget(state, command.member, 'abort');
      return [
        { type: 'CopyAborted', v, member: m.id, reason: command.reason, fingerprint: command.fingerprint },
      ];
    }
    case 'FailMember': {
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
    case 'DeleteBitmap': {
      const m = resolveMember(state, command.member);
      if (m.bitmap === null) {
        throw new CommandRejectedError(
          `${m.id} has no bitmap to delete (${m.noBitmapReason ?? 'it is valid'})`,
        );
      }
      if (m.status === 'copying') {
        throw new CommandRejectedError(
          `bitmap of ${m.id} is in use by the running minicopy; abort the copy first`,
        );
      }
      return [{ type: 'BitmapDeleted', v, member: m.id }];
    }
    case 'SyncMembers': {
      if (
        !Number.isSafeInteger(command.position) ||
        command.position < 0 ||
        command.position > state.position
      ) {
        throw new InvalidArgumentError(
          `members synced at position ${command.position}: must be from 0 to the last position ${state.position}`,
        );
      }
      if (state.synced !== null && command.position <= state.synced.position) return [];
      return [{ type: 'MembersSynced', v, position: command.position }];
    }
    case 'StartMerge': {
      if (state.merge !== null) throw new CommandRejectedError(`${state.setId} is already merging`);
      const source =
        command.source === undefined ? validMembers(state)[0] : resolveMember(state, command.source);
      if (source === undefined || source.status !== 'valid') {
        throw new CommandRejectedError('merge refused: no valid source member');
      }
      const fromPosition = state.synced === null ? 0 : state.synced.position + 1;
      return [{ type: 'MergeStarted', v, source: source.id, chunks: command.chunks, fromPosition }];
    }
    case 'CompleteMerge': {
      if (state.merge === null) throw new CommandRejectedError(`${state.setId} is not merging`);
      return [{ type: 'MergeCompleted', v, chunks: command.chunks, durationMs: command.durationMs }];
    }
  }
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

function decideCreate(
  command: Extract<ShadowCommand, { type: 'CreateSet' }>,
  state: ShadowSetState,
): ShadowEvent[] {
  if (state.geometry !== null) throw new CommandRejectedError(`shadow set ${state.setId} exists already`);
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/.test(command.setId)) {
    throw new InvalidArgumentError(
      `set name '${command.setId}' is invalid: use letters, digits, '.', '_' and '-' (up to 128), starting with a letter or digit`,
    );
  }
  const paths = command.memberPaths;
  if (paths.length < MIN_MEMBERS || paths.length > MAX_MEMBERS) {
    throw new InvalidArgumentError(
      `a shadow set has ${MIN_MEMBERS} to ${MAX_MEMBERS} members; ${paths.length} given`,
    );
  }
  if (new Set(paths).size !== paths.length) {
    throw new InvalidArgumentError(
      'the same member path is given twice; each member must be a different file or device',
    );
  }
  const geometry = makeGeometry(command.blocks, command.chunkBlocks ?? DEFAULT_CHUNK_BLOCKS);
  const expectedBytes = geometry.blocks * BLOCK_SIZE;
  if (command.memberSizesBytes.length !== paths.length) {
    throw new InvalidArgumentError('a size must be given for every member');
  }
  command.memberSizesBytes.forEach((size, i) => {
    if (size !== expectedBytes) {
      throw new InvalidArgumentError(
        `member ${paths[i]} is ${size} bytes but the set is ${expectedBytes} bytes; every member must have the set's size`,
      );
    }
  });
  return [
    {
      type: 'ShadowSetCreated',
      v,
      setId: command.setId,
      blockSize: 512,
      blocks: geometry.blocks,
      chunkBlocks: geometry.chunkBlocks,
      members: paths.map((path, i) => ({ id: `m${i + 1}`, path })),
    },
  ];
}

/** The member named by id or path, or a CommandRejectedError listing the members. */
export function resolveMember(state: ShadowSetState, name: string): MemberState {
  const found = state.members.find((m) => m.id === name) ?? state.members.find((m) => m.path === name);
  if (found === undefined) {
    const known = state.members.map((m) => `${m.id} (${m.path})`).join(', ');
    throw new CommandRejectedError(`member '${name}' is not in shadow set ${state.setId}; members: ${known}`);
  }
  return found;
}

function copyTarget(state: ShadowSetState, name: string, what: string): MemberState {
  const m = resolveMember(state, name);
  if (m.status !== 'copying' || m.copy === null) {
    throw new CommandRejectedError(`cannot ${what} a copy to ${m.id}: no copy is running to it`);
  }
  return m;
}
