import type { ChunkBitmap } from '../domain/chunk-bitmap.js';
import type { RecordedEvent } from '../domain/events.js';
import type { Geometry } from '../domain/geometry.js';
import type { BlockDevice } from '../domain/ports/block-device.js';
import type { ShadowCommand } from '../domain/shadow-set-commands.js';
import type { ShadowSetState } from '../domain/shadow-set-state.js';
import type { IoBarrier } from '../primitives/io-barrier.js';
import type { RangeLock } from '../primitives/range-lock.js';

/** Progress of a copy or merge, for progress bars (not logged: checkpoints are). */
export interface ProgressUpdate {
  /** `copy` to a member, or `merge`. */
  readonly kind: 'copy' | 'merge';
  /** The copy target, or the merge source. */
  readonly member: string;
  /** Chunks done so far. */
  readonly chunksDone: number;
  /** Chunks planned. */
  readonly chunksPlanned: number;
  /** Bytes copied so far. */
  readonly bytesDone: number;
  /** Bytes planned. */
  readonly bytesPlanned: number;
  /** True on the last update. */
  readonly finished: boolean;
}

/** What the copy and merge processes need from the engine. */
export interface EngineContext {
  /** Volume geometry. */
  readonly geometry: Geometry;
  /** Serialises copy/merge I/O with application writes to the same blocks. */
  readonly rangeLock: RangeLock;
  /** Held shared by every I/O that writes valid members. */
  readonly barrier: IoBarrier;
  /** The set state as folded so far. */
  state(): ShadowSetState;
  /** The open device of a member, if any. */
  device(member: string): BlockDevice | undefined;
  /** Decide, append and fold a control command; `exclusive` drains application writes first. */
  control(command: ShadowCommand, options?: { exclusive?: boolean }): Promise<RecordedEvent[]>;
  /** Read from a valid member (preferring `prefer`), failing over and expelling members that error. */
  readValid(buffer: Uint8Array, offset: number, prefer?: string): Promise<void>;
  /** Expel a member after an I/O error; false when it is kept (last valid member). */
  failMember(member: string, error: unknown): Promise<boolean>;
  /** Report progress. */
  progress(update: ProgressUpdate): void;
  /** True once the engine is closing: background work stops at the next unit. */
  closing(): boolean;
  /** This host's name on a set served by several hosts; null on a single host. */
  readonly host: string | null;
  /** Multi-host: wait until every host drained the writes it logged before CopyStarted. */
  copyStartAcknowledged(member: string): Promise<void>;
  /**
   * Multi-host: append CopyFinishing and wait until every host stalled its writes; returns the
   * position after the last event then, so writes appended before a host stalled are included.
   */
  finishCopy(member: string): Promise<number>;
  /** Chunks written (by any host) at positions `[from, to)`. */
  writtenChunks(from: number, to: number): Promise<ChunkBitmap>;
}
