import { ChunkBitmap } from './chunk-bitmap.js';
import { assert } from './errors.js';
import type {
  CopyKind,
  DismountPolicy,
  Fingerprint,
  MountPolicy,
  RecordedEvent,
  ShadowEvent,
  ShadowSetCreated,
} from './events.js';
import { type Geometry, makeGeometry } from './geometry.js';
import type { MemberStatus } from './member-status.js';

/**
 * The state of a shadow set as a fold over its events: members, write bitmaps, copies and
 * merges. The decider decides on it and every projection reads from it.
 *
 * `evolve` folds IN PLACE and returns the same object: replay must run at millions of events
 * per second, and copying a 4 MiB bitmap per write event is out of the question. Callers that
 * need to keep a state while folding further use {@link cloneState}.
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
    members: [],
    merge: null,
    synced: null,
    writeEvents: 0,
    hosts: [],
    marking: [],
  };
}

/** True once every host serving the set is in `acked`. */
export function allHostsAcked(state: ShadowSetState, acked: readonly string[]): boolean {
  return state.hosts.every((h) => acked.includes(h));
}

/** The member with this id, or undefined. */
export function findMember(state: ShadowSetState, id: string): MemberState | undefined {
  for (const member of state.members) if (member.id === id) return member;
  return undefined;
}

/** Members whose status is `valid`. */
export function validMembers(state: ShadowSetState): MemberState[] {
  return state.members.filter((m) => m.status === 'valid');
}

function member(state: ShadowSetState, id: string, event: ShadowEvent): MemberState {
  const found = findMember(state, id);
  assert(found, `${event.type} names unknown member '${id}'`);
  return found;
}

function refreshMarking(state: ShadowSetState): void {
  state.marking = [];
  for (const m of state.members) {
    if (m.bitmap && (m.status === 'dismounted' || m.status === 'returning' || m.status === 'leaving')) {
      state.marking.push(m.bitmap.chunks);
    }
  }
}

function setStatus(m: MemberState, status: MemberStatus, position: number): void {
  m.status = status;
  m.statusPosition = position;
}

function dropBitmap(m: MemberState, reason: string): void {
  m.bitmap = null;
  m.noBitmapReason = reason;
}

