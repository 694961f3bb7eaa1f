import { promises as fs } from 'node:fs';
import { InvalidArgumentError, IoError, NotFoundError } from '../../../domain/errors.js';
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
import { SEAL_FRAME_BYTES, WRITE_RECORD_BYTES } from './record-codec.js';
import { RecordCursor, type RecordVisitor, replayRecords } from './record-cursor.js';
import { SEGMENT_HEADER_BYTES } from './segment-format.js';
import { HEALTHY, type StoreHealth } from './write-failure.js';
import { acquireWriteLock, type WriteLock } from './write-lock.js';

/**
 * The embedded event store: an append-only segmented log in a local directory, the default
 * store. See the files beside this one: record-codec.ts (record format), segment-format.ts,
 * segment-index.ts and segment-files.ts (files), open-log.ts (verification and recovery at open),
 * group-commit-writer.ts (the durable write path), record-cursor.ts (reads), follow-tail.ts
 * (read-only views of a log another process writes), log-check.ts (`log check`).
 */

/** Options of {@link openEmbeddedStore}. */
export interface EmbeddedStoreOptions {
  /** Stream id stored in every segment header; required to create a log, checked when opening one. */
  readonly streamId?: string;
  /** Open without the writer lock, change nothing, follow a concurrent writer. */
  readonly readOnly?: boolean;
  /** Segment size before rolling to a new one (default 64 MiB). */
  readonly segmentBytes?: number;
  /** Most bytes per group-commit batch (default 4 MiB). */
  readonly maxBatchBytes?: number;
  /** Most accepted-but-unwritten bytes before appenders wait (default 32 MiB). */
  readonly maxQueuedBytes?: number;
  /** Most accepted-but-unwritten events before appenders wait (default 1,048,576). */
  readonly maxQueuedEvents?: number;
  /** Largest single append, encoded (default 64 MiB). */
  readonly maxAppendBytes?: number;
  /** Clock for recordedAt (ms since epoch); `Date.now` by default. */
  readonly clock?: () => number;
  /** Bounds of subscription buffering. */
  readonly subscriptionLimits?: Partial<SubscriptionLimits>;
  /**
   * Make a new log when the directory is missing or empty (default true). False: such a
   * directory is NotFoundError. A directory holding anything but no valid log is always
   * refused (LogCorruptError), never written into.
   */
  readonly create?: boolean;
  /** First position of a new log (default 0): an incident bundle's log starts at its window. */
  readonly firstPosition?: number;
  /** Called synchronously each time bytes of the log became durable (tests, metrics): a batch write or a new segment's header. */
  readonly onDurable?: (info: {
    readonly segmentPath: string;
    readonly endOffsetBytes: number;
    readonly lastPosition: number;
  }) => void;
}

/** Default segment size. */
export const DEFAULT_SEGMENT_BYTES = 64 * 1024 * 1024;
const MAX_SEGMENT_BYTES = 1024 * 1024 * 1024;
const MIB = 1024 * 1024;

function positiveInteger(
  name: string,
  value: number | undefined,
  fallback: number,
  min: number,
  max: number,
): number {
  const chosen = value ?? fallback;
  if (!(Number.isSafeInteger(chosen) && chosen >= min && chosen <= max)) {
    throw new InvalidArgumentError(`${name} must be an integer from ${min} to ${max}, got ${value}`);
  }
  return chosen;
}

/** Open (or create) the embedded log in `dir`. Runs recovery; see {@link EmbeddedEventStore.recovery}. */
export async function openEmbeddedStore(
  dir: string,
  options: EmbeddedStoreOptions = {},
): Promise<EmbeddedEventStore> {
  const readOnly = options.readOnly ?? false;
  const clock = options.clock ?? Date.now;
  const limits = {
    segmentBytes: positiveInteger(
      'segmentBytes',
      options.segmentBytes,
      DEFAULT_SEGMENT_BYTES,
      SEGMENT_HEADER_BYTES + WRITE_RECORD_BYTES + SEAL_FRAME_BYTES,
      MAX_SEGMENT_BYTES,
    ),
    maxBatchBytes: positiveInteger('maxBatchBytes', options.maxBatchBytes, 4 * MIB, 1, MAX_SEGMENT_BYTES),
    maxQueuedBytes: positiveInteger('maxQueuedBytes', options.maxQueuedBytes, 32 * MIB, 1, 16 * 1024 * MIB),
    maxQueuedEvents: positiveInteger('maxQueuedEvents', options.maxQueuedEvents, 1 << 20, 1, 2 ** 31),
    maxAppendBytes: positiveInteger('maxAppendBytes', options.maxAppendBytes, 64 * MIB, 1, MAX_SEGMENT_BYTES),
  };
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
        poll: this.readOnly ? () => this.refresh() : undefined,
      },
      limits,
    );
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
    if (this.readOnly) await this.refresh();
    return this.state.nextPosition - 1;
  }

  /** See {@link EventStore.close}. Pending appends are written first; subscriptions end. Idempotent. */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  /** Bring a read-only view up to the writer's committed end (serialised). */
  private refresh(): Promise<void> {
    const run = this.refreshing.then(() => refreshTail(this.state));
    this.refreshing = run.catch(() => undefined);
    return run;
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
