import { CommandRejectedError } from '../../domain/errors.js';
import { errorMessage } from '../../primitives/error-message.js';
import type { Coordination } from '../coordination/coordination.js';
import type { ProjectionFollower } from '../queries/projection-follower.js';
import type { MemberDevices } from './member-devices.js';

/**
 * Expels members after I/O errors: records MemberFailed and closes the device. The decider
 * keeps the last valid member (a set never loses its last copy of the data), so expelling can
 * be refused; callers then decide what the error means for their I/O.
 */
export class MemberFailures {
  constructor(
    private readonly follower: ProjectionFollower,
    private readonly log: Coordination,
    private readonly devices: MemberDevices,
  ) {}

  /** Expel `member` after `error`. False when the decider keeps it (last valid member). */
  async fail(member: string, error: unknown): Promise<boolean> {
    const m = this.follower.state.set.members.find((x) => x.id === member);
    if (!m || m.status === 'failed' || m.status === 'dismounted') return true;
    try {
      await this.log.control({ type: 'FailMember', member, error: errorMessage(error) });
    } catch (rejected) {
      if (rejected instanceof CommandRejectedError) {
        // Raced with another failure report for the same member, or it is the last valid member.
        const now = this.follower.state.set.members.find((x) => x.id === member);
        return now?.status === 'failed';
      }
      throw rejected;
    }
    await this.devices
      .detach(member)
      ?.close()
      .catch(() => undefined);
    return true;
  }
}
