import { promises as fs } from 'node:fs';
import { InvalidArgumentError, IoError, LogCorruptError, NotFoundError } from '../../../domain/errors.js';
import {
  EVENT_SCHEMA_VERSION,
  type RecordedEvent,
  type ShadowEvent,
  type WriteEventType,
} from '../../../domain/events.js';
import type {
  AppendOptions,
  EventStore,
  ReadOptions,
  ReplayVisitor,
  Subscription,
} from '../../../domain/ports/event-store.js';
import type { SubscriptionLimits } from '../shared/live-subscription.js';
import { checkReadRange, checkSubscribeFrom, DEFAULT_READ_BATCH } from '../shared/store-arguments.js';
import { SubscriptionHub } from '../shared/subscription-hub.js';
import { ioError } from './durable-file.js';
import { refreshTail } from './follow-tail.js';
import {
  emptyWriterStats,
  GroupCommitWriter,
  type PendingEmbeddedAppend,
  SEGMENT_APPEND_FLAGS,
  type WriterStats,
} from './group-commit-writer.js';
import type { LogState } from './log-state.js';
import { openLog, type RecoveryReport, refuseForeignDirectory } from './open-log.js';
import { RecordCursor, type RecordVisitor, replayRecords } from './record-cursor.js';
import { type EmbeddedStoreOptions, resolveStoreLimits } from './store-options.js';
import type { DamagedRegion } from './tail-recovery.js';
import { HEALTHY, type StoreHealth } from './write-failure.js';
import { acquireWriteLock, type WriteLock } from './write-lock.js';

/**
 * The embedded event store: an append-only segmented log in a local directory, the default
 * store. See the files beside this one: record-codec.ts (record format), segment-format.ts,
 * segment-index.ts and segment-files.ts (files), open-log.ts (verification and recovery at open),
 * group-commit-writer.ts (the durable write path), record-cursor.ts (reads), follow-tail.ts
 * (read-only views of a log another process writes), log-check.ts (`log check`),
 * store-options.ts (options and their limits).
 */

export { DEFAULT_SEGMENT_BYTES, type EmbeddedStoreOptions } from './store-options.js';

/** Open (or create) the embedded log in `dir`. Runs recovery; see {@link EmbeddedEventStore.recovery}. */
export async function openEmbeddedStore(
  dir: string,
  options: EmbeddedStoreOptions = {},
): Promise<EmbeddedEventStore> {
  const readOnly = options.readOnly ?? false;
  const clock = options.clock ?? Date.now;
  const limits = resolveStoreLimits(options);
  let lock: WriteLock | null = null;
  const create = options.create ?? true;
  if (!readOnly) {
    if (!create && !(await directoryExists(dir))) {
      throw new NotFoundError(`event log ${dir} does not exist; create the log first`);
    }
    await refuseForeignDirectory(dir);
    try {
      await fs.mkdir(dir, { recursive: true });
    } catch (error) {
      throw ioError('create log directory', dir, error);
    }
    lock = await acquireWriteLock(dir);
  }
  const onDurable = options.onDurable;
  try {
    const { state, recovery } = await openLog(dir, {
      streamId: options.streamId,
      readOnly,
      clock,
      create,
      onDurable,
      firstPosition: options.firstPosition,
    });
    let writer: GroupCommitWriter | null = null;
    const store = new EmbeddedEventStore(dir, state, recovery, lock, options.subscriptionLimits);
    if (!readOnly) {
      const active = state.segments[state.segments.length - 1]!;
      let handle: fs.FileHandle;
      try {
        handle = await fs.open(active.path, SEGMENT_APPEND_FLAGS);
      } catch (error) {
        throw ioError('open segment', active.path, error);
      }
      writer = new GroupCommitWriter(
        state,
        handle,
        limits,
        clock,
        (first, appends, recordedAt) => store.published(first, appends, recordedAt),
        onDurable,
      );
      store.attachWriter(writer);
    }
    return store;
  } catch (error) {
    await lock?.release();
    throw error;
  }
}

async function directoryExists(dir: string): Promise<boolean> {
  try {
    return (await fs.stat(dir)).isDirectory();
  } catch {
    return false;
  }
}

/** Collects decoded records into a batch array. */
class BatchCollector implements RecordVisitor {
  target: RecordedEvent[] = [];
  onWrite(position: number, recordedAt: number, type: WriteEventType, lbn: number, count: number): void {
    this.target.push({ position, recordedAt, event: { type, v: EVENT_SCHEMA_VERSION, lbn, count } });
  }
  onEvent(recorded: RecordedEvent): void {
    this.target.push(recorded);
  }
}

