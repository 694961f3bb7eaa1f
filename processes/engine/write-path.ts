import { IoError } from '../../domain/errors.js';
import { EVENT_SCHEMA_VERSION } from '../../domain/events.js';
import type { BlockDevice } from '../../domain/ports/block-device.js';
import { errorMessage } from '../../primitives/error-message.js';
import type { Release } from '../../primitives/range-lock.js';
import { assertBlockRange, BLOCK_BYTES, blocksOf } from './block-range.js';
import { closingError } from './engine-lifecycle.js';
import type { EngineParts } from './engine-parts.js';

/** What the write path uses. */
export type WritePathParts = Pick<
  EngineParts,
  'geometry' | 'rangeLock' | 'barrier' | 'follower' | 'devices' | 'reads' | 'failures' | 'log' | 'lifecycle'
>;

type MutationKind = 'write' | 'trim' | 'zeroes';
type Apply = (device: BlockDevice) => Promise<void>;
type Target = [string, BlockDevice];

/**
 * The write path (hot): every write holds the barrier shared and its blocks' range lock, is
 * logged and durable before any member sees it (invariant 1), then goes to every member the
 * log says it reaches. A member whose write fails is expelled; a write is acknowledged only
 * when a valid member holds it. Keep it lean: no promise, closure or await per write beyond
 * the append, the range lock and the member I/O.
 */
export class WritePath {
  constructor(private readonly parts: WritePathParts) {}

  /** Write whole blocks at `lbn`. */
  write(lbn: number, data: Uint8Array, fua: boolean): Promise<void> {
    const count = blocksOf(data.length);
    return this.mutate('write', lbn, count, fua, (device) => device.write(data, lbn * BLOCK_BYTES));
  }

  /** Discard blocks: the range is zeroed (a hole in image files); the log records a trim. */
  trim(lbn: number, count: number, fua: boolean): Promise<void> {
    return this.mutate('trim', lbn, count, fua, (device) => writeZeroes(device, lbn, count));
  }

  /** Write zeroes to blocks. */
  writeZeroes(lbn: number, count: number, fua: boolean): Promise<void> {
    return this.mutate('zeroes', lbn, count, fua, (device) => writeZeroes(device, lbn, count));
  }

  private async mutate(
    kind: MutationKind,
    lbn: number,
    count: number,
    fua: boolean,
    apply: Apply,
  ): Promise<void> {
    const { barrier, log } = this.parts;
    this.parts.lifecycle.assertOpen();
    assertBlockRange(this.parts.geometry, lbn, count);
    await barrier.enterShared();
    if (!log.admitsWrite()) {
      barrier.leaveShared();
      throw closingError();
    }
    let position = -1;
    let release: Release | null = null;
    try {
      release = await this.parts.rangeLock.acquire(lbn, lbn + count);
      const type = kind === 'write' ? 'BlocksWritten' : kind === 'trim' ? 'BlocksTrimmed' : 'ZeroesWritten';
      // Invariant 1: no byte reaches a member before its event is durable.
      const durable = log.appendWrite({ type, v: EVENT_SCHEMA_VERSION, lbn, count });
      if (durable !== null) position = await durable;
      const targets = this.targets(position);
      const results = await Promise.allSettled(
        targets.map(async ([, device]) => {
          await apply(device);
          if (fua) await device.flush();
        }),
      );
      for (let i = 0; i < results.length; i++) {
        if (results[i]!.status === 'rejected') {
          await this.afterFailures(lbn, count, targets, results);
          break;
        }
      }
      if (!this.someValidOpen()) {
        throw new IoError(`write of LBN ${lbn}-${lbn + count - 1} failed: no valid member is left`);
      }
    } finally {
      if (position >= 0) log.endWrite(position);
      release?.();
      barrier.leaveShared();
    }
  }

  /** The members the write at `position` goes to, with their devices. */
  private targets(position: number): Target[] {
    const { devices, log } = this.parts;
    const targets: Target[] = [];
    for (const m of this.parts.follower.state.set.members) {
      if (!log.receivesWrite(m, position)) continue;
      const device = devices.get(m.id);
      if (device) targets.push([m.id, device]);
      else log.missingDevice(m, position);
    }
    return targets;
  }

  /** Expel the members whose write failed; throw if the last valid member failed it. */
  private async afterFailures(
    lbn: number,
    count: number,
    targets: readonly Target[],
    results: readonly PromiseSettledResult<void>[],
  ): Promise<void> {
    let failed: unknown = null;
    for (let i = 0; i < results.length; i++) {
      const result = results[i]!;
      if (result.status === 'rejected') {
        const [id] = targets[i]!;
        if (!(await this.parts.failures.fail(id, result.reason))) failed = result.reason;
      }
    }
    if (failed === null) return;
    // The last valid member is kept but may not hold the data; copy targets that took the
    // write must not hold data their source lacks, or the copy would not converge.
    await this.resyncCopyTargets(lbn, count, targets);
    throw new IoError(
      `write of LBN ${lbn}-${lbn + count - 1} failed on the last valid member: ${errorMessage(failed)}`,
    );
  }

  /** After a failed write on the last valid member: give copy targets the valid member's blocks. */
  private async resyncCopyTargets(lbn: number, count: number, targets: readonly Target[]): Promise<void> {
    const state = this.parts.follower.state.set;
    const buffer = new Uint8Array(count * BLOCK_BYTES);
    let readable = true;
    try {
      await this.parts.reads.readValid(buffer, lbn * BLOCK_BYTES);
    } catch {
      readable = false;
    }
    for (const [id, device] of targets) {
      if (state.members.find((m) => m.id === id)?.status !== 'copying') continue;
      try {
        if (!readable)
          throw new IoError(`cannot read LBN ${lbn}-${lbn + count - 1} from the last valid member`);
        await device.write(buffer, lbn * BLOCK_BYTES);
      } catch (error) {
        await this.parts.failures.fail(id, error);
      }
    }
  }

  private someValidOpen(): boolean {
    for (const m of this.parts.follower.state.set.members) {
      if (m.status === 'valid' && this.parts.devices.has(m.id)) return true;
    }
    return false;
  }
}

/** Zeroes for trims and zero writes, shared and never written to. */
const ZEROES = new Uint8Array(1024 * 1024);

async function writeZeroes(device: BlockDevice, lbn: number, count: number): Promise<void> {
  // Image files punch a hole (adapters/devices/file-block-device.ts): the range reads as zeroes
  // and its blocks are freed, so trims and write-zeroes shrink a sparse member instead of filling it.
  if (device.zeroRange) return device.zeroRange(lbn * BLOCK_BYTES, count * BLOCK_BYTES);
  let offset = lbn * BLOCK_BYTES;
  let left = count * BLOCK_BYTES;
  // Bounded: `left` shrinks by up to 1 MiB each pass.
  while (left > 0) {
    const n = Math.min(left, ZEROES.length);
    await device.write(ZEROES.subarray(0, n), offset);
    offset += n;
    left -= n;
  }
}
