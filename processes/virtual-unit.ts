import { Subject } from 'rxjs';
import type { ChunkBitmap } from '../domain/chunk-bitmap.js';
import {
  assert,
  CommandRejectedError,
  InvalidArgumentError,
  InvariantViolationError,
  IoError,
  NotFoundError,
  OutOfRangeError,
  ShadowlogError,
  WrongExpectedPositionError,
} from '../domain/errors.js';
import { EVENT_SCHEMA_VERSION, type RecordedEvent, type ShadowEvent } from '../domain/events.js';
import type { Geometry } from '../domain/geometry.js';
import { receivesWrites } from '../domain/member-status.js';
import type { BlockDevice } from '../domain/ports/block-device.js';
import type { EventStore } from '../domain/ports/event-store.js';
import type { MemberAccess } from '../domain/ports/member-access.js';
import type { ShadowCommand } from '../domain/shadow-set-commands.js';
import { decide, resolveMember } from '../domain/shadow-set-decider.js';
import { allHostsAcked, cloneState, evolve, type ShadowSetState } from '../domain/shadow-set-state.js';
import { errorMessage } from '../primitives/error-message.js';
import { IoBarrier } from '../primitives/io-barrier.js';
import { RangeLock } from '../primitives/range-lock.js';
import { RateLimiter } from '../primitives/rate-limiter.js';
import { Semaphore } from '../primitives/semaphore.js';
import { MinimergeBitmap } from '../projections/minimerge-bitmap.js';
import type { ProjectedState } from '../projections/projected-state.js';
import { type CopyResult, type CopyTuning, DEFAULT_COPY_TUNING } from './copy-process.js';
import { type CopyHandle, CopyScheduler } from './copy-scheduler.js';
import { type MergeResult, runMerge } from './crash-merge.js';
import type { EngineContext, ProgressUpdate } from './engine-context.js';
import { HostCoordinator } from './host-coordinator.js';
import { ProjectionFollower } from './queries/projection-follower.js';
import { currentState, type SnapshotSink, type SnapshotSource } from './queries/state-at.js';
import { type VerifyResult, verifyMembers } from './verify-members.js';
import { WriteTracker } from './write-tracker.js';

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

/**
 * The virtual unit: the shadow set as one volume. Every application write is logged (and
 * durable) before any member sees it (invariant 1), then written to every member that
 * receives writes; reads come from one valid member. Membership changes (dismount, copy
 * start and end, merge) drain in-flight writes first, so each write goes to exactly the
 * members the log says it went to. Copies and the crash merge run in the background.
 */
export type { CopyHandle } from './copy-scheduler.js';

export class VirtualUnit {
  /** Volume geometry. */
  readonly geometry: Geometry;
  /** Copy and merge progress, for progress bars. */
  readonly progress$ = new Subject<ProgressUpdate>();
  /** Problems background work ran into and will retry (the latest 100). */
  readonly warnings: string[] = [];

  private readonly store: EventStore;
  private readonly access: MemberAccess;
  private readonly follower: ProjectionFollower;
  private readonly devices = new Map<string, BlockDevice>();
  private readonly rangeLock = new RangeLock();
  private readonly barrier = new IoBarrier();
  private readonly controlMutex = new Semaphore(1);
  private readonly tracker = new WriteTracker();
  private readonly logWrites: boolean;
  private readonly copies: CopyScheduler;
  private readonly background = new Set<Promise<unknown>>();
  private nextPosition: number;
  private syncedPosition: number;
  private readCursor = 0;
  private isClosing = false;
  private closed = false;
  private syncTimer: NodeJS.Timeout | null = null;
  /** This host's name on a set served by several hosts; null for a single writer. */
  private readonly host: string | null;
  private readonly coordinator: HostCoordinator | null;
  private readonly acknowledgementTimeoutMs: number;
  private syncing = false;
  private nextSyncAtMs = 0;
  private mergeDone: Promise<MergeResult | null> = Promise.resolve(null);
  /** Copies resumed at open; settles when each has ended. */
  private resumed: Promise<unknown> = Promise.resolve();

