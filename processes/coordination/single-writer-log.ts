import { assert, CommandRejectedError } from '../../domain/errors.js';
import type { RecordedEvent, ShadowEvent, WriteEvent } from '../../domain/events.js';
import { receivesWrites } from '../../domain/member-status.js';
import type { EventStore } from '../../domain/ports/event-store.js';
import type { ShadowCommand } from '../../domain/shadow-set-commands.js';
import { decide, resolveMember } from '../../domain/shadow-set-decider.js';
import type { MemberState } from '../../domain/shadow-set-state.js';
import type { IoBarrier } from '../../primitives/io-barrier.js';
import { Semaphore } from '../../primitives/semaphore.js';
import type { CopyFinishJob } from '../copy/copy-finish-job.js';
import type { CopyResult } from '../copy/copy-process.js';
import { finishSingleHost } from '../copy/single-host-finish.js';
import { BackgroundSync, type SyncPoint, type SyncRecorder } from '../engine/background-sync.js';
import type { MemberDevices } from '../engine/member-devices.js';
import { startRecovery } from '../engine/recovery.js';
import type { MergeResult } from '../merge/crash-merge.js';
import type { ProjectionFollower } from '../queries/projection-follower.js';
import { AppendFault, type LogHealthSink } from './append-fault.js';
import type { Coordination, LogDiagnostics, OpenParts } from './coordination.js';
import { recordedEvent, recordedEvents } from './recorded-events.js';
import { WriteTracker } from './write-tracker.js';

/** What the single writer's log is built from. */
export interface SingleWriterLogParts {
  /** The set's event stream; this engine is its only writer. */
  readonly store: EventStore;
  /** The folded projections. */
  readonly follower: ProjectionFollower;
  /** Drained by membership changes. */
  readonly barrier: IoBarrier;
  /** The members' devices (fingerprinted when a copy is aborted). */
  readonly devices: MemberDevices;
  /** Log application writes (false only for the write-path benchmark's baseline). */
  readonly logWrites: boolean;
  /** Start the crash merge and resume copies at open. */
  readonly recover: boolean;
  /** Interval of the background sync check. */
  readonly syncIntervalMs: number;
  /** Where a log that stops (and starts again) accepting appends is reported. */
  readonly health: LogHealthSink;
}

/**
 * The command log when this engine is the log's single writer: it appends in call order, so
 * it knows each event's position when it issues the append and can start the member I/O
 * bookkeeping at once. The WriteTracker turns those positions into an exact watermark for
 * MembersSynced, which bounds the crash merge after an unclean stop.
 *
 * A rejected append (a full log disk) makes every position predicted after it wrong. The log
 * heals (see AppendFault): that write or command fails at once with the store's error, and so
 * does every write and command until the appends in flight have settled; then the predicted
 * position is re-aligned with `store.lastPosition()` and the next write or command tries the
 * store again. Nothing waits for a position that will never be folded.
 */
export class SingleWriterLog implements Coordination, SyncRecorder {
  private readonly mutex = new Semaphore(1);
  private readonly tracker = new WriteTracker();
  private readonly fault: AppendFault;
  private nextPosition: number;
  /** Appends issued (writes and decisions) and not yet settled. */
  private appending = 0;
  private realigning = false;
  /** Bumped at every re-alignment: a sync point taken before it names reissued positions. */
  private epoch = 0;
  /** Application writes completed on the members since open. */
  private writesEnded = 0;
  /** The last MembersSynced: its position, `writesEnded` at its sync point, and where it is in the log. */
  private synced: number;
  private syncedWritesEnded = 0;
  private syncRecord: number;
  private sync: BackgroundSync | null = null;
  private recovering: { merged: Promise<MergeResult | null>; resumed: Promise<unknown> } = {
    merged: Promise.resolve(null),
    resumed: Promise.resolve(),
  };

  constructor(private readonly parts: SingleWriterLogParts) {
    const state = parts.follower.state.set;
    this.nextPosition = state.position + 1;
    this.tracker.skip(state.position);
    this.synced = state.synced?.position ?? -1;
    this.syncRecord = state.synced?.eventPosition ?? -1;
    this.fault = new AppendFault(parts.health);
  }

