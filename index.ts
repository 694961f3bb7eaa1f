/**
 * shadowlog as a library (`import { … } from 'shadowlog'`): open a store, give it to
 * `VirtualUnit` with a `MemberAccess`, or open a set by home and name with `openSet`; read any
 * log with `currentState` / `stateAt` and the projections. docs/design.md has the layers,
 * events and invariants.
 */

// ---------------- sets by home and name (adapters/composition-root)
export {
  /** What `createShadowSet` made: the created event, the images it created, the initial copies. */
  type CreatedSet,
  /** Watches an initial copy's progress while `createShadowSet` runs it. */
  type CreateWatch,
  /** Create a set in its home: the log with ShadowSetCreated, sparse images for missing members. */
  createSet,
  /** Create a set and run the initial copy of members that may differ (unless assume-clean); returns what was made. */
  createShadowSet,
  /** What a new set looks like: size, chunk size, member paths. */
  type NewSet,
} from './adapters/composition-root/create-set.js';
export {
  /** Engine options of a read-write open: copy limits, snapshot interval. */
  type EngineTuning,
  /** What `openSet` returns in either mode: paths, store, state at a position, close. */
  type OpenedSetBase,
  /** Options of `openSet`: home, set name, mode, KurrentDB store, host name. */
  type OpenSetOptions,
  /** Open a set by home and name, read-only (log and projections) or read-write (the engine). */
  openSet,
  /** A set opened read-only. */
  type ReadOnlySet,
  /** A set opened read-write: `unit` is its engine. */
  type ReadWriteSet,
} from './adapters/composition-root/open-set.js';
export {
  /** Where a set lives in its home: directory, log, snapshots, control files. */
  type SetPaths,
  /** The paths of a set in a home. */
  setPaths,
} from './adapters/composition-root/set-home.js';

// ---------------- devices
export {
  /** Open an image file or block device as a member. */
  openBlockDevice,
} from './adapters/devices/file-block-device.js';
export {
  /** The engine's way to image files and block devices: open at the set's size and fingerprint. */
  FileMemberAccess,
} from './adapters/devices/file-member-access.js';
export type {
  /** Tuning of the member fingerprint's content sample. */
  FingerprintOptions,
} from './adapters/devices/member-fingerprint.js';
export {
  /** A member held in memory (tests, demos). */
  MemoryBlockDevice,
} from './adapters/devices/memory-block-device.js';
export {
  /** Create a sparse image file of a size (kept when it exists with that size). */
  createSparseImage,
} from './adapters/devices/sparse-image.js';

// ---------------- stores
export {
  /** `log check` of an embedded log: every record's CRC, torn tail, corruption. */
  checkLog,
  /** Default segment size of the embedded log (64 MiB). */
  DEFAULT_SEGMENT_BYTES,
  /** Snapshots the embedded snapshot store keeps by default. */
  DEFAULT_SNAPSHOTS_KEPT,
  /** The embedded event store: an append-only segmented log in a local directory. */
  EmbeddedEventStore,
  /** Options of `openEmbeddedStore`: stream id, read-only, segment and queue bounds. */
  type EmbeddedStoreOptions,
  /** A loaded projection snapshot. */
  type LoadedSnapshot,
  /** What `checkLog` found. */
  type LogCheckReport,
  /** Open (or create) the embedded log in a directory; runs recovery. */
  openEmbeddedStore,
  /** What recovery found (and, unless read-only, fixed) at open. */
  type RecoveryReport,
  /** Durable store of projection snapshots in one directory (CRC-checked, a bad one is skipped). */
  SnapshotStore,
  /** Options of `SnapshotStore`. */
  type SnapshotStoreOptions,
  /** A snapshot skipped because it failed its checks. */
  type SnapshotWarning,
} from './adapters/store/embedded/index.js';
export {
  /** True when a `--store` value is a KurrentDB connection string. */
  isKurrentDbConnectionString,
  /** The KurrentDB (EventStoreDB) event store: one stream per set. */
  KurrentDbEventStore,
  /** Options of `openKurrentDbStore`: the set id, retry policy, limits. */
  type OpenKurrentDbStoreOptions,
  /** Connect to KurrentDB and open a set's stream. */
  openKurrentDbStore,
} from './adapters/store/kurrentdb/index.js';
export {
  /** In-memory event store (tests, demos, embedding). */
  MemoryEventStore,
  /** Options of `MemoryEventStore`: clock, subscription bounds. */
  type MemoryEventStoreOptions,
} from './adapters/store/memory/memory-event-store.js';

