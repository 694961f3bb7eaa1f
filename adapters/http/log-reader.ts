import type { EventStore } from '../../domain/ports/event-store.js';
import type { VirtualUnit } from '../../processes/virtual-unit.js';
import type { ProjectedState } from '../../projections/projected-state.js';

/**
 * What the read API reads: a log and its projections, from a running engine (`serve --http`)
 * or a bare log (`shadowlog dashboard`, an incident bundle). The composition root builds one
 * (adapters/composition-root/dashboard-source.ts); the read API never opens anything itself.
 */
export interface LogReader {
  /** The log. Read-only use: the read API never appends. */
  readonly store: EventStore;
  /**
   * Every projection right after the event at `position` (at the end of the log when null),
   * folded from the nearest snapshot.
   */
  projectionsAt(position: number | null): Promise<ProjectedState>;
  /**
   * The projections just before {@link firstPosition} (an incident bundle's CRC-checked
   * snapshot); the read API seeds its fold with it when the log does not start at 0.
   */
  startState?(): Promise<ProjectedState>;
  /** First position the log holds (0 for a set's log; later for a bundle that starts in a window). */
  readonly firstPosition: number;
  /** The engine when one runs in this process: control routes and copy progress. */
  readonly engine?: VirtualUnit;
}
