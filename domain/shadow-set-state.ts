import { type CheckpointState, foldCheckpoint } from './checkpoint-fold.js';
import type { ChunkBitmap } from './chunk-bitmap.js';
import {
  foldCopyAborted,
  foldCopyCompleted,
  foldCopyProgressed,
  foldCopyStarted,
  foldMergeCompleted,
  foldMergeStarted,
} from './copy-fold.js';
import { assert } from './errors.js';
import type {
  CopyKind,
  DismountPolicy,
  Fingerprint,
  MountPolicy,
  RecordedEvent,
  SetOrigin,
  ShadowEvent,
} from './events.js';
import { chunkOf, type Geometry } from './geometry.js';
import type { MemberStatus } from './member-status.js';
import {
  foldBitmapDeleted,
  foldMemberDismounted,
  foldMemberFailed,
  foldMembersSynced,
  foldMountRequested,
  foldSetCreated,
} from './membership-fold.js';
import {
  foldCopyFinishing,
  foldDismountRequested,
  foldHostAcknowledged,
  foldHostJoined,
  foldHostLeft,
} from './multi-host-fold.js';

// Helpers of the folds that callers of the state use too; exported from here as before.
export { findMember } from './member-lookup.js';
export { allHostsAcked } from './multi-host-fold.js';

/**
 * The state of a shadow set as a fold over its events: members, write bitmaps, copies and
 * merges. The decider decides on it and every projection reads from it.
 *
 * `evolve` folds IN PLACE and returns the same object: replay must run at millions of events
 * per second, and copying a 4 MiB bitmap per write event is out of the question. Callers that
 * need to keep a state while folding further use {@link cloneState}.
 *
 * The fold is split like the decider: this file holds the state and the dispatcher;
 * `membership-fold.ts`, `copy-fold.ts` and `multi-host-fold.ts` hold what each event does.
 */
export interface ShadowSetState {
  /** Position of the last folded event; -1 before ShadowSetCreated. */
  position: number;
  /** recordedAt of the last folded event (ms since the epoch); 0 before any. */
  recordedAt: number;
  /** The set's name; empty before ShadowSetCreated. */
  setId: string;
  /** Volume geometry; null before ShadowSetCreated. */
  geometry: Geometry | null;
  /** Position and time of ShadowSetCreated. */
  createdAt: number;
  /**
   * How the members came to agree at creation (fresh images, assumed clean, or an initial
   * copy from the first member); null for a log written before origins were recorded.
   */
  origin: SetOrigin | null;
  /** Members in `--member` order. */
  members: MemberState[];
  /** The merge in progress, if any. */
  merge: MergeState | null;
  /** The last MembersSynced: every write at or below `position` is on every valid member. */
  synced: { position: number; eventPosition: number } | null;
  /** Write events folded so far (writes, trims and zeroes). */
  writeEvents: number;
  /** Hosts serving the set (HostJoined, not yet HostLeft); empty for a single-host set. */
  hosts: string[];
  /**
   * Bitmaps that application writes mark now (members away with a usable bitmap and no copy
   * running). Derived from `members`; kept as an array so the write fold is a plain loop.
   */
  marking: ChunkBitmap[];
  /** Named points of the log, in creation order (`shadowlog checkpoint`). */
  checkpoints: CheckpointState[];
}

/** One member of the set. */
export interface MemberState {
  /** Member id (`m1`, `m2`, ...). */
  readonly id: string;
  /** Image file or block device path. */
  readonly path: string;
  /** Where the member stands. */
  status: MemberStatus;
  /** Position of the event that gave the member its status. */
  statusPosition: number;
  /** How the member left, while it is away (dismounted, returning, copying, failed). */
  away: AwayState | null;
  /** The write bitmap, while one is kept for the member. */
  bitmap: WriteBitmapState | null;
  /**
   * Why the member has no usable bitmap, in words an operator can read; null while the bitmap
   * is usable or the member is valid.
   */
  noBitmapReason: string | null;
  /** The pending or running return. */
  mount: MountState | null;
  /** The copy running to this member. */
  copy: CopyState | null;
  /** The two-phase dismount in progress, on a set served by several hosts. */
  leaving: LeavingState | null;
}

/**
 * A two-phase dismount: every host first stops reading the member (`dismount-reads`); at the
 * last of those acknowledgements (the cut) writes stop reaching it and its bitmap starts; then
 * every host drains its writes to it (`dismount-writes`) and MemberDismounted follows.
 */
