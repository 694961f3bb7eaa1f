import { Subject } from 'rxjs';
import type { ChunkBitmap } from '../domain/chunk-bitmap.js';
import { assert, NotFoundError } from '../domain/errors.js';
import type { RecordedEvent } from '../domain/events.js';
import type { Geometry } from '../domain/geometry.js';
import type { EventStore } from '../domain/ports/event-store.js';
import type { MemberAccess } from '../domain/ports/member-access.js';
import { decide } from '../domain/shadow-set-decider.js';
import { IoBarrier } from '../primitives/io-barrier.js';
import { RangeLock } from '../primitives/range-lock.js';
import { RateLimiter } from '../primitives/rate-limiter.js';
import type { ProjectedState } from '../projections/projected-state.js';
import type { LogHealthChange } from './coordination/append-fault.js';
import { assertCoordinationFits, chooseCoordination } from './coordination/choose-coordination.js';
import type { Coordination } from './coordination/coordination.js';
import { type CopyResult, type CopyTuning, DEFAULT_COPY_TUNING } from './copy/copy-process.js';
import { type CopyHandle, CopyScheduler } from './copy/copy-scheduler.js';
import { BackgroundTasks } from './engine/background-tasks.js';
import { ChangedChunks } from './engine/changed-chunks.js';
import { engineDiagnostics } from './engine/engine-diagnostics.js';
import { EngineLifecycle } from './engine/engine-lifecycle.js';
import type { EngineParts } from './engine/engine-parts.js';
import { MemberDevices } from './engine/member-devices.js';
import { MemberFailures } from './engine/member-failures.js';
import { MembershipCommands } from './engine/membership-commands.js';
import type { ProgressUpdate } from './engine/progress-update.js';
import { ReadPath } from './engine/read-path.js';
import { Warnings } from './engine/warnings.js';
import { WritePath } from './engine/write-path.js';
import { flushWritingMembers, openWritingMembers } from './engine/writing-members.js';
import type { MergeResult } from './merge/crash-merge.js';
import { ProjectionFollower } from './queries/projection-follower.js';
import { currentState, type SnapshotSink, type SnapshotSource } from './queries/state-at.js';
import { type VerifyResult, verifyMembers } from './verify/verify-members.js';

/** Options of {@link VirtualUnit.open}. */
export interface VirtualUnitOptions {
  /** The set's event stream. */
  readonly store: EventStore;
  /** Opens and fingerprints members. */
  readonly access: MemberAccess;
  /** Projection snapshots to start from, and to save to while folding when it can save. */
  readonly snapshots?: SnapshotSource & Partial<SnapshotSink>;
  /** Save a snapshot after this many events (default 100,000). */
  readonly snapshotEveryEvents?: number;
  /** How often to record MembersSynced while writes flow; default 1000 ms. */
  readonly syncIntervalMs?: number;
  /** Copies running at once (OpenVMS SHADOW_MAX_COPY); default 2. */
  readonly maxConcurrentCopies?: number;
  /** Copy bandwidth limit in MiB/s; unlimited when omitted. */
  readonly copyRateMiBps?: number;
  /** Copy I/O tuning. */
  readonly copyTuning?: Partial<CopyTuning>;
  /** Log application writes (default true). Off only for the write-path benchmark's baseline. */
  readonly logWrites?: boolean;
  /** Start the crash merge and resume copies on open (default true). */
  readonly recover?: boolean;
  /**
   * This host's name when several hosts serve the set through one shared store (KurrentDB).
   * Omitted: this engine is the log's single writer. See README, "Several hosts on one set".
   */
  readonly host?: string;
  /** Multi-host: how long to wait for every host's acknowledgement (default 30 s). */
  readonly acknowledgementTimeoutMs?: number;
}

/** Options of a write. */
export interface WriteOptions {
  /** Force unit access: the data is durable on every member before the write is acknowledged. */
  readonly fua?: boolean;
}

export type { CopyHandle } from './copy/copy-scheduler.js';

/**
 * The virtual unit: the shadow set as one volume. Every application write is logged (and
 * durable) before any member sees it (invariant 1), then written to every member that
 * receives writes; reads come from one valid member. Membership changes (dismount, copy
 * start and end, merge) drain in-flight writes first, so each write goes to exactly the
 * members the log says it went to. Copies and the crash merge run in the background.
 *
 * This class is a façade: it assembles the engine's parts once at open and delegates to them.
 * - `engine/`: member devices, write path, read path, membership commands, background sync,
 *   recovery, background tasks, diagnostics;
 * - `coordination/`: how events reach the log, single writer or several hosts (chosen here);
 * - `copy/`, `merge/`, `verify/`: the background processes.
 */