  private constructor(options: VirtualUnitOptions, state: ProjectedState) {
    assert(state.set.geometry !== null, 'virtual unit opened on a log without ShadowSetCreated');
    this.geometry = state.set.geometry;
    // First: the copy scheduler's context below reads it.
    this.host = options.host ?? null;
    this.store = options.store;
    this.access = options.access;
    const sink = options.snapshots;
    this.follower = new ProjectionFollower(
      options.store,
      state,
      sink?.save
        ? { sink: sink as SnapshotSink, everyEvents: options.snapshotEveryEvents ?? 100_000 }
        : undefined,
    );
    this.nextPosition = state.set.position + 1;
    this.tracker.skip(state.set.position);
    this.syncedPosition = state.set.synced?.position ?? -1;
    this.copies = new CopyScheduler(
      this.context(),
      {
        attach: (member, device) => this.devices.set(member, device),
        detach: (member) => this.devices.delete(member),
        recordAbort: (member, reason) => this.recordAbort(member, reason),
        recordedEvent: (position) => this.readEvent(position),
      },
      new RateLimiter(options.copyRateMiBps ? options.copyRateMiBps * 1024 * 1024 : null),
      { ...DEFAULT_COPY_TUNING, ...options.copyTuning },
      options.maxConcurrentCopies ?? 2,
    );
    this.logWrites = options.logWrites ?? true;
    this.acknowledgementTimeoutMs = options.acknowledgementTimeoutMs ?? 30_000;
    this.coordinator =
      this.host === null
        ? null
        : new HostCoordinator({
            host: this.host,
            barrier: this.barrier,
            state: () => this.follower.state.set,
            control: (command) => this.controlLocked(command),
            reconcileDevices: () => this.reconcileDevices(),
            warn: (message) => {
              this.warnings.push(message);
              if (this.warnings.length > 100) this.warnings.shift();
            },
          });
    if (this.coordinator) {
      const coordinator = this.coordinator;
      this.follower.onFold = () => coordinator.review();
    }
  }

