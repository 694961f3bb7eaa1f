import { CommandRejectedError } from '../../domain/errors.js';
import type { DismountPolicy, MountPolicy, RecordedEvent } from '../../domain/events.js';
import type { RecordRefusal } from '../../domain/shadow-set-commands.js';
import { resolveMember } from '../../domain/shadow-set-decider.js';
import type { MemberState } from '../../domain/shadow-set-state.js';
import type { CopyResult } from '../copy/copy-process.js';
import type { CopyHandle, CopyScheduler } from '../copy/copy-scheduler.js';
import type { EngineParts } from './engine-parts.js';
import { flushWritingMembers } from './writing-members.js';

/** What the membership commands use. */
export type MembershipParts = Pick<
  EngineParts,
  'barrier' | 'follower' | 'devices' | 'failures' | 'log' | 'lifecycle'
>;

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
    this.parts.lifecycle.assertOpen();
    const m = resolveMember(this.parts.follower.state.set, member);
    return this.recordingRefusal({ refused: 'dismount', member: m.id, policy }, () =>
      this.dismountNow(m.id, policy),
    );
  }

  private async dismountNow(member: string, policy: DismountPolicy): Promise<RecordedEvent> {
    const { barrier, devices, follower, log } = this.parts;
    await log.prepareDismount(resolveMember(follower.state.set, member), policy);
    return barrier.runExclusive(async () => {
      // Flush every writing member and record MembersSynced first: a write acknowledged but not
      // yet flushed may survive a power loss on the leaving member only, and the crash merge
      // after it repairs the members still in the set, never the one away; its bitmap starts at
      // the dismount, so the minicopy would skip that chunk (found by test/crash/).
      const point = log.syncPoint();
      await flushWritingMembers(this.parts);
      await log.membersFlushed(point);
      const m = resolveMember(follower.state.set, member);
      const device = devices.get(m.id);
      let fingerprint = null;
      if (device) fingerprint = await devices.fingerprint(m, device);
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
    this.parts.lifecycle.assertOpen();
    const m = resolveMember(this.parts.follower.state.set, member);
    return this.recordingRefusal({ refused: 'mount', member: m.id, policy }, () => this.mountNow(m, policy));
  }

  private async mountNow(m: MemberState, policy: MountPolicy): Promise<CopyHandle> {
    const { devices, log } = this.parts;
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

  /**
   * Run a mount or dismount; when the set refuses it (CommandRejectedError), log the refusal
   * with its reason (every decision is an event) and throw the same error. The refusal is
   * appended once, by the host that was asked, through the control path like any decision;
   * a log that cannot take it does not hide the refusal from the operator.
   */
  private async recordingRefusal<T>(
    refusal: Omit<RecordRefusal, 'type' | 'reason'>,
    attempt: () => Promise<T>,
  ): Promise<T> {
    try {
      return await attempt();
    } catch (error) {
      if (error instanceof CommandRejectedError) {
        await this.parts.log
          .control({ type: 'RecordRefusal', ...refusal, reason: error.message })
          .catch(() => undefined);
      }
      throw error;
    }
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