export class VirtualUnit {
  /** Volume geometry. */
  readonly geometry: Geometry;
  /** Copy and merge progress, for progress bars. */
  readonly progress$ = new Subject<ProgressUpdate>();
  /** Problems background work ran into and will retry (the latest 100). */
  readonly warnings: string[];
  /**
   * The log stopped accepting appends (a full disk) or accepts them again: one event per
   * change, not per request, for the server's log. Also added to `warnings`.
   */
  readonly logHealth$ = new Subject<LogHealthChange>();

  private readonly parts: EngineParts;
  private readonly log: Coordination;
  private readonly writes: WritePath;
  private readonly copies: CopyScheduler;
  private readonly membership: MembershipCommands;
  private readonly tasks = new BackgroundTasks();
  private readonly changed: ChangedChunks;

  private constructor(options: VirtualUnitOptions, state: ProjectedState) {
    assert(state.set.geometry !== null, 'virtual unit opened on a log without ShadowSetCreated');
    const geometry = state.set.geometry;
    this.geometry = geometry;
    const warnings = new Warnings();
    this.warnings = warnings.latest;
    const sink = options.snapshots;
    const follower = new ProjectionFollower(
      options.store,
      state,
      sink?.save
        ? { sink: sink as SnapshotSink, everyEvents: options.snapshotEveryEvents ?? 100_000 }
        : undefined,
    );
    const lifecycle = new EngineLifecycle();
    const devices = new MemberDevices(options.access, geometry);
    const barrier = new IoBarrier();
    const health = {
      next: (change: LogHealthChange) => {
        warnings.add(change.message);
        this.logHealth$.next(change);
      },
    };
    const base = { geometry, store: options.store, follower, barrier, devices, lifecycle, warnings, health };
    const log = chooseCoordination(options, base);
    const failures = new MemberFailures(follower, log, devices);
    const reads = new ReadPath(geometry, follower, devices, failures);
    const rangeLock = new RangeLock();
    this.parts = { ...base, rangeLock, reads, failures, log, progress: this.progress$ };
    this.log = log;
    this.writes = new WritePath(this.parts);
    this.copies = new CopyScheduler(
      this.parts,
      new RateLimiter(options.copyRateMiBps ? options.copyRateMiBps * 1024 * 1024 : null),
      { ...DEFAULT_COPY_TUNING, ...options.copyTuning },
      options.maxConcurrentCopies ?? 2,
    );
    this.membership = new MembershipCommands(this.parts, this.copies);
    this.changed = new ChangedChunks(options.store, geometry);
  }

  /** Record a new shadow set in an empty store. Members must exist with the set's size. */
  static async create(
    store: EventStore,
    access: MemberAccess,
    spec: {
      setId: string;
      blocks: number;
      chunkBlocks?: number;
      memberPaths: readonly string[];
      createdFresh?: readonly boolean[];
      assumeClean?: boolean;
    },
  ): Promise<RecordedEvent> {
    const sizes: number[] = [];
    for (const path of spec.memberPaths) {
      const device = await access.open(path, spec.blocks * 512);
      sizes.push(device.size());
      await device.close();
    }
    const events = decide(
      {
        type: 'CreateSet',
        setId: spec.setId,
        blocks: spec.blocks,
        chunkBlocks: spec.chunkBlocks,
        memberPaths: spec.memberPaths,
        memberSizesBytes: sizes,
        ...(spec.createdFresh ? { createdFresh: spec.createdFresh } : {}),
        ...(spec.assumeClean ? { assumeClean: spec.assumeClean } : {}),
      },
      (await currentState(store)).set,
    );
    await store.append(events, { expectedPosition: 0 });
    return { position: 0, recordedAt: Date.now(), event: events[0]! };
  }

  /**
   * Open the set: fold its log, open the members that receive writes, then start this engine's
   * part: several hosts join; a single writer (unless `recover` is false) merges the chunks a
   * crash may have left unequal, resumes copies, and starts the background sync.
   */
  static async open(options: VirtualUnitOptions): Promise<VirtualUnit> {
    const state = await currentState(options.store, { snapshots: options.snapshots });
    if (state.set.geometry === null) throw new NotFoundError('the log holds no shadow set: create it first');
    assertCoordinationFits(options, state.set);
    const unit = new VirtualUnit(options, state);
    await openWritingMembers(unit.parts);
    await unit.log.open({ engine: unit.parts, copies: unit.copies, tasks: unit.tasks });
    return unit;
  }

  /** The projections as folded so far (members, bitmaps, copy journal). */
  get state(): ProjectedState {
    return this.parts.follower.state;
  }

  /** Resolves when the crash merge started at open (if any) has finished. */
  get merged(): Promise<MergeResult | null> {
    return this.log.merged;
  }

  // ---------------------------------------------------------------- I/O path

  /** Write whole blocks at `lbn`. Acknowledged only when the event is durable and the data is on the members. */
  async write(lbn: number, data: Uint8Array, options: WriteOptions = {}): Promise<void> {
    await this.writes.write(lbn, data, options.fua ?? false);
  }