  /** Record a new shadow set in an empty store. Members must exist with the set's size. */
  static async create(
    store: EventStore,
    access: MemberAccess,
    spec: { setId: string; blocks: number; chunkBlocks?: number; memberPaths: readonly string[] },
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
      },
      (await currentState(store)).set,
    );
    await store.append(events, { expectedPosition: 0 });
    return { position: 0, recordedAt: Date.now(), event: events[0]! };
  }

  /**
   * Open the set: fold its log, open the members that receive writes, then (unless
   * `recover` is false) merge the chunks a crash may have left unequal and resume copies.
   */
  static async open(options: VirtualUnitOptions): Promise<VirtualUnit> {
    const state = await currentState(options.store, { snapshots: options.snapshots });
    if (state.set.geometry === null) throw new NotFoundError('the log holds no shadow set: create it first');
    if (options.host === undefined && state.set.hosts.length > 0) {
      throw new CommandRejectedError(
        `${state.set.setId} is served by hosts ${state.set.hosts.join(', ')} through a shared store: open it with a host name (--node)`,
      );
    }
    const unit = new VirtualUnit(options, state);
    await unit.openMembers();
    if (unit.host !== null) {
      // Several hosts: join; crash merge and MembersSynced are per single writer (not built for several).
      await unit.controlLocked({ type: 'JoinHost', host: unit.host });
      return unit;
    }
    if (options.recover ?? true) unit.recover();
    const interval = options.syncIntervalMs ?? 1000;
    unit.syncTimer = setInterval(() => unit.track(unit.syncIfBehind()), interval);
    unit.syncTimer.unref();
    return unit;
  }

  /** The projections as folded so far (members, bitmaps, copy journal). */
  get state(): ProjectedState {
    return this.follower.state;
  }

  /** Resolves when the crash merge started at open (if any) has finished. */
  get merged(): Promise<MergeResult | null> {
    return this.mergeDone;
  }

  // ---------------------------------------------------------------- I/O path

  /** Write whole blocks at `lbn`. Acknowledged only when the event is durable and the data is on the members. */
  async write(lbn: number, data: Uint8Array, options: WriteOptions = {}): Promise<void> {
    const count = this.blocksOf(data.length);
    await this.mutate('write', lbn, count, options.fua ?? false, (device) => device.write(data, lbn * 512));
  }

  /** Discard blocks. Members are image files or devices without discard here, so zeroes are written; the log records a trim. */
  async trim(lbn: number, count: number, options: WriteOptions = {}): Promise<void> {
    await this.mutate('trim', lbn, count, options.fua ?? false, (device) => writeZeroes(device, lbn, count));
  }

  /** Write zeroes to blocks. */
  async writeZeroes(lbn: number, count: number, options: WriteOptions = {}): Promise<void> {
    await this.mutate('zeroes', lbn, count, options.fua ?? false, (device) =>
      writeZeroes(device, lbn, count),
    );
  }

  /** Read whole blocks from one valid member (spreading load), failing over on errors. */
  async read(lbn: number, count: number): Promise<Uint8Array> {
    this.checkRange(lbn, count);
    const buffer = new Uint8Array(count * 512);
    await this.readValid(buffer, lbn * 512);
    return buffer;
  }

  /**
   * Make every completed write durable on every member, then record MembersSynced so a crash
   * merge need not look at them.
   */
  async flush(): Promise<void> {
    this.assertOpen();
    const watermark = this.tracker.watermark();
    await this.flushMembers();
    if (this.host === null) await this.recordSynced(watermark);
  }

  // ---------------------------------------------------------------- control

  /** DISMOUNT member /POLICY: drain writes, flush and fingerprint the member, log it, close it. */
  async dismount(member: string, policy: 'minicopy' | 'none'): Promise<RecordedEvent> {
    this.assertOpen();
    if (this.host !== null) await this.requestDismount(member, policy);
    return this.barrier.runExclusive(async () => {
      const m = resolveMember(this.follower.state.set, member);
      const device = this.devices.get(m.id);
      let fingerprint = null;
      if (device) {
        await device.flush();
        fingerprint = await this.access.fingerprint(m.path, device, this.geometry);
      }
      const [event] = await this.controlLocked({ type: 'DismountMember', member: m.id, policy, fingerprint });
      if (device) {
        this.devices.delete(m.id);
        await device.close();
      }
      return event!;
    });
  }

  /**
   * MOUNT member /POLICY: open and fingerprint the member, log the request (refused here when
   * policy `minicopy` has no usable bitmap), then start its copy as soon as a copy slot is free.
   */
  async mount(member: string, policy: 'minicopy' | 'minicopy-optional' | 'full'): Promise<CopyHandle> {
    this.assertOpen();
    const m = resolveMember(this.follower.state.set, member);
    if (this.devices.has(m.id) || this.copies.has(m.id)) {
      throw new CommandRejectedError(`mount of ${m.id} refused: it is ${m.status}`);
    }
    const device = await this.access.open(m.path, this.geometry.blocks * 512);
    let fingerprint = null;
    try {
      fingerprint = await this.access.fingerprint(m.path, device, this.geometry);
    } catch {
      fingerprint = null;
    }
    try {
      await this.control({ type: 'RequestMount', member: m.id, policy, fingerprint });
    } catch (error) {
      await device.close();
      throw error;
    }
    return this.copies.start(m.id, device);
  }

  /** Abort the running copy to `member`; it stays away, its bitmap kept. */
  async abortCopy(member: string, reason = 'aborted by operator'): Promise<CopyResult> {
    const m = resolveMember(this.follower.state.set, member);
    return this.copies.abort(m.id, reason);
  }

  /** Compare every valid member, block by block, under the range locks (online). */
  async verify(onProgress?: (chunksDone: number, chunks: number) => void): Promise<VerifyResult> {
    this.assertOpen();
    await this.mergeDone;
    return verifyMembers(this.context(), onProgress);
  }

  /**
   * Several hosts: record that `host` no longer serves the set (it died or was shut down
   * uncleanly), so the others stop waiting for its acknowledgements; a copy it ran is aborted.
   */
  async hostLeft(host: string): Promise<RecordedEvent[]> {
    this.assertOpen();
    if (this.host === null)
      throw new CommandRejectedError('this set is served by one host: there is no other host to remove');
    if (host === this.host) throw new CommandRejectedError(`${host} is this host; close it to leave the set`);
    return this.controlLocked({ type: 'LeaveHost', host });
  }

  /** DELETE/BITMAP: the member's next return is a full copy. */
  async deleteBitmap(member: string): Promise<RecordedEvent> {
    const [event] = await this.control({ type: 'DeleteBitmap', member });
    return event!;
  }

  /** Wait for every running copy and the merge to end. */
  async idle(): Promise<void> {
    await this.mergeDone.catch(() => null);
    await this.resumed;
    await this.copies.idle();
  }

  /**
   * Close: stop background work at the next I/O unit (copies resume from their checkpoint at
   * next open), drain writes, flush members, record MembersSynced, close devices.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.isClosing = true;
    if (this.syncTimer) clearInterval(this.syncTimer);
    await this.copies.idle();
    await this.mergeDone.catch(() => null);
    await Promise.allSettled([...this.background]);
    await this.coordinator?.stop();
    await this.barrier.runExclusive(async () => {
      try {
        await this.flushMembers();
        if (this.host === null) await this.recordSynced(this.tracker.watermark());
        else await this.controlLocked({ type: 'LeaveHost', host: this.host });
      } finally {
        for (const device of this.devices.values()) await device.close();
        this.devices.clear();
      }
    });
    this.closed = true;
    this.follower.close();
    this.progress$.complete();
  }

  /** Internal counters, for the HTTP API and for diagnosing a stuck engine. */
  diagnostics(): Record<string, number | string[]> {
    return {
      foldedPosition: this.follower.state.set.position,
      issuedPosition: this.nextPosition - 1,
      syncedPosition: this.syncedPosition,
      writesInFlight: this.tracker.size,
      barrierShared: this.barrier.inFlight,
      rangeLocks: this.rangeLock.size,
      controlFree: this.controlMutex.free,
      copySlotsFree: this.copies.slotsFree,
      copies: this.copies.members,
      background: this.background.size,
    };
  }

  // ---------------------------------------------------------------- internals

  private async mutate(
    kind: 'write' | 'trim' | 'zeroes',
    lbn: number,
    count: number,
    fua: boolean,
    apply: (device: BlockDevice) => Promise<void>,
  ): Promise<void> {
    this.assertOpen();
    this.checkRange(lbn, count);
    await this.barrier.enterShared();
    if (this.isClosing && this.host !== null) {
      // Writes held by a copy-finish stall must not slip through when the host leaves.
      this.barrier.leaveShared();
      throw new ShadowlogError('COMMAND_REJECTED', 'the shadow set is closing');
    }
    let position = -1;
    let release: (() => void) | null = null;
    try {
      release = await this.rangeLock.acquire(lbn, lbn + count);
      const type = kind === 'write' ? 'BlocksWritten' : kind === 'trim' ? 'BlocksTrimmed' : 'ZeroesWritten';
      let sharedPosition = -1;
      if (this.host !== null) {
        // Several hosts append: the position is known once the event is durable. The members it
        // goes to are those of the state just before it, whatever the other hosts appended.
        sharedPosition = await this.store.append([{ type, v: EVENT_SCHEMA_VERSION, lbn, count }]);
        await this.follower.waitFor(sharedPosition - 1);
      } else if (this.logWrites) {
        const issued = this.issue([{ type, v: EVENT_SCHEMA_VERSION, lbn, count }], true);
        position = issued.first;
        // Invariant 1: no byte reaches a member before its event is durable.
        await issued.durable;
      }
      const state = this.follower.state.set;
      const targets: [string, BlockDevice][] = [];
      for (const m of state.members) {
        const device = this.devices.get(m.id);
        if (!this.receivesWrite(m, sharedPosition)) continue;
        if (device) targets.push([m.id, device]);
        else if (this.host !== null && m.status !== 'copying') {
          // Several hosts: skipping a member the log says this write reaches would lose data.
          throw new IoError(
            `write at position ${sharedPosition} must reach ${m.id}, which this host has not opened`,
          );
        }
      }
      const results = await Promise.allSettled(
        targets.map(async ([, device]) => {
          await apply(device);
          if (fua) await device.flush();
        }),
      );
      let failed: unknown = null;
      for (let i = 0; i < results.length; i++) {
        const result = results[i]!;
        if (result.status === 'rejected') {
          const [id] = targets[i]!;
          if (!(await this.failMember(id, result.reason))) failed = result.reason;
        }
      }
      if (failed !== null) {
        // The last valid member is kept but may not hold the data; copy targets that took the
        // write must not hold data their source lacks, or the copy would not converge.
        await this.resyncCopyTargets(lbn, count, targets);
        throw new IoError(
          `write of LBN ${lbn}-${lbn + count - 1} failed on the last valid member: ${errorMessage(failed)}`,
        );
      }
      if (!this.follower.state.set.members.some((m) => m.status === 'valid' && this.devices.has(m.id))) {
        throw new IoError(`write of LBN ${lbn}-${lbn + count - 1} failed: no valid member is left`);
      }
    } finally {
      if (position >= 0) this.tracker.end(position);
      release?.();
      this.barrier.leaveShared();
    }
  }

  /**
   * Several hosts: decide on the state folded up to the stream's end and append with that
   * expectation; another host's append in between fails it, and the decision is taken again
   * on the new state (a CopyStarted is so claimed by exactly one host, on an exact bitmap).
   */
  private async controlShared(command: ShadowCommand): Promise<RecordedEvent[]> {
    // Decide on a private fold that reads the stream's tail directly: this host's subscription
    // may lag, and waiting for it on every retry would let a busy host starve the decision.
    const state = cloneState(this.follower.state.set);
    // Bounded: each retry follows another host's append and folds it; gaps come quickly.
    for (let attempt = 0; attempt < 1000; attempt++) {
      for await (const batch of this.store.read(state.position + 1)) for (const r of batch) evolve(state, r);
      const events = decide(command, state);
      if (events.length === 0) return [];
      let last: number;
      try {
        last = await this.store.append(events, { expectedPosition: state.position + 1 });
      } catch (error) {
        if (error instanceof WrongExpectedPositionError) continue;
        throw error;
      }
      await this.follower.waitFor(last);
      const out: RecordedEvent[] = [];
      for await (const batch of this.store.read(last - events.length + 1, last + 1)) out.push(...batch);
      return out;
    }
    throw new IoError(`${command.type} could not be appended: the stream kept moving for 1000 attempts`);
  }

  /** Does a write reach this member? Several hosts: as of the state before the write's position. */
  private receivesWrite(m: ShadowSetState['members'][number], position: number): boolean {
    if (this.host === null) return receivesWrites(m.status);
    switch (m.status) {
      case 'valid':
        return true;
      case 'leaving':
        // Until the cut (the last dismount-reads acknowledgement) writes still reach it.
        return m.leaving!.cutPosition === null || m.leaving!.cutPosition >= position;
      case 'copying':
        // Only the copying host writes the target; the others' writes are copied again at the end.
        return m.copy!.owner === this.host;
      default:
        return false;
    }
  }

  /** Several hosts: phase one of a dismount, waiting until every host drained its writes to the member. */
  private async requestDismount(member: string, policy: 'minicopy' | 'none'): Promise<void> {
    const m = resolveMember(this.follower.state.set, member);
    if (m.status !== 'leaving') {
      await this.controlLocked({ type: 'RequestDismount', member: m.id, policy, host: this.host! });
    }
    await this.waitUntil((state) => {
      const x = state.members.find((y) => y.id === m.id)!;
      return (
        x.leaving !== null && x.leaving.cutPosition !== null && allHostsAcked(state, x.leaving.writesAcked)
      );
    }, `every host to stop writing ${m.id}`);
  }

  /** Wait (bounded by the acknowledgement timeout) until the folded state satisfies `done`. */
  private async waitUntil(done: (state: ShadowSetState) => boolean, what: string): Promise<void> {
    const deadline = performance.now() + this.acknowledgementTimeoutMs;
    while (!done(this.follower.state.set)) {
      if (performance.now() > deadline) {
        const hosts = this.follower.state.set.hosts.join(', ');
        throw new IoError(
          `timed out after ${this.acknowledgementTimeoutMs} ms waiting for ${what} (hosts: ${hosts}); is a host down?`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }

  /** Several hosts: open the members this host must write, close the ones it must not. */
  private async reconcileDevices(): Promise<void> {
    for (const m of this.follower.state.set.members) {
      const open = this.devices.get(m.id);
      const wanted = m.status === 'valid' || m.status === 'leaving';
      // A copy this host runs owns its target's device, also before CopyStarted is folded.
      if (this.copies.has(m.id)) continue;
      if (wanted && !open) {
        this.devices.set(m.id, await this.access.open(m.path, this.geometry.blocks * 512));
      } else if (!wanted && open && !(m.status === 'copying' && m.copy?.owner === this.host)) {
        this.devices.delete(m.id);
        await open.close();
      }
    }
  }

  /** Several hosts: ask every host to stall for the copy's last pass; resolves with CopyFinishing's position. */
  private async finishCopy(member: string): Promise<number> {
    await this.controlLocked({ type: 'FinishCopy', member, host: this.host! });
    await this.waitUntil((state) => {
      const finishing = state.members.find((m) => m.id === member)?.copy?.finishing;
      return finishing != null && allHostsAcked(state, finishing.acked);
    }, `every host to stall its writes for the end of the copy to ${member}`);
    // Every host is stalled: no write comes after what is folded now.
    await this.follower.waitFor(await this.store.lastPosition());
    return this.follower.state.set.position + 1;
  }

  /** Chunks written by any host at positions `[from, to)`. */
  private async writtenChunks(from: number, to: number): Promise<ChunkBitmap> {
    const written = new MinimergeBitmap(this.geometry, from);
    for await (const batch of this.store.read(from, to)) for (const r of batch) written.apply(r);
    return written.chunks;
  }

  /** The recorded event at `position`. */
  private async readEvent(position: number): Promise<RecordedEvent> {
    for await (const batch of this.store.read(position, position + 1)) if (batch[0]) return batch[0];
    throw new InvariantViolationError(`event at position ${position} is missing from the log`);
  }

  /** After a failed write on the last valid member: give copy targets the valid member's blocks. */
  private async resyncCopyTargets(
    lbn: number,
    count: number,
    targets: readonly [string, BlockDevice][],
  ): Promise<void> {
    const state = this.follower.state.set;
    const buffer = new Uint8Array(count * 512);
    let readable = true;
    try {
      await this.readValid(buffer, lbn * 512);
    } catch {
      readable = false;
    }
    for (const [id, device] of targets) {
      if (state.members.find((m) => m.id === id)?.status !== 'copying') continue;
      try {
        if (!readable)
          throw new IoError(`cannot read LBN ${lbn}-${lbn + count - 1} from the last valid member`);
        await device.write(buffer, lbn * 512);
      } catch (error) {
        await this.failMember(id, error);
      }
    }
  }

  /** Append events with the positions the engine predicts (it is the log's single writer). */
  private issue(events: readonly ShadowEvent[], isWrite: boolean): { first: number; durable: Promise<void> } {
    const first = this.nextPosition;
    this.nextPosition += events.length;
    for (let i = 0; i < events.length; i++) {
      if (isWrite) this.tracker.begin(first + i);
      else this.tracker.skip(first + i);
    }
    const durable = this.store.append(events).then((last) => {
      assert(
        last === first + events.length - 1,
        `store put events at ${last - events.length + 1}-${last}, engine expected ${first}: another writer?`,
      );
    });
    return { first, durable };
  }

  private async control(
    command: ShadowCommand,
    options: { exclusive?: boolean } = {},
  ): Promise<RecordedEvent[]> {
    if (options.exclusive) return this.barrier.runExclusive(() => this.controlLocked(command));
    return this.controlLocked(command);
  }

  /** Decide on the fully folded state, append, and wait until the new events are folded. */
  private async controlLocked(command: ShadowCommand): Promise<RecordedEvent[]> {
    if (this.host !== null) return this.controlMutex.run(() => this.controlShared(command));
    return this.controlMutex.run(async () => {
      await this.follower.waitFor(this.nextPosition - 1);
      const events = decide(command, this.follower.state.set);
      if (events.length === 0) return [];
      const issued = this.issue(events, false);
      await issued.durable;
      const last = issued.first + events.length - 1;
      await this.follower.waitFor(last);
      const out: RecordedEvent[] = [];
      for await (const batch of this.store.read(issued.first, last + 1)) out.push(...batch);
      return out;
    });
  }

  private context(): EngineContext {
    return {
      geometry: this.geometry,
      rangeLock: this.rangeLock,
      barrier: this.barrier,
      state: () => this.follower.state.set,
      device: (member) => this.devices.get(member),
      control: (command, options) => this.control(command, options),
      readValid: (buffer, offset, prefer) => this.readValid(buffer, offset, prefer),
      failMember: (member, error) => this.failMember(member, error),
      progress: (update) => this.progress$.next(update),
      closing: () => this.isClosing,
      host: this.host,
      finishCopy: (member) => this.finishCopy(member),
      copyStartAcknowledged: (member) =>
        this.waitUntil((state) => {
          const copy = state.members.find((m) => m.id === member)?.copy;
          return copy == null || allHostsAcked(state, copy.startAcked);
        }, `every host to drain its writes before the copy to ${member}`),
      writtenChunks: (from, to) => this.writtenChunks(from, to),
    };
  }

  private async recordAbort(member: string, reason: string): Promise<void> {
    if (this.host !== null) {
      // Several hosts: the others' writes during the copy reached neither the target nor its
      // bitmap, so the bitmap no longer covers the target: drop it (no fingerprint), and the
      // next return is a full copy. No barrier: this host may hold its own copy-finish stall.
      await this.controlLocked({ type: 'AbortCopy', member, reason, fingerprint: null });
      return;
    }
    await this.barrier.runExclusive(async () => {
      const m = resolveMember(this.follower.state.set, member);
      const device = this.devices.get(member);
      let fingerprint = null;
      if (device) {
        try {
          await device.flush();
          fingerprint = await this.access.fingerprint(m.path, device, this.geometry);
        } catch {
          fingerprint = null;
        }
      }
      await this.controlLocked({ type: 'AbortCopy', member, reason, fingerprint });
    });
  }

  /** Expel a member after an I/O error. False when the decider keeps it (last valid member). */
  private async failMember(member: string, error: unknown): Promise<boolean> {
    const m = this.follower.state.set.members.find((x) => x.id === member);
    if (!m || m.status === 'failed' || m.status === 'dismounted') return true;
    try {
      await this.controlLocked({ type: 'FailMember', member, error: errorMessage(error) });
    } catch (rejected) {
      if (rejected instanceof CommandRejectedError) {
        // Raced with another failure report for the same member, or it is the last valid member.
        const now = this.follower.state.set.members.find((x) => x.id === member);
        return now?.status === 'failed';
      }
      throw rejected;
    }
    const device = this.devices.get(member);
    this.devices.delete(member);
    await device?.close().catch(() => undefined);
    return true;
  }

  private async readValid(buffer: Uint8Array, offset: number, prefer?: string): Promise<void> {
    // Bounded: each failed attempt expels a member or gives up; a set has at most six.
    for (let attempt = 0; attempt < 8; attempt++) {
      const state = this.follower.state.set;
      const sources = this.readSources(state, prefer);
      if (sources.length === 0) throw new IoError('read failed: no valid member is left to read from');
      const [id, device] = sources[0]!;
      try {
        await device.read(buffer, offset);
        return;
      } catch (error) {
        if (sources.length === 1) {
          throw new IoError(
            `read at byte ${offset} failed on ${id}, the last valid member: ${errorMessage(error)}`,
          );
        }
        await this.failMember(id, error);
      }
    }
    throw new IoError(`read at byte ${offset} failed on every member`);
  }

  /** Valid members to read from, in the order to try: the merge source only while merging. */
  private readSources(state: ShadowSetState, prefer?: string): [string, BlockDevice][] {
    const out: [string, BlockDevice][] = [];
    const merge = state.merge;
    for (const m of state.members) {
      if (m.status !== 'valid') continue;
      if (merge !== null && m.id !== merge.source && out.length === 0 && prefer === undefined) continue;
      const device = this.devices.get(m.id);
      if (device) out.push([m.id, device]);
    }
    if (merge !== null) {
      const source = out.findIndex(([id]) => id === merge.source);
      if (source > 0) out.unshift(...out.splice(source, 1));
      return source >= 0 ? out : out;
    }
    if (prefer !== undefined) {
      const i = out.findIndex(([id]) => id === prefer);
      if (i > 0) out.unshift(...out.splice(i, 1));
      return out;
    }
    // Spread reads over the valid members.
    if (out.length > 1) {
      const k = this.readCursor++ % out.length;
      return [...out.slice(k), ...out.slice(0, k)];
    }
    return out;
  }

  private async openMembers(): Promise<void> {
    const state = this.follower.state.set;
    for (const m of state.members) {
      // A leaving member still receives writes until its cut (several hosts).
      if (m.status !== 'valid' && m.status !== 'leaving') continue;
      try {
        this.devices.set(m.id, await this.access.open(m.path, this.geometry.blocks * 512));
      } catch (error) {
        if (!(await this.failMember(m.id, error))) throw error;
      }
    }
  }

  /** Start the crash merge (if writes after the last sync may be unequal) and resume copies. */
  private recover(): void {
    const state = this.follower.state.set;
    const from = state.merge ? state.merge.fromPosition : (state.synced?.position ?? -1) + 1;
    const resume = state.merge !== null;
    this.mergeDone = (async () => {
      const chunks = new MinimergeBitmap(this.geometry, from);
      for await (const batch of this.store.read(from)) for (const r of batch) chunks.apply(r);
      if (chunks.writes === 0 && !resume) return null;
      const result = await runMerge(this.context(), chunks.chunks, resume);
      await this.recordSynced(this.tracker.watermark());
      return result;
    })();
    this.track(this.mergeDone);
    // Copies wait for the merge: a copy source must hold merged data.
    const resumed: Promise<unknown>[] = [];
    for (const m of state.members) {
      if (m.status !== 'copying' && m.status !== 'returning') continue;
      const id = m.id;
      const path = m.path;
      resumed.push(
        (async () => {
          await this.mergeDone;
          const device = await this.access.open(path, this.geometry.blocks * 512);
          await this.copies.start(id, device).done;
        })(),
      );
    }
    this.resumed = Promise.allSettled(resumed);
    this.track(this.resumed);
  }

  private async flushMembers(): Promise<void> {
    const state = this.follower.state.set;
    const flushes: Promise<void>[] = [];
    for (const m of state.members) {
      const device = this.devices.get(m.id);
      if (device && receivesWrites(m.status)) {
        flushes.push(
          device.flush().catch((error: unknown) => this.failMember(m.id, error).then(() => undefined)),
        );
      }
    }
    await Promise.all(flushes);
  }

  private async recordSynced(position: number): Promise<void> {
    if (!this.logWrites || position <= this.syncedPosition) return;
    await this.controlLocked({ type: 'SyncMembers', position });
    this.syncedPosition = position;
  }

  private async syncIfBehind(): Promise<void> {
    if (this.isClosing || this.syncing || this.state.set.merge !== null) return;
    if (performance.now() < this.nextSyncAtMs) return;
    const watermark = this.tracker.watermark();
    if (watermark <= this.syncedPosition) return;
    // Only worth a record when writes happened since the last sync.
    if (this.state.set.writeEvents === 0) return;
    this.syncing = true;
    try {
      const started = performance.now();
      await this.flushMembers();
      await this.recordSynced(watermark);
      // A member fdatasync under a heavy write load writes back everything dirty and holds
      // thread-pool threads the write path needs: measured here, 1 s syncs cut 1 MiB NBD
      // writes from ~1,570/s to ~490/s. So the background sync spends at most ~10% of the
      // time flushing; a longer interval only means a larger crash merge.
      this.nextSyncAtMs = performance.now() + SYNC_DUTY_FACTOR * (performance.now() - started);
    } finally {
      this.syncing = false;
    }
  }

  private track(work: Promise<unknown>): void {
    const p = work.catch(() => undefined);
    this.background.add(p);
    void p.finally(() => this.background.delete(p));
  }

  private blocksOf(length: number): number {
    if (length === 0 || length % 512 !== 0) {
      throw new InvalidArgumentError(`write of ${length} bytes: give whole 512-byte blocks`);
    }
    return length / 512;
  }

  private checkRange(lbn: number, count: number): void {
    if (!Number.isSafeInteger(lbn) || !Number.isSafeInteger(count) || lbn < 0 || count <= 0) {
      throw new OutOfRangeError(`LBN range ${lbn}+${count} is invalid`);
    }
    if (lbn + count > this.geometry.blocks) {
      throw new OutOfRangeError(
        `LBN range ${lbn}-${lbn + count - 1} is past the end of the volume (${this.geometry.blocks} blocks)`,
      );
    }
  }

  private assertOpen(): void {
    if (this.isClosing || this.closed)
      throw new ShadowlogError('COMMAND_REJECTED', 'the shadow set is closing');
  }
}

const ZEROES = new Uint8Array(1024 * 1024);
/** Background syncs wait this many times their own flush duration before the next one. */
const SYNC_DUTY_FACTOR = 10;

async function writeZeroes(device: BlockDevice, lbn: number, count: number): Promise<void> {
  let offset = lbn * 512;
  let left = count * 512;
  while (left > 0) {
    const n = Math.min(left, ZEROES.length);
    await device.write(ZEROES.subarray(0, n), offset);
    offset += n;
    left -= n;
  }
}
