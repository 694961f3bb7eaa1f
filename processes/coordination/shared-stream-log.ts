import type { ChunkBitmap } from '../../domain/chunk-bitmap.js';
import { CommandRejectedError, IoError, WrongExpectedPositionError } from '../../domain/errors.js';
import type { DismountPolicy, RecordedEvent, WriteEvent } from '../../domain/events.js';
import type { ReplayVisitor } from '../../domain/ports/event-store.js';
import type { ShadowCommand } from '../../domain/shadow-set-commands.js';
import { decide } from '../../domain/shadow-set-decider.js';
import {
  allHostsAcked,
  cloneState,
  evolve,
  type MemberState,
  type ShadowSetState,
} from '../../domain/shadow-set-state.js';
import { evolveWrites } from '../../domain/write-fold.js';
import { Semaphore } from '../../primitives/semaphore.js';
import { MinimergeBitmap, minimergeVisitor } from '../../projections/minimerge-bitmap.js';
import type { CopyFinishJob } from '../copy/copy-finish-job.js';
import type { CopyResult } from '../copy/copy-process.js';
import { type ClusterStall, finishMultiHost } from '../copy/multi-host-finish.js';
import type { SyncPoint } from '../engine/background-sync.js';
import type { MergeResult } from '../merge/crash-merge.js';
import { replayRange } from '../queries/replay-range.js';
import { waitForAcknowledgements } from './acknowledgement-wait.js';
import type { Coordination, LogDiagnostics } from './coordination.js';
import type { CoordinationBase } from './coordination-base.js';
import { HostCoordinator } from './host-coordinator.js';
import { recordedEvent, recordedEvents } from './recorded-events.js';

/** Most decision attempts: each retry follows another host's append and folds it. */
const MAX_DECISION_ATTEMPTS = 1000;

/** What the shared stream's log is built from: the engine parts (its health sink aside: the shared stream never predicts positions, so it has no heal to report), this host and its wait bound. */
export interface SharedStreamLogParts extends Omit<CoordinationBase, 'health'> {
  /** This host's name. */
  readonly host: string;
  /** How long to wait for every host's acknowledgement. */
  readonly acknowledgementTimeoutMs: number;
}

/**
 * The command log when several hosts append to one stream. A write's position is known once
 * it is durable; the members it goes to are those of the state just before it, whatever the
 * other hosts appended. Decisions are taken on the state folded to the stream's end and
 * appended with that expectation, so two hosts never both decide on the same state. Membership
 * changes wait for every host's acknowledgement (the HostCoordinator gives this host's).
 */
export class SharedStreamLog implements Coordination, ClusterStall {
  private readonly mutex = new Semaphore(1);
  private readonly coordinator: HostCoordinator;
  private readonly openedAt: number;
  private readonly syncedAtOpen: number;

  constructor(private readonly parts: SharedStreamLogParts) {
    const state = parts.follower.state.set;
    this.openedAt = state.position;
    this.syncedAtOpen = state.synced?.position ?? -1;
    this.coordinator = new HostCoordinator({
      host: parts.host,
      barrier: parts.barrier,
      state: () => parts.follower.state.set,
      control: (command) => this.control(command),
      reconcileDevices: () => this.reconcileDevices(),
      warn: (message) => parts.warnings.add(message),
    });
    parts.follower.onFold = () => this.coordinator.review();
  }

  control(command: ShadowCommand): Promise<RecordedEvent[]> {
    return this.mutex.run(() => this.decideOnTail(command));
  }

  recordedEvent(position: number): Promise<RecordedEvent> {
    return recordedEvent(this.parts.store, position);
  }

  admitsWrite(): boolean {
    // Writes held by a copy-finish stall must not slip through when the host leaves.
    return !this.parts.lifecycle.closing;
  }

  async appendWrite(event: WriteEvent): Promise<number> {
    const position = await this.parts.store.append([event]);
    await this.parts.follower.waitFor(position - 1);
    return position;
  }

  endWrite(): void {
    // Writes are not tracked: several hosts record no MembersSynced.
  }

  receivesWrite(m: MemberState, position: number): boolean {
    switch (m.status) {
      case 'valid':
        return true;
      case 'leaving':
        // Until the cut (the last dismount-reads acknowledgement) writes still reach it.
        return m.leaving!.cutPosition === null || m.leaving!.cutPosition >= position;
      case 'copying':
        // Only the copying host writes the target; the others' writes are copied again at the end.
        return m.copy!.owner === this.parts.host;
      default:
        return false;
    }
  }

  missingDevice(m: MemberState, position: number): void {
    if (m.status === 'copying') return;
    // Skipping a member the log says this write reaches would lose data.
    throw new IoError(`write at position ${position} must reach ${m.id}, which this host has not opened`);
  }

  syncPoint(): SyncPoint {
    // Writes are not tracked: several hosts record no MembersSynced.
    return { position: -1, writesEnded: 0, epoch: 0 };
  }

  async open(): Promise<void> {
    // The crash merge and MembersSynced are the single writer's (not built for several hosts).
    await this.control({ type: 'JoinHost', host: this.parts.host });
  }

  get merged(): Promise<MergeResult | null> {
    return Promise.resolve(null);
  }

  get resumed(): Promise<unknown> {
    return Promise.resolve();
  }

  async membersFlushed(): Promise<void> {
    // Several hosts record no MembersSynced.
  }