function created(state: ShadowSetState, event: ShadowSetCreated, recorded: RecordedEvent): void {
  assert(state.position === -1 && recorded.position === 0, 'ShadowSetCreated must be the first event');
  state.setId = event.setId;
  state.geometry = makeGeometry(event.blocks, event.chunkBlocks);
  state.createdAt = recorded.recordedAt;
  state.members = event.members.map((m) => ({
    id: m.id,
    path: m.path,
    status: 'valid',
    statusPosition: 0,
    away: null,
    bitmap: null,
    noBitmapReason: null,
    mount: null,
    copy: null,
    leaving: null,
  }));
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
    assert(
      geometry !== null && position === state.position + 1,
      `write event out of order at position ${position}`,
    );
    const marking = state.marking;
    if (marking.length > 0) {
      const first = Math.floor(event.lbn / geometry.chunkBlocks);
      const last = Math.floor((event.lbn + event.count - 1) / geometry.chunkBlocks);
      for (let i = 0; i < marking.length; i++) marking[i]!.set(first, last);
    }
    state.position = position;
    state.recordedAt = recorded.recordedAt;
    state.writeEvents++;
    return state;
  }
  if (event.type === 'ShadowSetCreated') {
    created(state, event, recorded);
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

function evolveControl(state: ShadowSetState, event: ShadowEvent, recorded: RecordedEvent): void {
  const position = recorded.position;
  const geometry = state.geometry!;
  switch (event.type) {
    case 'MemberDismounted': {
      const m = member(state, event.member, event);
      const twoPhase = m.status === 'leaving';
      if (twoPhase) {
        assert(
          m.leaving !== null && m.leaving.cutPosition !== null && allHostsAcked(state, m.leaving.writesAcked),
          `MemberDismounted of ${m.id} before every host drained its writes`,
        );
      } else {
        assert(m.status === 'valid', `MemberDismounted of ${m.id} in status ${m.status}`);
      }
      setStatus(m, 'dismounted', position);
      m.away = {
        position,
        recordedAt: recorded.recordedAt,
        policy: event.policy,
        fingerprint: event.fingerprint,
        error: null,
      };
      m.mount = null;
      m.leaving = null;
      // Phase two of a multi-host dismount: the bitmap started at the cut and stays.
      if (twoPhase) return;
      if (event.policy === 'minicopy') {
        m.bitmap = {
          sincePosition: position,
          sinceTime: recorded.recordedAt,
          chunks: new ChunkBitmap(geometry.chunks),
        };
        m.noBitmapReason = null;
      } else {
        dropBitmap(m, `no bitmap: dismounted with policy none at position ${position}`);
      }
      return;
    }
    case 'MemberMountRequested': {
      const m = member(state, event.member, event);
      assert(m.status === 'dismounted' || m.status === 'failed', `mount of ${m.id} in status ${m.status}`);
      setStatus(m, 'returning', position);
      m.mount = { position, policy: event.policy, fingerprint: event.fingerprint };
      return;
    }
    case 'CopyStarted': {
      const m = member(state, event.member, event);
      assert(m.status === 'returning', `CopyStarted for ${m.id} in status ${m.status}`);
      assert(
        member(state, event.source, event).status === 'valid',
        `copy source ${event.source} is not valid`,
      );
      if (event.kind === 'mini') {
        assert(m.bitmap !== null, `minicopy of ${m.id} without a bitmap`);
        assert(m.bitmap.chunks.count() === event.chunks, `minicopy of ${m.id} plans ${event.chunks} chunks`);
      }
      setStatus(m, 'copying', position);
      m.copy = {
        position,
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
      return;
    }
    case 'CopyProgressed': {
      const m = member(state, event.member, event);
      assert(m.copy !== null, `CopyProgressed for ${m.id} without a copy`);
      assert(event.chunksDone <= m.copy.plannedChunks, `copy of ${m.id} done past its plan`);
      m.copy.chunksDone = event.chunksDone;
      m.copy.nextChunk = event.nextChunk;
      m.copy.bytesCopied = event.bytesCopied;
      return;
    }
    case 'CopyCompleted': {
      const m = member(state, event.member, event);
      assert(m.copy !== null, `CopyCompleted for ${m.id} without a copy`);
      setStatus(m, 'valid', position);
      m.copy = null;
      m.away = null;
      m.mount = null;
      m.bitmap = null;
      m.noBitmapReason = null;
      return;
    }
    case 'CopyAborted': {
      const m = member(state, event.member, event);
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
      return;
    }
    case 'MemberFailed': {
      const m = member(state, event.member, event);
      assert(m.status !== 'failed', `MemberFailed for ${m.id} already failed`);
      setStatus(m, 'failed', position);
      m.copy = null;
      m.mount = null;
      m.away = {
        position,
        recordedAt: recorded.recordedAt,
        policy: 'failed',
        fingerprint: null,
        error: event.error,
      };
      // A failed member returns with a full copy: what it holds is unknown.
      dropBitmap(m, `no bitmap: member failed at position ${position} (${event.error})`);
      return;
    }
    case 'BitmapDeleted': {
      const m = member(state, event.member, event);
      assert(m.bitmap !== null, `BitmapDeleted for ${m.id} without a bitmap`);
      dropBitmap(m, `bitmap deleted at position ${position}`);
      return;
    }
    case 'MembersSynced':
      assert(event.position < position, `MembersSynced(${event.position}) at position ${position}`);
      if (state.synced === null || event.position > state.synced.position) {
        state.synced = { position: event.position, eventPosition: position };
      }
      return;
    case 'MergeStarted':
      assert(
        member(state, event.source, event).status === 'valid',
        `merge source ${event.source} is not valid`,
      );
      state.merge = {
        position,
        source: event.source,
        chunks: event.chunks,
        fromPosition: event.fromPosition,
      };
      return;
    case 'MergeCompleted':
      assert(state.merge !== null, `MergeCompleted at position ${position} without MergeStarted`);
      state.merge = null;
      return;
    case 'HostJoined':
      if (!state.hosts.includes(event.host)) state.hosts.push(event.host);
      return;
    case 'HostLeft':
      state.hosts = state.hosts.filter((h) => h !== event.host);
      // The hosts left may all have acknowledged already.
      for (const m of state.members) if (m.leaving) cutIfAllRead(state, m, position);
      return;
    case 'MemberDismountRequested': {
      const m = member(state, event.member, event);
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
      return;
    }
    case 'CopyFinishing': {
      const m = member(state, event.member, event);
      assert(
        m.copy !== null && m.copy.finishing === null,
        `CopyFinishing for ${m.id} without a running copy`,
      );
      m.copy.finishing = { position, acked: [] };
      return;
    }
    case 'HostAcknowledged': {
      const m = member(state, event.member, event);
      if (event.step === 'copy-finish') {
        assert(m.copy?.finishing, `copy-finish acknowledgement for ${m.id} without CopyFinishing`);
        if (!m.copy.finishing.acked.includes(event.host)) m.copy.finishing.acked.push(event.host);
        return;
      }
      if (event.step === 'copy-start') {
        assert(m.copy !== null, `copy-start acknowledgement for ${m.id} without a copy`);
        if (!m.copy.startAcked.includes(event.host)) m.copy.startAcked.push(event.host);
        return;
      }
      assert(m.leaving !== null, `${event.step} acknowledgement for ${m.id}, which is not leaving`);
      if (event.step === 'dismount-reads') {
        if (!m.leaving.readsAcked.includes(event.host)) m.leaving.readsAcked.push(event.host);
        cutIfAllRead(state, m, position);
      } else {
        assert(m.leaving.cutPosition !== null, `dismount-writes acknowledgement for ${m.id} before the cut`);
        if (!m.leaving.writesAcked.includes(event.host)) m.leaving.writesAcked.push(event.host);
      }
      return;
    }
    default:
      assert(false, `unexpected event ${event.type} at position ${position}`);
  }
}

/**
 * At the last `dismount-reads` acknowledgement, the cut: writes after it no longer reach the
 * member, so its write bitmap (policy minicopy) starts here, exact to the position.
 */
function cutIfAllRead(state: ShadowSetState, m: MemberState, position: number): void {
  const leaving = m.leaving!;
  if (leaving.cutPosition !== null || !allHostsAcked(state, leaving.readsAcked)) return;
  leaving.cutPosition = position;
  if (leaving.policy === 'minicopy') {
    m.bitmap = {
      sincePosition: position,
      sinceTime: state.recordedAt,
      chunks: new ChunkBitmap(state.geometry!.chunks),
    };
    m.noBitmapReason = null;
  } else {
    m.bitmap = null;
    m.noBitmapReason = `no bitmap: dismounted with policy none at position ${position}`;
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
    merge: state.merge ? { ...state.merge } : null,
    synced: state.synced ? { ...state.synced } : null,
    hosts: [...state.hosts],
    marking: [],
  };
  refreshMarking(copy);
  return copy;
}
