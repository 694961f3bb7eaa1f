import { describe, expect, it, vi } from 'vitest';
import type { ShadowCommand } from '../../domain/shadow-set-commands.js';
import type { ShadowSetState } from '../../domain/shadow-set-state.js';
import { IoBarrier } from '../../primitives/io-barrier.js';
import { HostCoordinator } from '../../processes/coordination/host-coordinator.js';

interface FakeMember {
  id: string;
  status: string;
  leaving: { readsAcked: string[]; cutPosition: number | null; writesAcked: string[] } | null;
  copy: { owner: string | null; startAcked: string[]; finishing: { acked: string[] } | null } | null;
}

async function settle(): Promise<void> {
  for (let i = 0; i < 50; i++) await Promise.resolve();
}

/** A coordinator on a fake folded state; `control` folds acknowledgements into it at once. */
function harness(members: FakeMember[], host = 'h1') {
  const state = { members } as unknown as ShadowSetState;
  const barrier = new IoBarrier();
  const commands: ShadowCommand[] = [];
  const warnings: string[] = [];
  let exclusiveDuringAck: boolean[] = [];
  const hooks = {
    host,
    barrier,
    state: () => state,
    control: vi.fn(async (command: ShadowCommand) => {
      commands.push(command);
      // Could a write get in now? A probe that enters shared only if nothing holds the barrier.
      exclusiveDuringAck.push(barrier.inFlight === 0 && !(await enteredAtOnce(barrier)));
      if (command.type !== 'Acknowledge') return;
      const m = members.find((x) => x.id === command.member)!;
      if (command.step === 'dismount-reads') m.leaving!.readsAcked.push(command.host);
      if (command.step === 'dismount-writes') m.leaving!.writesAcked.push(command.host);
      if (command.step === 'copy-start') m.copy!.startAcked.push(command.host);
      if (command.step === 'copy-finish') m.copy!.finishing!.acked.push(command.host);
    }),
    reconcileDevices: vi.fn(async (): Promise<void> => undefined),
    warn: (message: string) => warnings.push(message),
  };
  const coordinator = new HostCoordinator(hooks);
  const review = async () => {
    coordinator.review();
    await settle();
  };
  const steps = () => commands.map((c) => (c.type === 'Acknowledge' ? `${c.step}:${c.member}` : c.type));
  const exclusive = () => {
    const seen = exclusiveDuringAck;
    exclusiveDuringAck = [];
    return seen;
  };
  return { coordinator, hooks, barrier, warnings, review, steps, exclusive };
}

/** True when a shared entry is granted without waiting (then it is left again). */
async function enteredAtOnce(barrier: IoBarrier): Promise<boolean> {
  let entered = false;
  const p = barrier.enterShared().then(() => {
    entered = true;
  });
  await Promise.resolve();
  await Promise.resolve();
  if (entered) {
    barrier.leaveShared();
    return true;
  }
  // Still waiting: let it in and out later, when the barrier is released.
  void p.then(() => barrier.leaveShared());
  return false;
}

function member(id: string, patch: Partial<FakeMember> = {}): FakeMember {
  return { id, status: 'valid', leaving: null, copy: null, ...patch };
}

describe('HostCoordinator', () => {
  it('with nothing to acknowledge, only makes the devices follow the state', async () => {
    const { review, hooks, steps } = harness([member('m1'), member('m2')]);
    await review();
    expect(steps()).toEqual([]);
    expect(hooks.reconcileDevices).toHaveBeenCalledTimes(1);
  });

  it('acknowledges a dismount in two phases: reads at once, writes after the cut and drained', async () => {
    const leaving = {
      readsAcked: [] as string[],
      cutPosition: null as number | null,
      writesAcked: [] as string[],
    };
    const { review, steps, exclusive } = harness([
      member('m1'),
      member('m2', { status: 'leaving', leaving }),
    ]);
    await review();
    expect(steps()).toEqual(['dismount-reads:m2']);
    // Reads need no drain: reads already avoid a leaving member.
    expect(exclusive()).toEqual([false]);
    leaving.cutPosition = 10;
    await review();
    expect(steps()).toEqual(['dismount-reads:m2', 'dismount-writes:m2']);
    // The writes acknowledgement is sent with this host's writes drained (barrier exclusive).
    expect(exclusive()).toEqual([true]);
    await review();
    expect(steps()).toHaveLength(2);
  });

  it('acknowledges a copy start with writes drained, once', async () => {
    const copy = { owner: 'h2', startAcked: ['h2'], finishing: null };
    const { review, steps, exclusive } = harness([member('m1'), member('m2', { status: 'copying', copy })]);
    await review();
    expect(steps()).toEqual(['copy-start:m2']);
    expect(exclusive()).toEqual([true]);
    await review();
    expect(steps()).toEqual(['copy-start:m2']);
  });

  it('stalls writes from the copy-finish acknowledgement until the copy ended and devices were reconciled', async () => {
    const copy = { owner: 'h2', startAcked: ['h1', 'h2'], finishing: { acked: [] as string[] } };
    const target = member('m2', { status: 'copying', copy });
    const { review, steps, barrier, hooks } = harness([member('m1'), target]);
    await review();
    expect(steps()).toEqual(['copy-finish:m2']);
    let wrote = false;
    const write = barrier.enterShared().then(() => {
      wrote = true;
    });
    await review();
    expect(wrote).toBe(false);
    const reconciledBefore = hooks.reconcileDevices.mock.calls.length;
    // The copy ends: the member is valid; the stall is released after the devices follow.
    target.status = 'valid';
    target.copy = null;
    await review();
    expect(hooks.reconcileDevices.mock.calls.length).toBeGreaterThan(reconciledBefore);
    await write;
    expect(wrote).toBe(true);
    barrier.leaveShared();
  });

  it('sends a failed copy-finish acknowledgement again while stalled', async () => {
    const copy = { owner: 'h2', startAcked: ['h1', 'h2'], finishing: { acked: [] as string[] } };
    const { review, steps, hooks, warnings } = harness([member('m2', { status: 'copying', copy })]);
    hooks.control.mockImplementationOnce(async () => {
      throw new Error('store down');
    });
    await review();
    expect(warnings).toEqual(['host h1: store down']);
    expect(copy.finishing.acked).toEqual([]);
    await review();
    expect(steps()).toEqual(['copy-finish:m2']);
    expect(copy.finishing.acked).toEqual(['h1']);
  });

  it('stop releases a stall and ends reviewing', async () => {
    const copy = { owner: 'h2', startAcked: ['h1', 'h2'], finishing: { acked: [] as string[] } };
    const { review, coordinator, barrier, hooks } = harness([member('m2', { status: 'copying', copy })]);
    await review();
    await coordinator.stop();
    await barrier.enterShared();
    await settle();
    // Only this write holds the barrier: the stall is gone.
    expect(barrier.inFlight).toBe(1);
    barrier.leaveShared();
    const calls = hooks.control.mock.calls.length;
    coordinator.review();
    await settle();
    expect(hooks.control.mock.calls.length).toBe(calls);
  });

  it('runs one review at a time; a fold during a review schedules exactly one more pass', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const { coordinator, hooks } = harness([member('m1')]);
    hooks.reconcileDevices.mockImplementationOnce(() => gate);
    coordinator.review();
    coordinator.review();
    coordinator.review();
    await settle();
    expect(hooks.reconcileDevices).toHaveBeenCalledTimes(1);
    release();
    await settle();
    expect(hooks.reconcileDevices).toHaveBeenCalledTimes(2);
  });
});