  /** Phase one of a dismount: wait until every host stopped writing the member. */
  async prepareDismount(m: MemberState, policy: DismountPolicy): Promise<void> {
    if (m.status !== 'leaving') {
      await this.control({ type: 'RequestDismount', member: m.id, policy, host: this.parts.host });
    }
    await this.waitFor((state) => {
      const x = state.members.find((y) => y.id === m.id)!;
      // A member that fails meanwhile is out of the set: nobody acknowledges it any more.
      if (x.status === 'failed') return true;
      return (
        x.leaving !== null && x.leaving.cutPosition !== null && allHostsAcked(state, x.leaving.writesAcked)
      );
    }, `every host to stop writing ${m.id}`);
    const x = this.parts.follower.state.set.members.find((y) => y.id === m.id)!;
    if (x.status === 'failed') {
      throw new CommandRejectedError(
        `${m.id} failed at position ${x.statusPosition} while leaving (${x.away?.error ?? 'I/O error'}): it is out of the set, with no bitmap; return it with 'mount --policy full'`,
      );
    }
  }

  removeHost(host: string): Promise<RecordedEvent[]> {
    if (host === this.parts.host) {
      return Promise.reject(new CommandRejectedError(`${host} is this host; close it to leave the set`));
    }
    return this.control({ type: 'LeaveHost', host });
  }

  stop(): Promise<void> {
    return this.coordinator.stop();
  }

  async leave(): Promise<void> {
    await this.control({ type: 'LeaveHost', host: this.parts.host });
  }

  diagnostics(): LogDiagnostics {
    return {
      issuedPosition: this.openedAt,
      syncedPosition: this.syncedAtOpen,
      writesInFlight: 0,
      controlFree: this.mutex.free,
    };
  }

  async startCopy(member: string): Promise<RecordedEvent> {
    // Exclusive: this host's writes in flight finish first; the others drain at copy-start.
    const [event] = await this.parts.barrier.runExclusive(() =>
      this.control({ type: 'StartCopy', member, host: this.parts.host }),
    );
    return event!;
  }

  copyStartAcknowledged(member: string): Promise<void> {
    // The others' writes logged before CopyStarted may still be on their way to the source.
    return this.waitFor((state) => {
      const copy = state.members.find((m) => m.id === member)?.copy;
      return copy == null || allHostsAcked(state, copy.startAcked);
    }, `every host to drain its writes before the copy to ${member}`);
  }

  finishCopy(job: CopyFinishJob): Promise<CopyResult> {
    return finishMultiHost(job, this);
  }

  async recordAbort(member: string, reason: string): Promise<void> {
    // The others' writes during the copy reached neither the target nor its bitmap, so the
    // bitmap no longer covers the target: drop it (no fingerprint), and the next return is a
    // full copy. No barrier: this host may hold its own copy-finish stall.
    await this.control({ type: 'AbortCopy', member, reason, fingerprint: null });
  }

  async stallForFinish(member: string): Promise<number> {
    await this.control({ type: 'FinishCopy', member, host: this.parts.host });
    await this.waitFor((state) => {
      const finishing = state.members.find((m) => m.id === member)?.copy?.finishing;
      return finishing != null && allHostsAcked(state, finishing.acked);
    }, `every host to stall its writes for the end of the copy to ${member}`);
    // Every host is stalled: no write comes after what is folded now.
    await this.parts.follower.waitFor(await this.parts.store.lastPosition());
    return this.parts.follower.state.set.position + 1;
  }

  async writtenChunks(from: number, to: number): Promise<ChunkBitmap> {
    const written = new MinimergeBitmap(this.parts.geometry, from);
    await replayRange(this.parts.store, from, to, minimergeVisitor(written));
    return written.chunks;
  }

  /**
   * Decide on the state folded up to the stream's end and append with that expectation;
   * another host's append in between fails it, and the decision is taken again on the new
   * state (a CopyStarted is so claimed by exactly one host, on an exact bitmap).
   */
  private async decideOnTail(command: ShadowCommand): Promise<RecordedEvent[]> {
    const { store, follower } = this.parts;
    // A private fold that reads the stream's tail directly: this host's subscription may lag,
    // and waiting for it on every retry would let a busy host starve the decision.
    const state = cloneState(follower.state.set);
    const tailVisitor: ReplayVisitor = {
      onWrites: (run) => evolveWrites(state, run),
      onEvent: (recorded) => evolve(state, recorded),
    };
    for (let attempt = 0; attempt < MAX_DECISION_ATTEMPTS; attempt++) {
      await replayRange(store, state.position + 1, undefined, tailVisitor);
      const events = decide(command, state);
      if (events.length === 0) return [];
      let last: number;
      try {
        last = await store.append(events, { expectedPosition: state.position + 1 });
      } catch (error) {
        if (error instanceof WrongExpectedPositionError) continue;
        throw error;
      }
      await follower.waitFor(last);
      return recordedEvents(store, last - events.length + 1, last + 1, follower);
    }
    throw new IoError(
      `${command.type} could not be appended: the stream kept moving for ${MAX_DECISION_ATTEMPTS} attempts`,
    );
  }

  /** Open the members this host must write, close the ones it must not. */
  private async reconcileDevices(): Promise<void> {
    const { devices, host } = this.parts;
    for (const m of this.parts.follower.state.set.members) {
      // A copy this host runs owns its target's device, also before CopyStarted is folded.
      if (devices.heldByCopy(m.id)) continue;
      const open = devices.get(m.id);
      const wanted = m.status === 'valid' || m.status === 'leaving';
      if (wanted && !open) {
        await devices.openAttached(m);
      } else if (!wanted && open && !(m.status === 'copying' && m.copy?.owner === host)) {
        devices.detach(m.id);
        await open.close();
      }
    }
  }

  private waitFor(done: (state: ShadowSetState) => boolean, what: string): Promise<void> {
    return waitForAcknowledgements(this.parts.follower, done, what, this.parts.acknowledgementTimeoutMs);
  }
}