  control(command: ShadowCommand): Promise<RecordedEvent[]> {
    return this.decideAndAppend(command, null);
  }

  /** Decide `command` on the folded state and append; `stillDue` may call it off once it is the mutex's turn. */
  private decideAndAppend(
    command: ShadowCommand,
    stillDue: (() => boolean) | null,
  ): Promise<RecordedEvent[]> {
    return this.mutex.run(async () => {
      const { follower, store } = this.parts;
      // Bounded: the positions issued are durable soon, or an append is rejected and this fails.
      await this.fault.untilRejected(follower.waitFor(this.nextPosition - 1)).catch((e: unknown) => {
        throw this.failFast(e);
      });
      if (stillDue !== null && !stillDue()) return [];
      const events = decide(command, follower.state.set);
      if (events.length === 0) return [];
      if (this.fault.blocking !== null) throw this.failFast(this.fault.blocking);
      const first = this.nextPosition;
      this.nextPosition += events.length;
      for (let i = 0; i < events.length; i++) this.tracker.skip(first + i);
      const last = await this.appendDecision(events);
      let at = first;
      if (last !== first + events.length - 1) {
        // Only after a rejected append this engine had not seen yet when it issued this one:
        // the events are durable where the store put them.
        assert(
          this.fault.blocking !== null,
          `store put events at ${last - events.length + 1}-${last}, engine expected ${first}: another writer?`,
        );
        at = last - events.length + 1;
      }
      await follower.waitFor(last);
      return recordedEvents(store, at, last + 1, follower);
    });
  }

  private async appendDecision(events: ShadowEvent[]): Promise<number> {
    this.appending++;
    try {
      const last = await this.parts.store.append(events);
      this.fault.succeeded();
      return last;
    } catch (error) {
      throw this.fault.rejected(error);
    } finally {
      this.appending--;
      this.realignWhenSettled();
    }
  }

  /** The error to fail with while the log is blocked; starts a re-alignment that may be due. */
  private failFast(error: unknown): unknown {
    this.realignWhenSettled();
    return error;
  }

  /**
   * After a rejection, once no append is in flight: learn where the log really ends and issue
   * from there. If the store cannot say, the log stays blocked and the next write or command
   * tries again.
   */
  private realignWhenSettled(): void {
    if (this.fault.blocking === null || this.appending > 0 || this.realigning) return;
    this.realigning = true;
    void this.parts.store
      .lastPosition()
      .then(
        (last) => this.rewind(last),
        () => undefined,
      )
      .finally(() => {
        this.realigning = false;
      });
  }

  private rewind(last: number): void {
    // No append was issued since the rejection (blocking refuses them), so none is in flight.
    assert(this.appending === 0, `re-aligning with ${this.appending} appends in flight`);
    const folded = this.parts.follower.state.set.position;
    assert(
      last >= folded && last >= this.synced && last <= this.nextPosition - 1,
      `log ends at ${last}, but the engine folded ${folded}, synced ${this.synced} and issued up to ${this.nextPosition - 1}`,
    );
    this.tracker.rewind(last);
    this.nextPosition = last + 1;
    this.epoch++;
    this.fault.realigned();
  }

  recordedEvent(position: number): Promise<RecordedEvent> {
    return recordedEvent(this.parts.store, position);
  }

  admitsWrite(): boolean {
    return true;
  }

  appendWrite(event: WriteEvent): Promise<number> | null {
    if (!this.parts.logWrites) return null;
    if (this.fault.blocking !== null) return Promise.reject(this.failFast(this.fault.blocking));
    const position = this.nextPosition++;
    this.tracker.begin(position);
    this.appending++;
    return this.parts.store.append([event]).then(
      (last) => {
        this.appending--;
        if (last !== position) return this.misplaced(position, last);
        this.fault.succeeded();
        if (this.fault.blocking !== null) this.realignWhenSettled();
        return position;
      },
      (error: unknown) => {
        this.appending--;
        this.tracker.end(position);
        const failure = this.fault.rejected(error);
        this.realignWhenSettled();
        throw failure;
      },
    );
  }

