import { IoError } from '../../domain/errors.js';
import type { Geometry } from '../../domain/geometry.js';
import type { BlockDevice } from '../../domain/ports/block-device.js';
import type { ShadowSetState } from '../../domain/shadow-set-state.js';
import { errorMessage } from '../../primitives/error-message.js';
import type { ProjectionFollower } from '../queries/projection-follower.js';
import { assertBlockRange, BLOCK_BYTES } from './block-range.js';
import type { MemberDevices } from './member-devices.js';
import type { MemberFailures } from './member-failures.js';

/** Most read attempts: each failed one expels a member or gives up, and a set has at most six. */
const MAX_READ_ATTEMPTS = 8;

/**
 * The read path: reads come from one valid member, spread round-robin over the valid members;
 * a member whose read fails is expelled and the read goes to the next one. While a crash merge
 * runs, reads come from the merge source only (the other members may hold older data there).
 */
export class ReadPath {
  private cursor = 0;

  constructor(
    private readonly geometry: Geometry,
    private readonly follower: ProjectionFollower,
    private readonly devices: MemberDevices,
    private readonly failures: MemberFailures,
  ) {}

  /** Read whole blocks at `lbn` from one valid member. */
  async read(lbn: number, count: number): Promise<Uint8Array> {
    assertBlockRange(this.geometry, lbn, count);
    const buffer = new Uint8Array(count * BLOCK_BYTES);
    await this.readValid(buffer, lbn * BLOCK_BYTES);
    return buffer;
  }

  /** Fill `buffer` from byte `offset` of a valid member (preferring `prefer`), failing over on errors. */
  async readValid(buffer: Uint8Array, offset: number, prefer?: string): Promise<void> {
    for (let attempt = 0; attempt < MAX_READ_ATTEMPTS; attempt++) {
      const sources = this.sources(this.follower.state.set, prefer);
      if (sources.length === 0) throw new IoError('read failed: no valid member is left to read from');
      const [id, device] = sources[0]!;
      try {
        await device.read(buffer, offset);
        return;
      } catch (error) {
        if (sources.length === 1) {
          throw new IoError(
            `read at byte ${offset} failed on ${id}, the last valid member: ${errorMessage(error)}`,
          );
        }
        await this.failures.fail(id, error);
      }
    }
    throw new IoError(`read at byte ${offset} failed on every member`);
  }

  /** Valid members to read from, in the order to try: the merge source only while merging. */
  private sources(state: ShadowSetState, prefer?: string): [string, BlockDevice][] {
    const out: [string, BlockDevice][] = [];
    const merge = state.merge;
    for (const m of state.members) {
      if (m.status !== 'valid') continue;
      if (merge !== null && m.id !== merge.source && out.length === 0 && prefer === undefined) continue;
      const device = this.devices.get(m.id);
      if (device) out.push([m.id, device]);
    }
    if (merge !== null) {
      moveToFront(out, merge.source);
      return out;
    }
    if (prefer !== undefined) {
      moveToFront(out, prefer);
      return out;
    }
    // Spread reads over the valid members.
    if (out.length > 1) {
      const k = this.cursor++ % out.length;
      return [...out.slice(k), ...out.slice(0, k)];
    }
    return out;
  }
}

function moveToFront(sources: [string, BlockDevice][], member: string): void {
  const i = sources.findIndex(([id]) => id === member);
  if (i > 0) sources.unshift(...sources.splice(i, 1));
}
