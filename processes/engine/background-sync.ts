import type { BackgroundTasks } from './background-tasks.js';
import type { EngineParts } from './engine-parts.js';
import { flushWritingMembers } from './writing-members.js';

/** Background syncs wait this many times their own flush duration before the next one. */
const SYNC_DUTY_FACTOR = 10;
/** After a sync that could not be recorded (the log rejects appends), wait this long before flushing again. */
const FAILED_SYNC_BACKOFF_MS = 5_000;

/**
 * Where the writes stood when a sync began, taken before the members are flushed: the flush
 * then covers every write at or below `position`.
 */
export interface SyncPoint {
  /** Highest position such that every write at or below it completed on the members. */
  readonly position: number;
  /** Application writes completed on the members since open, when the point was taken. */
  readonly writesEnded: number;
  /** The recorder's position numbering: a point from before a re-alignment names reissued positions. */
  readonly epoch: number;
}

/** Where MembersSynced is recorded (the single writer's log). */
export interface SyncRecorder {
  /** Where the writes stand now. */
  syncPoint(): SyncPoint;
  /** Position of the last MembersSynced recorded. */
  readonly syncedPosition: number;
  /** True when application writes completed since the last MembersSynced, up to `point`. */
  unsynced(point: SyncPoint): boolean;
  /**
   * Record MembersSynced at `point` (the members were flushed with every write up to it done).
   * Nothing is recorded when no application write completed since the last one, unless
   * `force` (after a crash merge, which makes writes of an earlier run synced).
   */
  recordSynced(point: SyncPoint, force?: boolean): Promise<void>;
}

/** What the background sync uses. */
export type SyncParts = Pick<EngineParts, 'follower' | 'devices' | 'failures' | 'lifecycle'>;

/**
 * Background sync (single writer): while writes flow, flush the members and record
 * MembersSynced every interval, so a crash merge only looks at writes after it. It spends at
 * most about a tenth of the time flushing (see `syncIfBehind`). An idle set is left alone:
 * only application writes completed since the last MembersSynced make a sync due, so neither
 * the sync record itself nor a control event makes the next tick sync again.
 */
export class BackgroundSync {
  private syncing = false;
  private nextSyncAtMs = 0;
  private timer: ReturnType<typeof setInterval> | null = null;

  constructor(
    private readonly parts: SyncParts,
    private readonly recorder: SyncRecorder,
    private readonly tasks: BackgroundTasks,
  ) {}

  /** Check every `intervalMs` whether a sync is due. */
  start(intervalMs: number): void {
    this.timer = setInterval(() => this.tasks.track(this.syncIfBehind()), intervalMs);
    this.timer.unref();
  }

  /** Stop the timer (a sync running now finishes; it is tracked). */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  private async syncIfBehind(): Promise<void> {
    const state = this.parts.follower.state.set;
    if (this.parts.lifecycle.closing || this.syncing || state.merge !== null) return;
    if (performance.now() < this.nextSyncAtMs) return;
    const point = this.recorder.syncPoint();
    // Only worth a flush and a record when application writes completed since the last sync.
    if (!this.recorder.unsynced(point)) return;
    this.syncing = true;
    let recorded = false;
    try {
      const started = performance.now();
      await flushWritingMembers(this.parts);
      await this.recorder.recordSynced(point);
      // A member fdatasync under a heavy write load writes back everything dirty and holds
      // thread-pool threads the write path needs: measured here, 1 s syncs cut 1 MiB NBD
      // writes from ~1,570/s to ~490/s. So the background sync spends at most ~10% of the
      // time flushing; a longer interval only means a larger crash merge.
      this.nextSyncAtMs = performance.now() + SYNC_DUTY_FACTOR * (performance.now() - started);
      recorded = true;
    } finally {
      // A log that rejects appends is reported once by the coordination; flushing the members
      // every tick until it heals would only load the disks.
      if (!recorded) this.nextSyncAtMs = performance.now() + FAILED_SYNC_BACKOFF_MS;
      this.syncing = false;
    }
  }
}