  /** Discard blocks: image-file members get a punched hole, block devices zeroes; the log records a trim. */
  async trim(lbn: number, count: number, options: WriteOptions = {}): Promise<void> {
    await this.writes.trim(lbn, count, options.fua ?? false);
  }

  /** Write zeroes to blocks. */
  async writeZeroes(lbn: number, count: number, options: WriteOptions = {}): Promise<void> {
    await this.writes.writeZeroes(lbn, count, options.fua ?? false);
  }

  /** Read whole blocks from one valid member (spreading load), failing over on errors. */
  read(lbn: number, count: number): Promise<Uint8Array> {
    return this.parts.reads.read(lbn, count);
  }

  /**
   * Make every completed write durable on every member, then record MembersSynced so a crash
   * merge need not look at them.
   */
  async flush(): Promise<void> {
    this.parts.lifecycle.assertOpen();
    const point = this.log.syncPoint();
    await flushWritingMembers(this.parts);
    await this.log.membersFlushed(point);
  }

  // ---------------------------------------------------------------- control

  /** DISMOUNT member /POLICY: drain writes, flush and fingerprint the member, log it, close it. */
  dismount(member: string, policy: 'minicopy' | 'none'): Promise<RecordedEvent> {
    return this.membership.dismount(member, policy);
  }

  /**
   * MOUNT member /POLICY: open and fingerprint the member, log the request (refused here when
   * policy `minicopy` has no usable bitmap), then start its copy as soon as a copy slot is free.
   */
  mount(member: string, policy: 'minicopy' | 'minicopy-optional' | 'full'): Promise<CopyHandle> {
    return this.membership.mount(member, policy);
  }

  /** Abort the running copy to `member`; it stays away, its bitmap kept. */
  abortCopy(member: string, reason = 'aborted by operator'): Promise<CopyResult> {
    return this.membership.abortCopy(member, reason);
  }

  /** Compare every valid member, block by block, under the range locks (online). */
  async verify(onProgress?: (chunksDone: number, chunks: number) => void): Promise<VerifyResult> {
    this.parts.lifecycle.assertOpen();
    await this.log.merged;
    return verifyMembers(this.parts, onProgress);
  }

  /**
   * Several hosts: record that `host` no longer serves the set (it died or was shut down
   * uncleanly), so the others stop waiting for its acknowledgements; a copy it ran is aborted.
   */
  hostLeft(host: string): Promise<RecordedEvent[]> {
    return this.membership.hostLeft(host);
  }

  /** DELETE/BITMAP: the member's next return is a full copy. */
  deleteBitmap(member: string): Promise<RecordedEvent> {
    return this.membership.deleteBitmap(member);
  }

  /** CHECKPOINT name: name the current end of the log; its bitmap is every later write. */
  async createCheckpoint(name: string): Promise<RecordedEvent> {
    this.parts.lifecycle.assertOpen();
    const [event] = await this.log.control({ type: 'CreateCheckpoint', name });
    return event!;
  }

  /** Delete a checkpoint by name. */
  async deleteCheckpoint(name: string): Promise<RecordedEvent> {
    this.parts.lifecycle.assertOpen();
    const [event] = await this.log.control({ type: 'DeleteCheckpoint', name });
    return event!;
  }

  /**
   * Chunks written after `position` (a checkpoint's, or any past one), from the log itself:
   * never lost or made inconsistent by a crash. OutOfRangeError past the end or before 0.
   */
  changedChunksSince(position: number): Promise<ChunkBitmap> {
    return this.changed.since(position);
  }

  /** Wait for every running copy and the merge to end. */
  async idle(): Promise<void> {
    await this.log.merged.catch(() => null);
    await this.log.resumed;
    await this.copies.idle();
  }

  /**
   * Close: stop background work at the next I/O unit (copies resume from their checkpoint at
   * next open), drain writes, flush members, record MembersSynced (or leave the hosts), close devices.
   */
  async close(): Promise<void> {
    const { lifecycle, barrier, devices } = this.parts;
    if (lifecycle.closed) return;
    lifecycle.closing = true;
    await this.copies.idle();
    await this.log.merged.catch(() => null);
    await this.tasks.settle();
    await this.log.stop();
    try {
      await barrier.runExclusive(async () => {
        try {
          await flushWritingMembers(this.parts);
          await this.log.leave();
        } finally {
          await devices.closeAll();
        }
      });
    } finally {
      // Closed even when the last record failed (a log that rejects appends): the devices are
      // closed, and the next open runs the crash merge over the writes after the last sync.
      lifecycle.closed = true;
      this.parts.follower.close();
      this.progress$.complete();
      this.logHealth$.complete();
    }
  }

  /** Internal counters, for the HTTP API and for diagnosing a stuck engine. */
  diagnostics(): Record<string, number | string[]> {
    return engineDiagnostics(this.parts, this.copies, this.tasks);
  }
}
