import type { Fingerprint } from '../../domain/events.js';
import type { Geometry } from '../../domain/geometry.js';
import type { BlockDevice } from '../../domain/ports/block-device.js';
import type { MemberAccess } from '../../domain/ports/member-access.js';
import type { MemberState } from '../../domain/shadow-set-state.js';

/**
 * The members' open devices. A member's device is here while the engine writes it (valid,
 * leaving, or copying once its copy attached it); the write path writes exactly the members
 * whose device is here and whom the log says the write reaches. A copy target's device is held
 * by its copy from mount until the copy ends (`holdForCopy`), so device reconciliation on a
 * shared set leaves it alone even before CopyStarted is folded.
 */
export class MemberDevices {
  private readonly open = new Map<string, BlockDevice>();
  private readonly copyHeld = new Set<string>();

  constructor(
    private readonly access: MemberAccess,
    private readonly geometry: Geometry,
  ) {}

  /** The open device of `member`, if any. */
  get(member: string): BlockDevice | undefined {
    return this.open.get(member);
  }

  /** True when `member` has an open device here. */
  has(member: string): boolean {
    return this.open.has(member);
  }

  /** Give `member`'s open device to the engine: writes reach it from now on, as the log says. */
  attach(member: string, device: BlockDevice): void {
    this.open.set(member, device);
  }

  /** Take `member`'s device out of the engine (the caller closes it); undefined when none. */
  detach(member: string): BlockDevice | undefined {
    const device = this.open.get(member);
    this.open.delete(member);
    return device;
  }

  /** Open the device at `path` with the volume's size (not attached). */
  openPath(path: string): Promise<BlockDevice> {
    return this.access.open(path, this.geometry.blocks * this.geometry.blockSize);
  }

  /** Open `member`'s device and attach it. */
  async openAttached(member: MemberState): Promise<void> {
    this.open.set(member.id, await this.openPath(member.path));
  }

  /** Fingerprint `member`'s device (identifies the member when it returns). */
  fingerprint(member: MemberState, device: BlockDevice): Promise<Fingerprint> {
    return this.access.fingerprint(member.path, device, this.geometry);
  }

  /** Flush and fingerprint, or null when either fails (an abort must not fail on a bad target). */
  async fingerprintOrNull(member: MemberState, device: BlockDevice): Promise<Fingerprint | null> {
    try {
      await device.flush();
      return await this.fingerprint(member, device);
    } catch {
      return null;
    }
  }

  /** Mark `member`'s device as held by its copy (queued or running). */
  holdForCopy(member: string): void {
    this.copyHeld.add(member);
  }

  /** The copy to `member` ended. */
  releaseFromCopy(member: string): void {
    this.copyHeld.delete(member);
  }

  /** True while a copy holds `member`'s device. */
  heldByCopy(member: string): boolean {
    return this.copyHeld.has(member);
  }

  /** Close every attached device (at close). */
  async closeAll(): Promise<void> {
    for (const device of this.open.values()) await device.close();
    this.open.clear();
  }
}