export interface LeavingState {
  /** Position of MemberDismountRequested. */
  readonly requestPosition: number;
  /** The requested policy. */
  readonly policy: DismountPolicy;
  /** The host that asked. */
  readonly requester: string;
  /** Hosts that read the member no more. */
  readsAcked: string[];
  /** Position after which no write reaches the member; null until every host acknowledged reads. */
  cutPosition: number | null;
  /** Hosts whose writes to the member are drained (after the cut). */
  writesAcked: string[];
}

/** How and when a member left the set. */
export interface AwayState {
  /** Position of MemberDismounted or MemberFailed. */
  readonly position: number;
  /** recordedAt of that event. */
  readonly recordedAt: number;
  /** Dismount policy, or `failed` for an expelled member. */
  readonly policy: DismountPolicy | 'failed';
  /** Fingerprint taken when the member left (or after an aborted copy); null if none. */
  fingerprint: Fingerprint | null;
  /** The I/O error of a failed member. */
  readonly error: string | null;
}

/** A member's write bitmap: the chunks written since it left. */
export interface WriteBitmapState {
  /** Position of the MemberDismounted that started it. */
  readonly sincePosition: number;
  /** recordedAt of that event. */
  readonly sinceTime: number;
  /** One bit per chunk. */
  readonly chunks: ChunkBitmap;
}

/** A member's request to return. */
export interface MountState {
  /** Position of MemberMountRequested. */
  readonly position: number;
  /** The requested policy. */
  readonly policy: MountPolicy;
  /** The member as found on return. */
  readonly fingerprint: Fingerprint | null;
  /**
   * Set for a member that was never in sync: ShadowSetCreated owes it a full copy from this
   * member (the first), because it may hold other data. Absent for an operator's mount.
   */
  readonly initialCopyFrom?: string;
}

/** A copy to a returning member. */
export interface CopyState {
  /** Position of CopyStarted. */
  readonly position: number;
  /** recordedAt of CopyStarted. */
  readonly recordedAt: number;
  /** The planned source member. */
  readonly source: string;
  /** Minicopy or full copy. */
  readonly kind: CopyKind;
  /** Why this kind, as recorded. */
  readonly reason: string;
  /** Chunks the copy must copy. */
  readonly plannedChunks: number;
  /** Bytes the copy must copy. */
  readonly plannedBytes: number;
  /** Chunks copied at the last checkpoint. */
  chunksDone: number;
  /** First chunk not yet known to be copied (resume point). */
  nextChunk: number;
  /** Bytes copied at the last checkpoint. */
  bytesCopied: number;
  /** The host running the copy on a set served by several hosts; null on a single host. */
  readonly owner: string | null;
  /** Hosts whose writes logged before CopyStarted are drained (the pass waits for all). */
  startAcked: string[];
  /** After CopyFinishing: the hosts whose writes are drained and stalled. */
  finishing: { position: number; acked: string[] } | null;
}

/** A crash merge in progress. */
export interface MergeState {
  /** Position of MergeStarted. */
  readonly position: number;
  /** Member whose data wins. */
  readonly source: string;
  /** Chunks to merge. */
  readonly chunks: number;
  /** First position whose writes may not be on every member. */
  readonly fromPosition: number;
}

/** The state before any event. */
export function initialState(): ShadowSetState {
  return {
    position: -1,
    recordedAt: 0,
    setId: '',
    geometry: null,
    createdAt: 0,
    origin: null,
    members: [],
    merge: null,
    synced: null,
    writeEvents: 0,
    hosts: [],
    marking: [],
    checkpoints: [],
  };
}

/** Members whose status is `valid`. */
export function validMembers(state: ShadowSetState): MemberState[] {
  return state.members.filter((m) => m.status === 'valid');
}

/**
 * True while application writes mark the member's bitmap: it has one, writes no longer reach
 * it, and no copy is running to it (a minicopy reads the bitmap it would otherwise mark).
 */
export function isMarking(m: MemberState): m is MemberState & { bitmap: WriteBitmapState } {
  return (
    m.bitmap !== null && (m.status === 'dismounted' || m.status === 'returning' || m.status === 'leaving')
  );
}

/** Derive `state.marking` from the members again (after any control event, clone or decode). */
export function refreshMarking(state: ShadowSetState): void {
  state.marking = [];
  for (const m of state.members) if (isMarking(m)) state.marking.push(m.bitmap.chunks);
}

/**
 * Fold one recorded event into `state` (in place) and return it. Events must come in
 * position order and follow the decider's rules; anything else is an invariant violation,
 * reported with the position, because a log that breaks the rules cannot be trusted.
 */
