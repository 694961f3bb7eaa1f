import type { DismountPolicy, RecordedEvent, WriteEvent } from '../../domain/events.js';
import type { ShadowCommand } from '../../domain/shadow-set-commands.js';
import type { MemberState } from '../../domain/shadow-set-state.js';
import type { CopyFinishJob } from '../copy/copy-finish-job.js';
import type { CopyResult } from '../copy/copy-process.js';
import type { CopyScheduler } from '../copy/copy-scheduler.js';
import type { SyncPoint } from '../engine/background-sync.js';
import type { BackgroundTasks } from '../engine/background-tasks.js';
import type { EngineParts } from '../engine/engine-parts.js';
import type { MergeResult } from '../merge/crash-merge.js';

/** The parts of the engine a coordination starts background work with at open. */
export interface OpenParts {
  /** The engine's parts (the crash merge runs on them). */
  readonly engine: EngineParts;
  /** The copy scheduler (copies interrupted by a crash resume through it). */
  readonly copies: CopyScheduler;
  /** Tracks the background work started at open. */
  readonly tasks: BackgroundTasks;
}

/** Counters of the command log, for `VirtualUnit.diagnostics`. */
export interface LogDiagnostics {
  /** The last position this engine issued. */
  readonly issuedPosition: number;
  /** The position of the last MembersSynced this engine recorded. */
  readonly syncedPosition: number;
  /** Logged writes not yet completed on the members. */
  readonly writesInFlight: number;
  /** Free permits of the control mutex (0 while a decision is being made). */
  readonly controlFree: number;
}

/**
 * How this engine gets its events into the log and agrees with other hosts: the port with
 * exactly two implementations, chosen once at open (`chooseCoordination`):
 * - `SingleWriterLog`: this engine is the log's only writer. It predicts each event's position
 *   when it issues the append, tracks writes in flight (WriteTracker) and records
 *   MembersSynced; open runs the crash merge and resumes copies.
 * - `SharedStreamLog`: several hosts append to one stream. Decisions are appended with an
 *   expected position and retried on a conflict; membership changes wait for every host's
 *   acknowledgement (HostCoordinator), a dismount has two phases and a copy ends with a
 *   catch-up pass under a cluster-wide write stall.
 * Nothing outside the two implementations asks which one it has.
 */
export interface Coordination {
  // ---------------------------------------------------------------- decisions

  /** Decide `command` on the fully folded state, append, and wait until the events are folded. Never takes the barrier. */
  control(command: ShadowCommand): Promise<RecordedEvent[]>;
  /** The recorded event at `position`. */
  recordedEvent(position: number): Promise<RecordedEvent>;

  // ---------------------------------------------------------------- write path (hot)

  /** False when a write that got through the barrier must be refused (a stalled write while the host leaves). */
  admitsWrite(): boolean;
  /**
   * Append a write's event. The promise resolves with the write's position once the event is
   * durable (invariant 1) and the state its targets are chosen on is folded; `null` when writes
   * are not logged (the write-path benchmark's baseline). After it resolved, `endWrite` must follow.
   */
  appendWrite(event: WriteEvent): Promise<number> | null;
  /** The write at `position` is done with the members (written, or failed and dealt with). */
  endWrite(position: number): void;
  /** Does the write at `position` reach `member`? */
  receivesWrite(member: MemberState, position: number): boolean;
  /** The write at `position` reaches `member`, whose device is not open here: throw if that loses data. */
  missingDevice(member: MemberState, position: number): void;
  /** Where the writes stand now (position -1: not tracked); take it before flushing the members. */
  syncPoint(): SyncPoint;

  // ---------------------------------------------------------------- session

  /** Start this engine's part: join the hosts, or start the crash merge, copy resumption and background sync. */
  open(parts: OpenParts): Promise<void>;
  /** Resolves when the crash merge started at open (if any) has ended. */
  readonly merged: Promise<MergeResult | null>;
  /** Resolves when every copy resumed at open has ended. */
  readonly resumed: Promise<unknown>;
  /**
   * The members were flushed with every write up to `point` completed: record it if this mode
   * records syncs and application writes completed since the last record.
   */
  membersFlushed(point: SyncPoint): Promise<void>;
  /** Before a dismount takes the barrier: make sure no host writes the member any more. */
  prepareDismount(member: MemberState, policy: DismountPolicy): Promise<void>;
  /** Record that another host no longer serves the set. */
  removeHost(host: string): Promise<RecordedEvent[]>;
  /** Stop background protocol work (sync timer, acknowledgements); called at close before the final drain. */
  stop(): Promise<void>;
  /** The engine's last words, writes drained and members flushed: MembersSynced, or this host leaving. */
  leave(): Promise<void>;
  /** Counters for diagnostics. */
  diagnostics(): LogDiagnostics;

  // ---------------------------------------------------------------- copies

  /** Record CopyStarted for `member` with application writes drained. */
  startCopy(member: string): Promise<RecordedEvent>;
  /** Resolves when the copy pass may read the source (every host drained the writes logged before CopyStarted). */
  copyStartAcknowledged(member: string): Promise<void>;
  /** End a copy whose planned pass completed: the finish of this mode. */
  finishCopy(job: CopyFinishJob): Promise<CopyResult>;
  /** Record CopyAborted for `member`. */
  recordAbort(member: string, reason: string): Promise<void>;
}
