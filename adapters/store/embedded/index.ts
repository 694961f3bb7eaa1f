/**
 * The embedded event store: public API. See embedded-event-store.ts for the overview.
 */

export type { DurableInfo, DurableListener } from './durable-listener.js';
export {
  DEFAULT_SEGMENT_BYTES,
  EmbeddedEventStore,
  type EmbeddedStoreOptions,
  openEmbeddedStore,
} from './embedded-event-store.js';
export type { WriterStats } from './group-commit-writer.js';
export {
  checkLog,
  type LogCheckReport,
  type LogCorruption,
  type SegmentCheck,
  type TornTailReport,
} from './log-check.js';
export { MANIFEST_FILE_NAME } from './log-manifest.js';
export type { RecoveryReport } from './open-log.js';
export { SEAL_FRAME_BYTES, WRITE_RECORD_BYTES } from './record-codec.js';
export type { RecordVisitor } from './record-cursor.js';
export { parseSegmentFileName } from './segment-format.js';
export {
  DEFAULT_SNAPSHOTS_KEPT,
  type LoadedSnapshot,
  SnapshotStore,
  type SnapshotStoreOptions,
  type SnapshotWarning,
} from './snapshot-store.js';
export type { DamagedRegion } from './tail-recovery.js';
export type { StoreHealth } from './write-failure.js';
