import type { ShadowCommand } from '../../domain/shadow-set-commands.js';
import type { ShadowSetState } from '../../domain/shadow-set-state.js';
import type { IoBarrier } from '../../primitives/io-barrier.js';

/** What the coordinator needs from its engine. */
export interface HostCoordinatorHooks {
  /** This host's name. */
  readonly host: string;
  /** Drained by acknowledgements that promise no write is in flight. */
  readonly barrier: IoBarrier;
  /** The folded state. */
  state(): ShadowSetState;
  /** Decide, append and fold a command (never takes the barrier). */
  control(command: ShadowCommand): Promise<unknown>;
  /** Make this host's open devices match the folded state (open members that now receive writes, close the others). */
  reconcileDevices(): Promise<void>;
  /** Report a failure of the protocol (it is retried at the next fold). */
  warn(message: string): void;
}

/**
 * This host's part in the multi-host protocols, run after every folded batch:
 * - a member leaving: acknowledge `dismount-reads` (reads already avoid a leaving member);
 *   after the cut, drain this host's writes (barrier) and acknowledge `dismount-writes`;
 * - a copy finishing: drain and stall this host's writes (hold the barrier exclusively),
 *   acknowledge `copy-finish`, and release the stall when the copy has ended and this host has
 *   opened the member it must now write;
 * - devices follow the state: a dismounted member is closed, a member made valid is opened.
 * Reviews run one at a time; a fold during a review schedules one more.
 */
export class HostCoordinator {
  private running = false;
  private again = false;
  private stalledFor: string | null = null;
  private stopped = false;
  private idle: Promise<void> = Promise.resolve();

  constructor(private readonly hooks: HostCoordinatorHooks) {}

  /** Look at the folded state and act; cheap when there is nothing to do. */
  review(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = true;
    this.idle = (async () => {
      // Bounded: each pass either acts (appending an event that changes the state) or ends.
      for (let pass = 0; pass < 1000; pass++) {
        this.again = false;
        try {
          await this.pass();
        } catch (error) {
          this.hooks.warn(`host ${this.hooks.host}: ${(error as Error).message}`);
        }
        if (!this.again || this.stopped) break;
      }
      this.running = false;
    })();
  }

  /** Stop reviewing and release a stall; resolves when the current review ended. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.idle;
    if (this.stalledFor !== null) {
      this.stalledFor = null;
      this.hooks.barrier.leaveExclusive();
    }
  }

  private async pass(): Promise<void> {
    const { host } = this.hooks;
    const state = this.hooks.state();
    if (this.stalledFor !== null) {
      const m = state.members.find((x) => x.id === this.stalledFor);
      if (m?.status === 'copying') {
        // Still finishing: stay stalled; an acknowledgement that failed is sent again.
        if (m.copy?.finishing && !m.copy.finishing.acked.includes(host)) {
          await this.hooks.control({ type: 'Acknowledge', member: m.id, host, step: 'copy-finish' });
        }
        return;
      }
      // The copy ended: open what must now be written, then let writes go.
      await this.hooks.reconcileDevices();
      this.stalledFor = null;
      this.hooks.barrier.leaveExclusive();
    }
    for (const m of state.members) {
      if (m.leaving !== null && !m.leaving.readsAcked.includes(host)) {
        await this.hooks.control({ type: 'Acknowledge', member: m.id, host, step: 'dismount-reads' });
        this.again = true;
        return;
      }
      if (m.leaving?.cutPosition != null && !m.leaving.writesAcked.includes(host)) {
        // Writes after the cut skip the member; drain those before it.
        await this.hooks.barrier.runExclusive(() =>
          this.hooks.control({ type: 'Acknowledge', member: m.id, host, step: 'dismount-writes' }),
        );
        this.again = true;
        return;
      }
      if (m.copy !== null && m.copy.owner !== null && !m.copy.startAcked.includes(host)) {
        // Writes logged before CopyStarted must be on the source before the pass reads it.
        await this.hooks.barrier.runExclusive(() =>
          this.hooks.control({ type: 'Acknowledge', member: m.id, host, step: 'copy-start' }),
        );
        this.again = true;
        return;
      }
      if (m.copy?.finishing && !m.copy.finishing.acked.includes(host)) {
        await this.hooks.barrier.enterExclusive();
        this.stalledFor = m.id;
        await this.hooks.control({ type: 'Acknowledge', member: m.id, host, step: 'copy-finish' });
        this.again = true;
        return;
      }
    }
    await this.hooks.reconcileDevices();
  }
}