/** The embedded store. Create with {@link openEmbeddedStore}. */
export class EmbeddedEventStore implements EventStore {
  /** Log directory. */
  readonly dir: string;
  /** True when opened read-only. */
  readonly readOnly: boolean;
  /** What recovery found at open. */
  readonly recovery: RecoveryReport;
  private readonly state: LogState;
  private readonly lock: WriteLock | null;
  private writer: GroupCommitWriter | null = null;
  private readonly subscriptions: SubscriptionHub;
  private closing: Promise<void> | null = null;
  /** Tail refreshes of a read-only view run one at a time: each extends the shared state. */
  private refreshing: Promise<void> = Promise.resolve();
  /** A damaged log's intact prefix was accepted as the whole (see {@link readIntactPrefix}). */
  private prefixAccepted = false;

  /** Use {@link openEmbeddedStore}. */
  constructor(
    dir: string,
    state: LogState,
    recovery: RecoveryReport,
    lock: WriteLock | null,
    limits: Partial<SubscriptionLimits> | undefined,
  ) {
    this.dir = dir;
    this.state = state;
    this.recovery = recovery;
    this.lock = lock;
    this.readOnly = lock === null;
    this.subscriptions = new SubscriptionHub(
      {
        end: () => this.state.nextPosition,
        read: (from, to) => this.batches(from, to, DEFAULT_READ_BATCH),
        poll: this.readOnly ? () => this.followTail() : undefined,
      },
      limits,
    );
  }

  /**
   * Where a read-only open found durable data damaged (null: not damaged). Until
   * {@link readIntactPrefix} is called, anything that needs the whole log (lastPosition, an
   * unbounded read, following) throws the LogCorruptError naming the damage; reads ending
   * before `damagedAt.position` always work, reads past it always throw.
   */
  get damagedAt(): DamagedRegion | null {
    return this.recovery.damagedAt;
  }

  /**
   * Accept the intact prefix of a damaged log as the log: lastPosition is then the last
   * position before the damage. For time travel to a point before it (`show --at`); returns
   * {@link damagedAt}.
   */
  readIntactPrefix(): DamagedRegion | null {
    this.prefixAccepted = true;
    return this.damagedAt;
  }

  /** Stream id of the log ('' for a read-only view of a log not created yet). */
  get streamId(): string {
    return this.state.streamId;
  }

  /** Writer counters (fsyncs, batches, events, bytes, rolls); zeros when read-only. */
  get stats(): Readonly<WriterStats> {
    return this.writer?.stats ?? emptyWriterStats();
  }

  /**
   * How the store is, for the engine and the server to report: `ok`; `degraded` while appends
   * fail for lack of disk space (each append retries; it heals by itself once space is
   * freed); `failed` once the writer stopped for good (restart to reopen). A read-only store
   * is always `ok`.
   */
  health(): StoreHealth {
    return this.writer?.health ?? HEALTHY;
  }

  /** Segment files, in position order, with their committed records and bytes. */
  segments(): readonly {
    name: string;
    firstPosition: number;
    records: number;
    bytes: number;
    sealed: boolean;
  }[] {
    return this.state.segments.map(({ name, firstPosition, records, bytes, sealed }) => ({
      name,
      firstPosition,
      records,
      bytes,
      sealed,
    }));
  }

  /** @internal Wiring done by {@link openEmbeddedStore}. */
  attachWriter(writer: GroupCommitWriter): void {
    this.writer = writer;
  }

  /** @internal Called by the writer after each durable group. */
  published(first: number, appends: readonly PendingEmbeddedAppend[], recordedAt: number): void {
    if (!this.subscriptions.listening) return;
    const batch: RecordedEvent[] = [];
    let position = first;
    for (const append of appends) {
      for (const event of append.prepared.events) batch.push({ position: position++, recordedAt, event });
    }
    this.subscriptions.publish(batch);
  }

  /** See {@link EventStore.append}. Resolves after the fdatasync covering the events. */
  append(events: readonly ShadowEvent[], options: AppendOptions = {}): Promise<number> {
    if (this.writer === null) {
      return Promise.reject(
        new InvalidArgumentError(`event log ${this.dir} is open read-only; appends need a writable open`),
      );
    }
    return this.writer.append(events, options.expectedPosition);
  }

  /** See {@link EventStore.read}. Every record's CRC is verified; a bad one throws LogCorruptError. */
  read(from: number, to?: number, options: ReadOptions = {}): AsyncIterable<readonly RecordedEvent[]> {
    if (this.readOnly) {
      const range = checkReadRange(from, to, options.batchSize, Number.MAX_SAFE_INTEGER);
      const refused = this.refuseDamage(to);
      if (refused !== null) return failing(refused);
      return this.refreshedBatches(range.from, to === undefined ? undefined : range.to, range.batchSize);
    }
    const range = checkReadRange(from, to, options.batchSize, this.state.nextPosition);
    return this.batches(range.from, range.to, range.batchSize);
  }

