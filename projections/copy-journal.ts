import { assert } from '../domain/errors.js';
import type { CopyKind, EventOf, MountPolicy, RecordedEvent } from '../domain/events.js';

/**
 * The copy journal: every copy and merge the set ever ran, with the decision, its reason,
 * progress and outcome. It answers "why did this copy do what it did" (`shadowlog explain`).
 */
export interface CopyJournal {
  /** Copies in the order they started. */
  copies: CopyRecord[];
  /** Merges in the order they started. */
  merges: MergeRecord[];
  /** Pending mount request per member (policy and position), until its copy starts. */
  pendingMounts: Record<string, { position: number; policy: MountPolicy }>;
}

/** How a copy or merge ended. */
export type Outcome = 'running' | 'completed' | 'aborted' | 'failed';

/** One copy to a returning member. */
export interface CopyRecord {
  /** The copy target. */
  member: string;
  /** The source member planned at start. */
  source: string;
  /** Minicopy or full copy. */
  kind: CopyKind;
  /** Why this kind, as recorded in CopyStarted. */
  reason: string;
  /** The mount policy the operator asked for. */
  policy: MountPolicy | null;
  /** Position of MemberMountRequested. */
  mountPosition: number | null;
  /** Position of CopyStarted. */
  startPosition: number;
  /** recordedAt of CopyStarted. */
  startedAt: number;
  /** Chunks planned. */
  chunksPlanned: number;
  /** Bytes planned. */
  bytesPlanned: number;
  /** Chunks copied at the last checkpoint or at the end. */
  chunksDone: number;
  /** Bytes copied at the last checkpoint or at the end. */
  bytesCopied: number;
  /** Checkpoints recorded. */
  checkpoints: number;
  /** How it ended. */
  outcome: Outcome;
  /** Why it was aborted or failed. */
  endReason: string | null;
  /** Position of the ending event. */
  endPosition: number | null;
  /** Duration recorded in CopyCompleted, or time between start and end events. */
  durationMs: number | null;
}

/** One crash merge. */
export interface MergeRecord {
  /** The member whose data won. */
  source: string;
  /** Chunks to merge. */
  chunks: number;
  /** First position whose writes were merged. */
  fromPosition: number;
  /** Position of MergeStarted. */
  startPosition: number;
  /** recordedAt of MergeStarted. */
  startedAt: number;
  /** How it ended. */
  outcome: Outcome;
  /** Position of MergeCompleted. */
  endPosition: number | null;
  /** Duration recorded in MergeCompleted. */
  durationMs: number | null;
}

/** An empty journal. */
export function initialCopyJournal(): CopyJournal {
  return { copies: [], merges: [], pendingMounts: {} };
}

/** The copy running to `member`, if any: the last one started to it that has not ended. */
function findRunning(journal: CopyJournal, member: string): CopyRecord | undefined {
  for (let i = journal.copies.length - 1; i >= 0; i--) {
    const copy = journal.copies[i]!;
    if (copy.member === member && copy.outcome === 'running') return copy;
  }
  return undefined;
}

/** The copy running to `member`; the log's rules say there is one. */
function running(journal: CopyJournal, member: string): CopyRecord {
  const copy = findRunning(journal, member);
  assert(copy !== undefined, `no running copy to ${member} in the journal`);
  return copy;
}

/** Fold one event into the journal (in place, like every fold); returns the journal. */
export function evolveCopyJournal(journal: CopyJournal, recorded: RecordedEvent): CopyJournal {
  const event = recorded.event;
  switch (event.type) {
    case 'ShadowSetCreated':
      // Members owed the initial copy ask for a full copy at position 0, as a mount would.
      for (const member of event.origin?.copied ?? [])
        journal.pendingMounts[member] = { position: recorded.position, policy: 'full' };
      break;
    case 'MemberMountRequested':
      journal.pendingMounts[event.member] = { position: recorded.position, policy: event.policy };
      break;
    case 'CopyStarted':
      copyStarted(journal, event, recorded);
      break;
    case 'CopyProgressed': {
      const copy = running(journal, event.member);
      copy.chunksDone = event.chunksDone;
      copy.bytesCopied = event.bytesCopied;
      copy.checkpoints++;
      break;
    }
    case 'CopyCompleted': {
      const copy = running(journal, event.member);
      copy.outcome = 'completed';
      copy.chunksDone = copy.chunksPlanned;
      copy.bytesCopied = event.bytesCopied;
      copy.endPosition = recorded.position;
      copy.durationMs = event.durationMs;
      break;
    }
    case 'CopyAborted':
      endCopy(running(journal, event.member), 'aborted', event.reason, recorded);
      break;
    case 'MemberFailed': {
      delete journal.pendingMounts[event.member];
      const copy = findRunning(journal, event.member);
      if (copy) endCopy(copy, 'failed', `target failed: ${event.error}`, recorded);
      break;
    }
    case 'MergeStarted':
      mergeStarted(journal, event, recorded);
      break;
    case 'MergeCompleted': {
      const merge = journal.merges.at(-1);
      assert(merge !== undefined && merge.outcome === 'running', 'MergeCompleted without a running merge');
      merge.outcome = 'completed';
      merge.endPosition = recorded.position;
      merge.durationMs = event.durationMs;
      break;
    }
    default:
      break;
  }
  return journal;
}

/** CopyStarted: a new record, taking the pending mount request of its member. */
function copyStarted(journal: CopyJournal, event: EventOf<'CopyStarted'>, recorded: RecordedEvent): void {
  const mount = journal.pendingMounts[event.member];
  delete journal.pendingMounts[event.member];
  journal.copies.push({
    member: event.member,
    source: event.source,
    kind: event.kind,
    reason: event.reason,
    policy: mount?.policy ?? null,
    mountPosition: mount?.position ?? null,
    startPosition: recorded.position,
    startedAt: recorded.recordedAt,
    chunksPlanned: event.chunks,
    bytesPlanned: event.bytes,
    chunksDone: 0,
    bytesCopied: 0,
    checkpoints: 0,
    outcome: 'running',
    endReason: null,
    endPosition: null,
    durationMs: null,
  });
}

/** A copy that ended early (aborted, target failed): its duration is the time since it started. */
function endCopy(copy: CopyRecord, outcome: Outcome, reason: string, recorded: RecordedEvent): void {
  copy.outcome = outcome;
  copy.endReason = reason;
  copy.endPosition = recorded.position;
  copy.durationMs = recorded.recordedAt - copy.startedAt;
}

function mergeStarted(journal: CopyJournal, event: EventOf<'MergeStarted'>, recorded: RecordedEvent): void {
  journal.merges.push({
    source: event.source,
    chunks: event.chunks,
    fromPosition: event.fromPosition,
    startPosition: recorded.position,
    startedAt: recorded.recordedAt,
    outcome: 'running',
    endPosition: null,
    durationMs: null,
  });
}

/** A deep copy of the journal. */
export function cloneCopyJournal(journal: CopyJournal): CopyJournal {
  return {
    copies: journal.copies.map((c) => ({ ...c })),
    merges: journal.merges.map((m) => ({ ...m })),
    pendingMounts: Object.fromEntries(
      Object.entries(journal.pendingMounts).map(([k, val]) => [k, { ...val }]),
    ),
  };
}