// ---------------- domain: bitmaps, errors, events, geometry, ports, set state
export {
  /** A fixed-size bitmap of chunks (`Uint32Array`): write bitmaps and the minimerge bitmap. */
  ChunkBitmap,
  /** A maximal run of set chunks. */
  type ChunkRun,
} from './domain/chunk-bitmap.js';
export {
  /** Throw InvariantViolationError unless a condition holds. */
  assert,
  /** The set refused a command (policy, state); the message says why and the fix. */
  CommandRejectedError,
  /** An event failed its schema. */
  EventInvalidError,
  /** A bad argument or value. */
  InvalidArgumentError,
  /** An invariant did not hold: a bug. */
  InvariantViolationError,
  /** An I/O error on a member, a log or a server. */
  IoError,
  /** The log or a snapshot is corrupt (names segment and offset). */
  LogCorruptError,
  /** Another process holds the log's writer lock. */
  LogLockedError,
  /** A set, member or position does not exist. */
  NotFoundError,
  /** An LBN, chunk or position out of range. */
  OutOfRangeError,
  /** Base class of every shadowlog error, with a stable `code`. */
  ShadowlogError,
  /** The stable error codes. */
  type ShadowlogErrorCode,
  /** An append's expected position did not hold (another writer appended). */
  WrongExpectedPositionError,
} from './domain/errors.js';
export {
  /** What a host acknowledges in the multi-host protocols. */
  type Acknowledgement,
  /** BlocksTrimmed: a trim, logged before it reaches any member. */
  type BlocksTrimmed,
  /** BlocksWritten: one application write, logged before it reaches any member. */
  type BlocksWritten,
  /** Minicopy or full copy. */
  type CopyKind,
  /** Dismount policy: minicopy or none. */
  type DismountPolicy,
  /** Current schema version of every event type. */
  EVENT_SCHEMA_VERSION,
  /** Every event type name, in catalogue order. */
  EVENT_TYPES,
  /** The event of type `T`. */
  type EventOf,
  /** A member's fingerprint: size, inode, mtime, content sample. */
  type Fingerprint,
  /** True for BlocksWritten, BlocksTrimmed and ZeroesWritten. */
  isWriteEvent,
  /** Mount policy: minicopy, minicopy-optional or full. */
  type MountPolicy,
  /** Validate an event from outside the process (throws EventInvalidError). */
  parseEvent,
  /** An event as stored: position, recordedAt, event. */
  type RecordedEvent,
  /** How a set's members came to agree at creation (fresh, assume-clean, copied). */
  type SetOrigin,
  /** One of `fresh`, `assume-clean`, `copied`. */
  type SetOriginKind,
  /** Any event of a shadow set stream. */
  type ShadowEvent,
  /** The name of an event type. */
  type ShadowEventType,
  /** ShadowSetCreated: the first event of a stream. */
  type ShadowSetCreated,
  /** Schema of the origin kind. */
  setOriginKindSchema,
  /** Schema of a set's origin in ShadowSetCreated. */
  setOriginSchema,
  /** Schema of every event (a zod discriminated union on `type`; `.options` holds each event's schema). */
  shadowEventSchema,
  /** The three events that change volume contents. */
  type WriteEvent,
  /** The name of a write event type. */
  type WriteEventType,
  /** Build a write event. */
  writeEvent,
  /** ZeroesWritten: a write of zeroes, logged before it reaches any member. */
  type ZeroesWritten,
} from './domain/events.js';
export {
  /** Bytes per block (512). */
  BLOCK_SIZE,
  /** The first and last chunk an LBN range touches. */
  type ChunkSpan,
  /** The chunk holding an LBN. */
  chunkOf,
  /** First and last chunk of an LBN range. */
  chunkSpan,
  /** First LBN of a chunk. */
  chunkStartLbn,
  /** Blocks per chunk by default (127, as OpenVMS). */
  DEFAULT_CHUNK_BLOCKS,
  /** Volume geometry: block size, blocks, blocks per chunk, chunks. */
  type Geometry,
  /** The largest volume, in blocks (2^37, 64 TiB). */
  MAX_VOLUME_BLOCKS,
  /** Build and check a geometry. */
  makeGeometry,
  /** Volume size in bytes. */
  volumeBytes,
} from './domain/geometry.js';
export type {
  /** Where a member stands: valid, leaving, dismounted, returning, copying, failed. */
  MemberStatus,
} from './domain/member-status.js';
export type {
  /** The block device port: one member (read, write, flush, close). */
  BlockDevice,
} from './domain/ports/block-device.js';
export type {
  /** Options of `EventStore.append` (expected position). */
  AppendOptions,
  /** The event store port every store implements. */
  EventStore,
  /** Options of `EventStore.read` (batch size). */
  ReadOptions,
  /** A live subscription of `EventStore.subscribe`. */
  Subscription,
} from './domain/ports/event-store.js';
export type {
  /** The member access port: how the engine opens and fingerprints members. */
  MemberAccess,
} from './domain/ports/member-access.js';
export type {
  /** One member of the set state: status, bitmap, copy, fingerprints. */
  MemberState,
  /** The set state: the decider's fold of the log (members, bitmaps, merge, sync, hosts). */
  ShadowSetState,
} from './domain/shadow-set-state.js';
export type {
  /** A change of the log's health (appends rejected, or accepted again), on `VirtualUnit.logHealth$`. */
  LogHealthChange,
} from './processes/coordination/append-fault.js';
// ---------------- engine, and time travel (processes/queries)
export {
  /** How a copy run ended: completed, aborted, failed, or stopped (resumes at next open). */
  type CopyOutcome,
  /** Result of a copy run (and of `VirtualUnit.abortCopy`): outcome, bytes and chunks copied. */
  type CopyResult,
  /** Copy I/O tuning: I/O size, I/Os and bytes in flight, checkpoint interval. */
  type CopyTuning,
  /** The default copy I/O tuning. */
  DEFAULT_COPY_TUNING,
} from './processes/copy/copy-process.js';
export type {
  /** A copy started by `VirtualUnit.mount`: its CopyStarted event and its end. */
  CopyHandle,
} from './processes/copy/copy-scheduler.js';
export type {
  /** Copy and merge progress as emitted on `VirtualUnit.progress$`. */
  ProgressUpdate,
} from './processes/engine/progress-update.js';
export type {
  /** Result of the crash minimerge started at open (`VirtualUnit.merged`). */
  MergeResult,
} from './processes/merge/crash-merge.js';
export {
  /** Options of `liveProjection`. */
  type LiveProjectionOptions,
  /** Live projections: an rxjs Observable folding every event a store delivers. */
  liveProjection,
} from './processes/queries/live-projection.js';
export {
  /** The position of the last event recorded at or before a time, or -1. */
  positionAtTime,
} from './processes/queries/position-at-time.js';
export {
  /** Every projection at the end of the log. */
  currentState,
  /** Where the engine saves projection snapshots. */
  type SnapshotSink,
  /** Where `stateAt` may find a projection snapshot to start from. */
  type SnapshotSource,
  /** Options of `stateAt` and `currentState`: snapshots, warnings. */
  type StateAtOptions,
  /** Time travel: every projection as it was right after the event at a position. */
  stateAt,
} from './processes/queries/state-at.js';
export type {
  /** A block range where valid members differ. */
  Difference,
  /** Result of `VirtualUnit.verify`: identical or not, and the differing ranges. */
  VerifyResult,
} from './processes/verify/verify-members.js';
export {
  /** The engine: the shadow set as one volume (create, open, write, read, dismount, mount, verify, close). */
  VirtualUnit,
  /** Options of `VirtualUnit.open`: store, member access, snapshots, copy limits, host name. */
  type VirtualUnitOptions,
  /** Options of a write (`fua`). */
  type WriteOptions,
} from './processes/virtual-unit.js';

