import { receivesWrites } from '../../domain/member-status.js';
import type { ProjectionFollower } from '../queries/projection-follower.js';
import type { MemberDevices } from './member-devices.js';
import type { MemberFailures } from './member-failures.js';

/** What opening and flushing the writing members needs. */
export interface WritingMembersParts {
  /** The folded state: which members receive writes. */
  readonly follower: ProjectionFollower;
  /** The open devices. */
  readonly devices: MemberDevices;
  /** Expels a member whose device fails. */
  readonly failures: MemberFailures;
}

/** At open: open the members that receive writes; one that cannot be opened is expelled. */
export async function openWritingMembers(parts: WritingMembersParts): Promise<void> {
  for (const m of parts.follower.state.set.members) {
    // A leaving member still receives writes until its cut (several hosts).
    if (m.status !== 'valid' && m.status !== 'leaving') continue;
    try {
      await parts.devices.openAttached(m);
    } catch (error) {
      if (!(await parts.failures.fail(m.id, error))) throw error;
    }
  }
}

/** Flush every member that receives writes, in parallel; one whose flush fails is expelled. */
export async function flushWritingMembers(parts: WritingMembersParts): Promise<void> {
  const flushes: Promise<void>[] = [];
  for (const m of parts.follower.state.set.members) {
    const device = parts.devices.get(m.id);
    if (device && receivesWrites(m.status)) {
      flushes.push(
        device.flush().catch((error: unknown) => parts.failures.fail(m.id, error).then(() => undefined)),
      );
    }
  }
  await Promise.all(flushes);
}
