import type { MemberStatus } from '../domain/member-status.js';
import type { ShadowSetState } from '../domain/shadow-set-state.js';

/** A member as `show` lists it. */
export interface MemberView {
  /** Member id (`m1`, ...). */
  readonly id: string;
  /** Image file or block device. */
  readonly path: string;
  /** Where it stands. */
  readonly state: MemberStatus;
  /** Position of the event that gave it this state. */
  readonly sincePosition: number;
  /** For a member away: how it left (`minicopy`, `none`, `failed`). */
  readonly leftWith: string | null;
  /** For a failed member: the error. */
  readonly error: string | null;
  /** For a copy target: percent of the planned chunks copied at the last checkpoint. */
  readonly copyPercent: number | null;
}

/** The member-states read model of a set. */
export function memberStates(state: ShadowSetState): MemberView[] {
  return state.members.map((m) => ({
    id: m.id,
    path: m.path,
    state: m.status,
    sincePosition: m.statusPosition,
    leftWith: m.away?.policy ?? null,
    error: m.away?.error ?? null,
    copyPercent:
      m.copy === null
        ? null
        : m.copy.plannedChunks === 0
          ? 100
          : Math.round((m.copy.chunksDone / m.copy.plannedChunks) * 1000) / 10,
  }));
}