// ---------------- projections
export {
  /** One bitmap in which a chunk was marked, with the writes that marked it. */
  type ChunkBitmapHistory,
  /** `explain --chunk`: which writes marked one chunk, per bitmap. */
  ChunkHistory,
  /** A write event that marked the chunk. */
  type ChunkMark,
} from './projections/chunk-history.js';
export type {
  /** The copy journal: every copy and merge with its decision, reason and outcome (`explain`). */
  CopyJournal,
  /** One copy in the journal. */
  CopyRecord,
  /** One crash merge in the journal. */
  MergeRecord,
  /** How a copy or merge ended. */
  Outcome,
} from './projections/copy-journal.js';
export {
  /** A member as `show` lists it. */
  type MemberView,
  /** The member-states read model (`show`). */
  memberStates,
} from './projections/member-states.js';
export {
  /** Chunks written since the last MembersSynced: what a crash merge visits. */
  MinimergeBitmap,
} from './projections/minimerge-bitmap.js';
export type {
  /** Every projection at a position: the set state and the copy journal. */
  ProjectedState,
} from './projections/projected-state.js';
export {
  /** The `show` document: set, members, bitmaps, merge, sync (field names are public). */
  type SetSummary,
  /** Summarise the projections as `show` does. */
  summarise,
} from './projections/set-summary.js';
export {
  /** One merged range of changed blocks with counts and positions. */
  type AuditRange,
  /** The window of an audit (positions, times, LBNs). */
  type AuditWindow,
  /** The exact write audit: which LBN ranges changed in a window (`audit`). */
  WriteAudit,
} from './projections/write-audit.js';
export {
  /** A write bitmap as SHOW DEVICE/BITMAP lists it. */
  type BitmapView,
  /** The write bitmaps of a set state, as SHOW DEVICE/BITMAP. */
  writeBitmaps,
} from './projections/write-bitmaps.js';
