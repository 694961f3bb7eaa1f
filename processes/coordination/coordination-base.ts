import type { Geometry } from '../../domain/geometry.js';
import type { EventStore } from '../../domain/ports/event-store.js';
import type { IoBarrier } from '../../primitives/io-barrier.js';
import type { EngineLifecycle } from '../engine/engine-lifecycle.js';
import type { MemberDevices } from '../engine/member-devices.js';
import type { Warnings } from '../engine/warnings.js';
import type { ProjectionFollower } from '../queries/projection-follower.js';
import type { LogHealthSink } from './append-fault.js';

/** The engine parts a coordination is built on. */
export interface CoordinationBase {
  /** Volume geometry. */
  readonly geometry: Geometry;
  /** The set's event stream. */
  readonly store: EventStore;
  /** The folded projections. */
  readonly follower: ProjectionFollower;
  /** The write barrier. */
  readonly barrier: IoBarrier;
  /** The members' devices. */
  readonly devices: MemberDevices;
  /** Open, closing or closed. */
  readonly lifecycle: EngineLifecycle;
  /** Where protocol failures are reported. */
  readonly warnings: Warnings;
  /** Where a log that stops (and starts again) accepting appends is reported. */
  readonly health: LogHealthSink;
}
