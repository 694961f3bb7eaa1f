import { CommandRejectedError } from '../../domain/errors.js';
import type { DismountPolicy, MountPolicy, RecordedEvent } from '../../domain/events.js';
import { resolveMember } from '../../domain/shadow-set-decider.js';
import type { CopyResult } from '../copy/copy-process.js';
import type { CopyHandle, CopyScheduler } from '../copy/copy-scheduler.js';
import type { EngineParts } from './engine-parts.js';

/** What the membership commands use. */
export type MembershipParts = Pick<EngineParts, 'barrier' | 'follower' | 'devices' | 'log' | 'lifecycle'>;

/**
 * The operator's membership commands (OpenVMS DISMOUNT, MOUNT, DELETE/BITMAP): each drains
 * what it must, logs its decision, and opens or closes the member's device to match, so a
 * write goes to exactly the members the log says it went to.
 */
export class MembershipCommands {
  constructor(
    private readonly parts: MembershipParts,
    private readonly copies: CopyScheduler,
  ) {}

  /** DISMOUNT member /POLICY: drain writes, flush and fingerprint the member, log it, close it. */
  async dismount(member: string, policy: DismountPolicy): Promise<RecordedEvent> {
    const { barrier, devices, follower, log } = this.parts;
    this.parts.lifecycle.assertOpen();
    await log.prepareDismount(resolveMember(follower.state.set, member), policy);
    return barrier.runExclusive(async () => {
      const m = resolveMember(follower.state.set, member);
      const device = devices.get(m.id);
      let fingerprint = null;
      if (device) {
        await device.flush();
        fingerprint = await devices.fingerprint(m, device);
      }
      const [event] = await log.control({ type: 'DismountMember', member: m.id, policy, fingerprint });
      if (device) {
        devices.detach(m.id);
        await device.close();
      }
      return event!;
    });
  }

  /**
   * MOUNT member /POLICY: open and fingerprint the member, log the request (refused here when
   * policy `minicopy` has no usable bitmap), then start its copy as soon as a copy slot is free.
   */
  async mount(member: string, policy: MountPolicy): Promise<CopyHandle> {
    const { devices, follower, log } = this.parts;
    this.parts.lifecycle.assertOpen();
    const m = resolveMember(follower.state.set, member);
    if (devices.has(m.id) || this.copies.has(m.id)) {
      throw new CommandRejectedError(`mount of ${m.id} refused: it is ${m.status}`);
    }
    const device = await devices.openPath(m.path);
    let fingerprint = null;
    try {
      fingerprint = await devices.fingerprint(m, device);
    } catch {
      fingerprint = null;
    }
    try {
      await log.control({ type: 'RequestMount', member: m.id, policy, fingerprint });
    } catch (error) {
      await device.close();
      throw error;
    }
    return this.copies.start(m.id, device);
  }

  /** Abort the running copy to `member`; it stays away, its bitmap kept. */
  async abortCopy(member: string, reason: string): Promise<CopyResult> {
    const m = resolveMember(this.parts.follower.state.set, member);
    return this.copies.abort(m.id, reason);
  }

  /** DELETE/BITMAP: the member's next return is a full copy. */
  async deleteBitmap(member: string): Promise<RecordedEvent> {
    const [event] = await this.parts.log.control({ type: 'DeleteBitmap', member });
    return event!;
  }

  /** Several hosts: record that `host` no longer serves the set. */
  async hostLeft(host: string): Promise<RecordedEvent[]> {
    this.parts.lifecycle.assertOpen();
    return this.parts.log.removeHost(host);
  }
}
