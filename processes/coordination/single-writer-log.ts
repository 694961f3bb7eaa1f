import { assert, CommandRejectedError } from '../../domain/errors.js';
import type { RecordedEvent, WriteEvent } from '../../domain/events.js';
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
import { BackgroundSync, type SyncRecorder } from '../engine/background-sync.js';
import type { MemberDevices } from '../engine/member-devices.js';
import { startRecovery } from '../engine/recovery.js';
import type { MergeResult } from '../merge/crash-merge.js';
import type { ProjectionFollower } from '../queries/projection-follower.js';
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
}

/**
 * The command log when this engine is the log's single writer: it appends in call order, so
 * it knows each event's position when it issues the append and can start the member I/O
 * bookkeeping at once. The WriteTracker turns those positions into an exact watermark for
 * MembersSynced, which bounds the crash merge after an unclean stop.
 */
export class SingleWriterLog implements Coordination, SyncRecorder {
  private readonly mutex = new Semaphore(1);
  private readonly tracker = new WriteTracker();
  private nextPosition: number;
  private synced: number;
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
  }

  control(command: ShadowCommand): Promise<RecordedEvent[]> {
    return this.mutex.run(async () => {
      const { follower, store } = this.parts;
      await follower.waitFor(this.nextPosition - 1);
      const events = decide(command, follower.state.set);
      if (events.length === 0) return [];
      const first = this.nextPosition;
      this.nextPosition += events.length;
      for (let i = 0; i < events.length; i++) this.tracker.skip(first + i);
      const last = await store.append(events);
      assert(
        last === first + events.length - 1,
        `store put events at ${last - events.length + 1}-${last}, engine expected ${first}: another writer?`,
      );
      await follower.waitFor(last);
      return recordedEvents(store, first, last + 1);
    });
  }

  recordedEvent(position: number): Promise<RecordedEvent> {
    return recordedEvent(this.parts.store, position);
  }

  admitsWrite(): boolean {
    return true;
  }

  appendWrite(event: WriteEvent): Promise<number> | null {
    if (!this.parts.logWrites) return null;
    const position = this.nextPosition++;
    this.tracker.begin(position);
    return this.parts.store.append([event]).then(
      (last) => {
        if (last !== position) this.tracker.end(position);
        assert(
          last === position,
          `store put a write at ${last}, engine expected ${position}: another writer?`,
        );
        return position;
      },
      (error: unknown) => {
        this.tracker.end(position);
        throw error;
      },
    );
  }

  endWrite(position: number): void {
    this.tracker.end(position);
  }

  receivesWrite(member: MemberState): boolean {
    return receivesWrites(member.status);
  }

  missingDevice(): void {
    // A member without a device here does not receive writes from this engine.
  }

  watermark(): number {
    return this.tracker.watermark();
  }

  get syncedPosition(): number {
    return this.synced;
  }

  async recordSynced(position: number): Promise<void> {
    if (!this.parts.logWrites || position <= this.synced) return;
    await this.control({ type: 'SyncMembers', position });
    this.synced = position;
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

  membersFlushed(watermark: number): Promise<void> {
    return this.recordSynced(watermark);
  }

  async prepareDismount(): Promise<void> {
    // One writer: draining its own writes (the dismount's barrier) is all it takes.
  }

  async removeHost(): Promise<RecordedEvent[]> {
    throw new CommandRejectedError('this set is served by one host: there is no other host to remove');
  }

  async stop(): Promise<void> {
    this.sync?.stop();
  }

  leave(): Promise<void> {
    return this.recordSynced(this.tracker.watermark());
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
