import { planCopy } from './copy-planning.js';
import { sparseCopyNote } from './copy-sparse.js';
import { CommandRejectedError, InvalidArgumentError } from './errors.js';
import { EVENT_SCHEMA_VERSION, type ShadowEvent } from './events.js';
import { resolveMember } from './member-lookup.js';
import { checkCopyFinished } from './multi-host-decider.js';
import type {
  AbortCopy,
  CompleteCopy,
  CompleteMerge,
  ProgressCopy,
  StartCopy,
  StartMerge,
} from './shadow-set-commands.js';
import { type MemberState, type ShadowSetState, validMembers } from './shadow-set-state.js';

const v = EVENT_SCHEMA_VERSION;

/**
 * Decisions about copies and merges: starting a copy to a returning member (and planning
 * minicopy or full copy), checkpointing, completing and aborting it; starting and completing
 * a crash merge. Called by `decide` once the set is known to exist.
 */

/** StartCopy: plan and start the copy to a returning member. */
export function decideStartCopy(command: StartCopy, state: ShadowSetState): ShadowEvent[] {
  const m = resolveMember(state, command.member);
  if (m.status !== 'returning' || m.mount === null) {
    throw new CommandRejectedError(
      `copy to ${m.id} refused: it is ${m.status}, not returning; mount it first`,
    );
  }
  const source = validSource(state, command.source, `copy to ${m.id} refused: no valid source member`);
  if (state.merge !== null) {
    throw new CommandRejectedError(
      `copy to ${m.id} refused: ${state.setId} is merging; retry after the merge`,
    );
  }
  const plan = planCopy(m, state.geometry!, m.mount.policy, m.mount.fingerprint);
  return [
    {
      type: 'CopyStarted',
      v,
      member: m.id,
      source: source.id,
      kind: plan.kind,
      reason: plan.kind === 'full' ? `${plan.reason}; ${sparseCopyNote(state.origin)}` : plan.reason,
      chunks: plan.chunks,
      bytes: plan.bytes,
      ...(command.host === undefined ? {} : { host: command.host }),
    },
  ];
}

/** ProgressCopy: a checkpoint, which never goes backwards nor past the plan. */
export function decideProgressCopy(command: ProgressCopy, state: ShadowSetState): ShadowEvent[] {
  const m = copyTarget(state, command.member, 'progress');
  const copy = m.copy!;
  if (command.chunksDone < copy.chunksDone || command.chunksDone > copy.plannedChunks) {
    throw new InvalidArgumentError(
      `copy progress of ${m.id}: ${command.chunksDone} chunks done is outside ${copy.chunksDone}-${copy.plannedChunks}`,
    );
  }
  if (command.nextChunk < copy.nextChunk || command.nextChunk > state.geometry!.chunks) {
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

/** CompleteCopy: the target is valid again (on several hosts, only after every host stalled). */
export function decideCompleteCopy(command: CompleteCopy, state: ShadowSetState): ShadowEvent[] {
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

/** AbortCopy: the target is dismounted again. */
export function decideAbortCopy(command: AbortCopy, state: ShadowSetState): ShadowEvent[] {
  const m = copyTarget(state, command.member, 'abort');
  return [{ type: 'CopyAborted', v, member: m.id, reason: command.reason, fingerprint: command.fingerprint }];
}

/** StartMerge: a crash merge from the writes since the last sync. */
export function decideStartMerge(command: StartMerge, state: ShadowSetState): ShadowEvent[] {
  if (state.merge !== null) throw new CommandRejectedError(`${state.setId} is already merging`);
  const source = validSource(state, command.source, 'merge refused: no valid source member');
  const fromPosition = state.synced === null ? 0 : state.synced.position + 1;
  return [{ type: 'MergeStarted', v, source: source.id, chunks: command.chunks, fromPosition }];
}

/** CompleteMerge: the merge in progress is done. */
export function decideCompleteMerge(command: CompleteMerge, state: ShadowSetState): ShadowEvent[] {
  if (state.merge === null) throw new CommandRejectedError(`${state.setId} is not merging`);
  return [{ type: 'MergeCompleted', v, chunks: command.chunks, durationMs: command.durationMs }];
}

/** The source a copy or merge reads from: the one named, or the first valid member. */
function validSource(state: ShadowSetState, name: string | undefined, refusal: string): MemberState {
  const source = name === undefined ? validMembers(state)[0] : resolveMember(state, name);
  if (source === undefined || source.status !== 'valid') throw new CommandRejectedError(refusal);
  return source;
}

function copyTarget(state: ShadowSetState, name: string, what: string): MemberState {
  const m = resolveMember(state, name);
  if (m.status !== 'copying' || m.copy === null) {
    throw new CommandRejectedError(`cannot ${what} a copy to ${m.id}: no copy is running to it`);
  }
  return m;
}
