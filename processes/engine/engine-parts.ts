import type { Geometry } from '../../domain/geometry.js';
import type { IoBarrier } from '../../primitives/io-barrier.js';
import type { RangeLock } from '../../primitives/range-lock.js';
import type { Coordination } from '../coordination/coordination.js';
import type { ProjectionFollower } from '../queries/projection-follower.js';
import type { EngineLifecycle } from './engine-lifecycle.js';
import type { MemberDevices } from './member-devices.js';
import type { MemberFailures } from './member-failures.js';
import type { ProgressUpdate } from './progress-update.js';
import type { ReadPath } from './read-path.js';

/** Where progress updates go (`VirtualUnit.progress$`). */
export interface ProgressSink {
  /** Report one update. */
  next(update: ProgressUpdate): void;
}

/**
 * The engine's named parts, as `VirtualUnit` assembles them once at open. The background
 * processes (copy, crash merge, verify) each take the subset they use (`CopyParts`,
 * `MergeParts`, `VerifyParts`), so what a process may touch is spelled out in its signature.
 */
export interface EngineParts {
  /** Volume geometry. */
  readonly geometry: Geometry;
  /** Serialises copy, merge and verify I/O with application writes to the same blocks (invariant 3). */
  readonly rangeLock: RangeLock;
  /** Held shared by every I/O that writes members, exclusive by membership changes. */
  readonly barrier: IoBarrier;
  /** The projections as folded so far (`follower.state.set` is the set state decisions use). */
  readonly follower: ProjectionFollower;
  /** The members' open devices. */
  readonly devices: MemberDevices;
  /** Reads from a valid member with failover. */
  readonly reads: ReadPath;
  /** Expels members after I/O errors. */
  readonly failures: MemberFailures;
  /** How events reach the log: single writer or shared stream. */
  readonly log: Coordination;
  /** Open, closing or closed. */
  readonly lifecycle: EngineLifecycle;
  /** Copy and merge progress. */
  readonly progress: ProgressSink;
}