export function evolve(state: ShadowSetState, recorded: RecordedEvent): ShadowSetState {
  const event = recorded.event;
  const position = recorded.position;
  // Hot path first: write events are nearly all of a log.
  if (event.type === 'BlocksWritten' || event.type === 'BlocksTrimmed' || event.type === 'ZeroesWritten') {
    const geometry = state.geometry;
    // Tested before calling assert: its message would otherwise be built for every write.
    if (geometry === null || position !== state.position + 1) {
      assert(false, `write event out of order at position ${position}`);
    }
    const marking = state.marking;
    if (marking.length > 0) {
      const first = chunkOf(geometry, event.lbn);
      const last = chunkOf(geometry, event.lbn + event.count - 1);
      for (let i = 0; i < marking.length; i++) marking[i]!.set(first, last);
    }
    state.position = position;
    state.recordedAt = recorded.recordedAt;
    state.writeEvents++;
    return state;
  }
  if (event.type === 'ShadowSetCreated') {
    foldSetCreated(state, event, recorded);
  } else {
    assert(state.geometry !== null, `${event.type} at position ${position} before ShadowSetCreated`);
    assert(
      position === state.position + 1,
      `event at position ${position} follows position ${state.position}`,
    );
    evolveControl(state, event, recorded);
  }
  state.position = position;
  state.recordedAt = recorded.recordedAt;
  refreshMarking(state);
  return state;
}

/** Dispatch a control event to its fold: membership, copy or multi-host. */
function evolveControl(state: ShadowSetState, event: ShadowEvent, recorded: RecordedEvent): void {
  const position = recorded.position;
  switch (event.type) {
    // Membership.
    case 'MemberDismounted':
      foldMemberDismounted(state, event, recorded);
      break;
    case 'MemberMountRequested':
      foldMountRequested(state, event, position);
      break;
    case 'MemberFailed':
      foldMemberFailed(state, event, recorded);
      break;
    case 'BitmapDeleted':
      foldBitmapDeleted(state, event, position);
      break;
    case 'MembersSynced':
      foldMembersSynced(state, event, position);
      break;
    // Copy and merge.
    case 'CopyStarted':
      foldCopyStarted(state, event, recorded);
      break;
    case 'CopyProgressed':
      foldCopyProgressed(state, event);
      break;
    case 'CopyCompleted':
      foldCopyCompleted(state, event, position);
      break;
    case 'CopyAborted':
      foldCopyAborted(state, event, position);
      break;
    case 'MergeStarted':
      foldMergeStarted(state, event, position);
      break;
    case 'MergeCompleted':
      foldMergeCompleted(state, position);
      break;
    // Multi-host.
    case 'HostJoined':
      foldHostJoined(state, event);
      break;
    case 'HostLeft':
      foldHostLeft(state, event, position);
      break;
    case 'MemberDismountRequested':
      foldDismountRequested(state, event, position);
      break;
    case 'CopyFinishing':
      foldCopyFinishing(state, event, position);
      break;
    case 'HostAcknowledged':
      foldHostAcknowledged(state, event, position);
      break;
    case 'CheckpointCreated':
    case 'CheckpointDeleted':
      foldCheckpoint(state, event, recorded);
      break;
    case 'MountRefused':
    case 'DismountRefused':
      break;
    default:
      assert(false, `unexpected event ${event.type} at position ${position}`);
  }
}

/** A deep copy, for keeping a state while folding further (snapshots, time travel). */
export function cloneState(state: ShadowSetState): ShadowSetState {
  const members = state.members.map((m) => ({
    ...m,
    away: m.away ? { ...m.away } : null,
    bitmap: m.bitmap ? { ...m.bitmap, chunks: m.bitmap.chunks.clone() } : null,
    mount: m.mount ? { ...m.mount } : null,
    copy: m.copy
      ? {
          ...m.copy,
          startAcked: [...m.copy.startAcked],
          finishing: m.copy.finishing ? { ...m.copy.finishing, acked: [...m.copy.finishing.acked] } : null,
        }
      : null,
    leaving: m.leaving
      ? { ...m.leaving, readsAcked: [...m.leaving.readsAcked], writesAcked: [...m.leaving.writesAcked] }
      : null,
  }));
  const copy: ShadowSetState = {
    ...state,
    members,
    origin: state.origin
      ? { ...state.origin, created: [...state.origin.created], copied: [...state.origin.copied] }
      : null,
    merge: state.merge ? { ...state.merge } : null,
    synced: state.synced ? { ...state.synced } : null,
    hosts: [...state.hosts],
    marking: [],
    checkpoints: [...state.checkpoints],
  };
  refreshMarking(copy);
  return copy;
}