  /**
   * The store put a write at another position than predicted: only possible when an append
   * before it was rejected and the store took this one, issued before the engine saw the
   * rejection. Its event is durable but this engine numbered it wrongly, so the write goes to
   * no member and fails: the members stay equal, and the log holds a write that reached no
   * member, as after a crash between the log and the members.
   */
  private misplaced(position: number, last: number): never {
    this.tracker.end(position);
    assert(
      this.fault.blocking !== null,
      `store put a write at ${last}, engine expected ${position}: another writer?`,
    );
    this.realignWhenSettled();
    throw this.fault.blocking;
  }

  endWrite(position: number): void {
    this.writesEnded++;
    this.tracker.end(position);
  }

  receivesWrite(member: MemberState): boolean {
    return receivesWrites(member.status);
  }

  missingDevice(): void {
    // A member without a device here does not receive writes from this engine.
  }

  syncPoint(): SyncPoint {
    return { position: this.tracker.watermark(), writesEnded: this.writesEnded, epoch: this.epoch };
  }

  get syncedPosition(): number {
    return this.synced;
  }

  unsynced(point: SyncPoint): boolean {
    return point.writesEnded !== this.syncedWritesEnded && point.position > this.synced;
  }

  async recordSynced(point: SyncPoint, force = false): Promise<void> {
    if (!this.parts.logWrites || !(force || this.unsynced(point))) return;
    // A point from before a re-alignment may name positions issued again since: skip it, the
    // next sync covers its writes.
    const due = () => point.epoch === this.epoch && point.position > this.synced;
    if (!due()) return;
    const [event] = await this.decideAndAppend({ type: 'SyncMembers', position: point.position }, due);
    if (event === undefined) return;
    this.synced = point.position;
    this.syncedWritesEnded = point.writesEnded;
    this.syncRecord = event.position;
  }

  async open(parts: OpenParts): Promise<void> {
    if (this.parts.recover) {
      this.recovering = startRecovery({ ...parts, store: this.parts.store, sync: this });
    }
    this.sync = new BackgroundSync(parts.engine, this, parts.tasks);
    this.sync.start(this.parts.syncIntervalMs);
  }

  get merged(): Promise<MergeResult | null> {
    return this.recovering.merged;
  }

  get resumed(): Promise<unknown> {
    return this.recovering.resumed;
  }

  membersFlushed(point: SyncPoint): Promise<void> {
    return this.recordSynced(point);
  }

  async prepareDismount(): Promise<void> {
    // One writer: draining its own writes (the dismount's barrier) is all it takes.
  }

  async removeHost(): Promise<RecordedEvent[]> {
    throw new CommandRejectedError('this set is served by one host: there is no other host to remove');
  }

  async stop(): Promise<void> {
    this.sync?.stop();
    this.fault.stop();
  }

  leave(): Promise<void> {
    const point = this.syncPoint();
    // Nothing happened since the last MembersSynced, not even a control event: the log
    // already ends synced, and a log that rejects appends does not fail the close.
    if (point.writesEnded === this.syncedWritesEnded && this.nextPosition - 1 === this.syncRecord) {
      return Promise.resolve();
    }
    return this.recordSynced(point, true);
  }

  diagnostics(): LogDiagnostics {
    return {
      issuedPosition: this.nextPosition - 1,
      syncedPosition: this.synced,
      writesInFlight: this.tracker.size,
      controlFree: this.mutex.free,
    };
  }

  async startCopy(member: string): Promise<RecordedEvent> {
    // Exclusive: writes in flight finish first, and every write after CopyStarted reaches the target.
    const [event] = await this.parts.barrier.runExclusive(() =>
      this.control({ type: 'StartCopy', member, host: undefined }),
    );
    return event!;
  }

  async copyStartAcknowledged(): Promise<void> {
    // One writer: the barrier of StartCopy drained every write logged before it.
  }

  finishCopy(job: CopyFinishJob): Promise<CopyResult> {
    return finishSingleHost(job);
  }

  recordAbort(member: string, reason: string): Promise<void> {
    const { barrier, devices, follower } = this.parts;
    return barrier.runExclusive(async () => {
      const m = resolveMember(follower.state.set, member);
      const device = devices.get(member);
      const fingerprint = device ? await devices.fingerprintOrNull(m, device) : null;
      await this.control({ type: 'AbortCopy', member, reason, fingerprint });
    });
  }
}