  /**
   * Fast path for replay: visit records `[from, to)` (`to` defaults to the end) without
   * building an event object per write record -- writes reach `visitor.onWrite` as numbers
   * straight from the read buffer. Resolves with the number of records visited.
   */
  async forEachRecord(
    from: number,
    to: number | undefined,
    visitor: RecordVisitor,
    options: { readonly windowBytes?: number } = {},
  ): Promise<number> {
    if (this.readOnly) await this.refresh();
    const refused = this.refuseDamage(to);
    if (refused !== null) throw refused;
    const range = checkReadRange(from, to, 1, this.state.nextPosition);
    if (range.from >= range.to) return 0;
    const cursor = new RecordCursor(this.state, range.from, range.to, options.windowBytes);
    let visited = 0;
    try {
      // Bounded by the range: fill() returns false at its end.
      while (await cursor.fill()) visited += cursor.decode(visitor, Number.MAX_SAFE_INTEGER);
    } finally {
      await cursor.close();
    }
    return visited;
  }

  /** See {@link EventStore.replay}: write runs decoded straight from the read buffer, CRC verified. */
  async replay(from: number, to: number, visitor: ReplayVisitor): Promise<number> {
    if (this.readOnly) await this.refresh();
    const refused = this.refuseDamage(to);
    if (refused !== null) throw refused;
    return replayRecords(this.state, from, checkReadRange(from, to, 1, this.state.nextPosition).to, visitor);
  }

  /** See {@link EventStore.subscribe}. Read-only stores poll for the writer's appends. */
  subscribe(from: number, onBatch: (batch: readonly RecordedEvent[]) => void | Promise<void>): Subscription {
    checkSubscribeFrom(from);
    if (this.closing !== null) throw new IoError(`event log ${this.dir} is closed`);
    return this.subscriptions.subscribe(from, onBatch);
  }

  /** See {@link EventStore.lastPosition}. */
  async lastPosition(): Promise<number> {
    const refused = this.refuseDamage(undefined);
    if (refused !== null) throw refused;
    if (this.readOnly) await this.refresh();
    return this.state.nextPosition - 1;
  }

  /** See {@link EventStore.close}. Pending appends are written first; subscriptions end. Idempotent. */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  /**
   * The error a read ending at `to` (undefined: the end of the log) meets on a damaged log,
   * or null: past the damage always; to the end unless the intact prefix was accepted.
   */
  private refuseDamage(to: number | undefined): LogCorruptError | null {
    const damaged = this.recovery.damagedAt;
    if (damaged === null) return null;
    const past = to === undefined ? !this.prefixAccepted : to > damaged.position;
    return past ? new LogCorruptError(damaged.message) : null;
  }

  /**
   * Bring a read-only view up to the writer's committed end (serialised). A damaged log is
   * never extended: nothing after the damage is trusted.
   */
  private refresh(): Promise<void> {
    if (this.recovery.damagedAt !== null) return Promise.resolve();
    const run = this.refreshing.then(() => refreshTail(this.state));
    this.refreshing = run.catch(() => undefined);
    return run;
  }

  /** A subscription's poll: following a damaged log is refused, it needs the whole log. */
  private followTail(): Promise<void> {
    const refused = this.refuseDamage(undefined);
    return refused === null ? this.refresh() : Promise.reject(refused);
  }

  private async shutdown(): Promise<void> {
    try {
      await this.writer?.close();
    } finally {
      this.subscriptions.close();
      await this.lock?.release();
    }
  }

  private async *refreshedBatches(
    from: number,
    to: number | undefined,
    batchSize: number,
  ): AsyncGenerator<readonly RecordedEvent[]> {
    await this.refresh();
    yield* this.batches(
      from,
      Math.max(from, Math.min(to ?? this.state.nextPosition, this.state.nextPosition)),
      batchSize,
    );
  }

  private async *batches(
    from: number,
    to: number,
    batchSize: number,
  ): AsyncGenerator<readonly RecordedEvent[]> {
    if (from >= to) return;
    const cursor = new RecordCursor(this.state, from, to);
    const collector = new BatchCollector();
    try {
      // Bounded by the range: each round yields at least one event or ends.
      while (cursor.more) {
        collector.target = [];
        while (collector.target.length < batchSize && (await cursor.fill())) {
          cursor.decode(collector, batchSize - collector.target.length);
        }
        if (collector.target.length === 0) return;
        yield collector.target;
      }
    } finally {
      await cursor.close();
    }
  }
}

/** A read that fails with `error` when iterated (reads report errors there, not when called). */
function failing(error: Error): AsyncIterable<readonly RecordedEvent[]> {
  return {
    [Symbol.asyncIterator]: () => ({ next: () => Promise.reject(error) }),
  };
}
