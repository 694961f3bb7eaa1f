import { assert } from './errors.js';
import type { EventOf, RecordedEvent } from './events.js';
import { eventMember } from './member-lookup.js';
import { dropBitmap, setStatus } from './member-transitions.js';
import type { ShadowSetState } from './shadow-set-state.js';

/**
 * The copy part of the state fold: a copy to a returning member (started, checkpointed,
 * completed, aborted) and the crash merge.
 */

/** CopyStarted: the returning member becomes a copy target. */
export function foldCopyStarted(
  state: ShadowSetState,
  event: EventOf<'CopyStarted'>,
  recorded: RecordedEvent,
): void {
  const m = eventMember(state, event.member, event);
  assert(m.status === 'returning', `CopyStarted for ${m.id} in status ${m.status}`);
  assert(
    eventMember(state, event.source, event).status === 'valid',
    `copy source ${event.source} is not valid`,
  );
  if (event.kind === 'mini') {
    assert(m.bitmap !== null, `minicopy of ${m.id} without a bitmap`);
    assert(m.bitmap.chunks.count() === event.chunks, `minicopy of ${m.id} plans ${event.chunks} chunks`);
  }
  setStatus(m, 'copying', recorded.position);
  m.copy = {
    position: recorded.position,
    recordedAt: recorded.recordedAt,
    source: event.source,
    kind: event.kind,
    reason: event.reason,
    plannedChunks: event.chunks,
    plannedBytes: event.bytes,
    chunksDone: 0,
    nextChunk: 0,
    bytesCopied: 0,
    owner: event.host ?? null,
    startAcked: [],
    finishing: null,
  };
}

/** CopyProgressed: a checkpoint; a resumed copy starts again at `nextChunk`. */
export function foldCopyProgressed(state: ShadowSetState, event: EventOf<'CopyProgressed'>): void {
  const m = eventMember(state, event.member, event);
  assert(m.copy !== null, `CopyProgressed for ${m.id} without a copy`);
  assert(event.chunksDone <= m.copy.plannedChunks, `copy of ${m.id} done past its plan`);
  m.copy.chunksDone = event.chunksDone;
  m.copy.nextChunk = event.nextChunk;
  m.copy.bytesCopied = event.bytesCopied;
}

/** CopyCompleted: the member is valid again and its bitmap is done with. */
export function foldCopyCompleted(
  state: ShadowSetState,
  event: EventOf<'CopyCompleted'>,
  position: number,
): void {
  const m = eventMember(state, event.member, event);
  assert(m.copy !== null, `CopyCompleted for ${m.id} without a copy`);
  setStatus(m, 'valid', position);
  m.copy = null;
  m.away = null;
  m.mount = null;
  m.bitmap = null;
  m.noBitmapReason = null;
}

/** CopyAborted: the member is dismounted again, keeping its bitmap if it could be fingerprinted. */
export function foldCopyAborted(
  state: ShadowSetState,
  event: EventOf<'CopyAborted'>,
  position: number,
): void {
  const m = eventMember(state, event.member, event);
  assert(m.copy !== null, `CopyAborted for ${m.id} without a copy`);
  setStatus(m, 'dismounted', position);
  m.copy = null;
  m.mount = null;
  // The bitmap still covers every chunk where the member may differ: chunks not copied
  // yet are in it, chunks copied are equal, and writes during the copy reached the member.
  // What changes is the member's content, so the fingerprint is taken anew.
  if (m.away) m.away.fingerprint = event.fingerprint;
  if (event.fingerprint === null && m.bitmap) {
    dropBitmap(
      m,
      `copy aborted at position ${position} and the member could not be fingerprinted (${event.reason})`,
    );
  }
}

/** MergeStarted: a crash merge from `event.source` begins. */
export function foldMergeStarted(
  state: ShadowSetState,
  event: EventOf<'MergeStarted'>,
  position: number,
): void {
  assert(
    eventMember(state, event.source, event).status === 'valid',
    `merge source ${event.source} is not valid`,
  );
  state.merge = {
    position,
    source: event.source,
    chunks: event.chunks,
    fromPosition: event.fromPosition,
  };
}

/** MergeCompleted: the members agree again. */
export function foldMergeCompleted(state: ShadowSetState, position: number): void {
  assert(state.merge !== null, `MergeCompleted at position ${position} without MergeStarted`);
  state.merge = null;
}
