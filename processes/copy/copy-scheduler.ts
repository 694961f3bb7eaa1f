import { CommandRejectedError, ShadowlogError } from '../../domain/errors.js';
import type { RecordedEvent } from '../../domain/events.js';
import type { BlockDevice } from '../../domain/ports/block-device.js';
import type { RateLimiter } from '../../primitives/rate-limiter.js';
import { Semaphore } from '../../primitives/semaphore.js';
import type { CopyParts } from './copy-parts.js';
import { type CopyResult, type CopyTuning, runCopy } from './copy-process.js';

/** A copy to a returning member, as started by `VirtualUnit.mount`. */
export interface CopyHandle {
  /** The returning member. */
  readonly member: string;
  /** Resolves with the CopyStarted event once the copy has a slot and has started. */
  readonly started: Promise<RecordedEvent>;
  /** Resolves when the copy run ends. */
  readonly done: Promise<CopyResult>;
}

/**
 * Runs copies to returning members, at most `maxConcurrent` at once (OpenVMS
 * SHADOW_MAX_COPY); the others wait for a slot in FIFO order. A copy starts with CopyStarted
 * (application writes drained, so the target receives every write logged after it), runs the
 * copy process, and ends completed, aborted (the member stays away, bitmap kept), failed (the
 * target was expelled) or stopped (the engine closed; it resumes at next open).
 */
export class CopyScheduler {
  private readonly slots: Semaphore;
  private readonly copies = new Map<string, { abort: string | null; done: Promise<CopyResult> }>();

  constructor(
    private readonly parts: CopyParts,
    private readonly rate: RateLimiter,
    private readonly tuning: CopyTuning,
    maxConcurrent: number,
  ) {
    this.slots = new Semaphore(maxConcurrent);
  }

  /** True while a copy to `member` is queued or running. */
  has(member: string): boolean {
    return this.copies.has(member);
  }

  /** Members with a copy queued or running. */
  get members(): string[] {
    return [...this.copies.keys()];
  }

  /** Free copy slots. */
  get slotsFree(): number {
    return this.slots.free;
  }

  /**
   * Start (or, after a restart, resume) the copy to `member`, whose device is open. For a
   * member still `returning`, the copy decision is made and logged when a slot is free.
   */
  start(member: string, device: BlockDevice): CopyHandle {
    let resolveStarted!: (event: RecordedEvent) => void;
    let rejectStarted!: (error: unknown) => void;
    const started = new Promise<RecordedEvent>((resolve, reject) => {
      resolveStarted = resolve;
      rejectStarted = reject;
    });
    started.catch(() => undefined);
    const entry: { abort: string | null; done: Promise<CopyResult> } = { abort: null, done: undefined! };
    entry.done = this.slots.run(async () => {
      try {
        let startedEvent: RecordedEvent;
        try {
          startedEvent = await this.begin(member, device);
        } catch (error) {
          rejectStarted(error);
          await device.close();
          throw error;
        }
        resolveStarted(startedEvent);
        const result = await runCopy(this.parts, member, this.rate, this.tuning, () => entry.abort);
        if (result.outcome === 'aborted') {
          // The member stays away and no longer receives writes. A stopped copy keeps its
          // device until the engine closes; a failed one was closed when the member was expelled.
          await this.parts.log.recordAbort(member, result.reason ?? 'aborted');
          this.parts.devices.detach(member);
          await device.close();
        }
        return result;
      } finally {
        this.copies.delete(member);
        this.parts.devices.releaseFromCopy(member);
      }
    });
    entry.done.catch(() => undefined);
    this.copies.set(member, entry);
    this.parts.devices.holdForCopy(member);
    return { member, started, done: entry.done };
  }

  /** Abort the copy to `member` at its next I/O unit; resolves with its result. */
  abort(member: string, reason: string): Promise<CopyResult> {
    const copy = this.copies.get(member);
    if (!copy) throw new CommandRejectedError(`no copy is running to ${member}`);
    copy.abort = reason;
    return copy.done;
  }

  /** Wait until no copy is queued or running. */
  async idle(): Promise<void> {
    // Bounded: copies only end, and a finished copy leaves the map.
    for (let pass = 0; pass < 1000 && this.copies.size > 0; pass++) {
      await Promise.allSettled([...this.copies.values()].map((c) => c.done));
    }
  }

  private async begin(member: string, device: BlockDevice): Promise<RecordedEvent> {
    if (this.parts.lifecycle.closing)
      throw new ShadowlogError('COMMAND_REJECTED', 'engine closing; the copy starts at next open');
    const m = this.parts.follower.state.set.members.find((x) => x.id === member)!;
    this.parts.devices.attach(member, device);
    if (m.status !== 'returning') {
      // Resuming after a restart: the decision is in the log already.
      return this.parts.log.recordedEvent(m.copy!.position);
    }
    try {
      return await this.parts.log.startCopy(member);
    } catch (error) {
      this.parts.devices.detach(member);
      throw error;
    }
  }
}
