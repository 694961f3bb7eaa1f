import { beforeEach, describe, expect, it, vi } from 'vitest';
import { CommandRejectedError, ShadowlogError } from '../../domain/errors.js';
import type { RecordedEvent } from '../../domain/events.js';
import type { BlockDevice } from '../../domain/ports/block-device.js';
import type { MemberAccess } from '../../domain/ports/member-access.js';
import { RateLimiter } from '../../primitives/rate-limiter.js';
import type { CopyParts } from '../../processes/copy/copy-parts.js';
import { type CopyResult, DEFAULT_COPY_TUNING } from '../../processes/copy/copy-process.js';
import { CopyScheduler } from '../../processes/copy/copy-scheduler.js';
import { EngineLifecycle } from '../../processes/engine/engine-lifecycle.js';
import { MemberDevices } from '../../processes/engine/member-devices.js';

/** Copies the fake copy process is running, by member, until the test ends them. */
const running = new Map<string, { shouldAbort: () => string | null; end: (result: CopyResult) => void }>();

vi.mock('../../processes/copy/copy-process.js', async (original) => ({
  ...(await original<typeof import('../../processes/copy/copy-process.js')>()),
  runCopy: (
    _parts: unknown,
    member: string,
    _rate: unknown,
    _tuning: unknown,
    shouldAbort: () => string | null,
  ) => new Promise<CopyResult>((resolve) => running.set(member, { shouldAbort, end: resolve })),
}));

function result(member: string, outcome: CopyResult['outcome'], reason: string | null = null): CopyResult {
  return { member, outcome, bytesCopied: 0, chunksCopied: 0, reason };
}

function device(name: string): BlockDevice & { closed: boolean } {
  return {
    name,
    closed: false,
    size: () => 0,
    read: async () => undefined,
    write: async () => undefined,
    flush: async () => undefined,
    async close() {
      this.closed = true;
    },
  };
}

async function settle(): Promise<void> {
  for (let i = 0; i < 30; i++) await Promise.resolve();
}

function harness(
  maxConcurrent: number,
  members: { id: string; status: string; copy?: { position: number } }[],
) {
  const geometry = { blockSize: 512, blocks: 64, chunkBlocks: 16, chunks: 4 };
  const devices = new MemberDevices({} as MemberAccess, geometry);
  const lifecycle = new EngineLifecycle();
  const event = (position: number): RecordedEvent =>
    ({ position, recordedAt: 0, event: { type: 'CopyStarted' } }) as unknown as RecordedEvent;
  const log = {
    startCopy: vi.fn(async (_member: string) => event(100)),
    recordedEvent: vi.fn(async (position: number) => event(position)),
    recordAbort: vi.fn(async (_member: string, _reason: string) => undefined),
  };
  const parts = {
    devices,
    lifecycle,
    log,
    follower: { state: { set: { members } } },
  } as unknown as CopyParts;
  const scheduler = new CopyScheduler(parts, new RateLimiter(null), DEFAULT_COPY_TUNING, maxConcurrent);
  return { scheduler, devices, lifecycle, log };
}

describe('CopyScheduler', () => {
  beforeEach(() => running.clear());

  it('runs at most maxConcurrent copies and starts the queued ones in FIFO order as slots free', async () => {
    const ids = ['a', 'b', 'c', 'd'];
    const { scheduler, log } = harness(
      2,
      ids.map((id) => ({ id, status: 'returning' })),
    );
    const handles = ids.map((id) => scheduler.start(id, device(id)));
    await settle();
    expect([...running.keys()]).toEqual(['a', 'b']);
    expect(scheduler.slotsFree).toBe(0);
    expect(scheduler.members).toEqual(ids);
    running.get('b')!.end(result('b', 'completed'));
    await handles[1]!.done;
    await settle();
    expect([...running.keys()]).toEqual(['a', 'b', 'c']);
    running.get('a')!.end(result('a', 'completed'));
    await settle();
    expect([...running.keys()]).toEqual(['a', 'b', 'c', 'd']);
    expect(log.startCopy.mock.calls.map(([m]) => m)).toEqual(ids);
    running.get('c')!.end(result('c', 'completed'));
    running.get('d')!.end(result('d', 'completed'));
    await scheduler.idle();
    expect(scheduler.members).toEqual([]);
    expect(scheduler.slotsFree).toBe(2);
  });

  it('attaches the device and holds it for the copy until it ends; started resolves with CopyStarted', async () => {
    const { scheduler, devices } = harness(1, [{ id: 'm', status: 'returning' }]);
    const target = device('m');
    const handle = scheduler.start('m', target);
    expect(devices.heldByCopy('m')).toBe(true);
    expect(scheduler.has('m')).toBe(true);
    expect((await handle.started).position).toBe(100);
    expect(devices.get('m')).toBe(target);
    running.get('m')!.end(result('m', 'completed'));
    expect((await handle.done).outcome).toBe('completed');
    expect(devices.heldByCopy('m')).toBe(false);
    expect(scheduler.has('m')).toBe(false);
    // A completed copy's device stays with the engine: the member is valid now.
    expect(devices.get('m')).toBe(target);
    expect(target.closed).toBe(false);
  });

  it('resumes a copy already in the log without deciding again', async () => {
    const { scheduler, log } = harness(1, [{ id: 'm', status: 'copying', copy: { position: 42 } }]);
    const handle = scheduler.start('m', device('m'));
    expect((await handle.started).position).toBe(42);
    expect(log.startCopy).not.toHaveBeenCalled();
    expect(log.recordedEvent).toHaveBeenCalledWith(42);
    running.get('m')!.end(result('m', 'completed'));
    await handle.done;
  });

  it('abort reaches the running copy, records CopyAborted and closes the target', async () => {
    const { scheduler, devices, log } = harness(1, [{ id: 'm', status: 'returning' }]);
    const target = device('m');
    const handle = scheduler.start('m', target);
    await handle.started;
    await settle();
    const copy = running.get('m')!;
    expect(copy.shouldAbort()).toBeNull();
    const aborted = scheduler.abort('m', 'operator said so');
    expect(copy.shouldAbort()).toBe('operator said so');
    copy.end(result('m', 'aborted', copy.shouldAbort()));
    expect((await aborted).outcome).toBe('aborted');
    expect(log.recordAbort).toHaveBeenCalledWith('m', 'operator said so');
    expect(devices.get('m')).toBeUndefined();
    expect(target.closed).toBe(true);
  });

  it('refuses to abort a member without a copy', () => {
    const { scheduler } = harness(1, []);
    expect(() => scheduler.abort('x', 'why')).toThrow(CommandRejectedError);
  });

  it('a refused StartCopy rejects started and done, detaches and closes the device, and frees the slot', async () => {
    const { scheduler, devices, log } = harness(1, [
      { id: 'm', status: 'returning' },
      { id: 'n', status: 'returning' },
    ]);
    log.startCopy.mockRejectedValueOnce(new CommandRejectedError('no source'));
    const target = device('m');
    const handle = scheduler.start('m', target);
    const next = scheduler.start('n', device('n'));
    await expect(handle.started).rejects.toBeInstanceOf(CommandRejectedError);
    await expect(handle.done).rejects.toBeInstanceOf(CommandRejectedError);
    expect(target.closed).toBe(true);
    expect(devices.get('m')).toBeUndefined();
    expect(devices.heldByCopy('m')).toBe(false);
    await next.started;
    running.get('n')!.end(result('n', 'completed'));
    await next.done;
  });

  it('does not start a copy while the engine closes; the device is closed', async () => {
    const { scheduler, lifecycle, log } = harness(1, [{ id: 'm', status: 'returning' }]);
    lifecycle.closing = true;
    const target = device('m');
    const handle = scheduler.start('m', target);
    await expect(handle.started).rejects.toBeInstanceOf(ShadowlogError);
    await expect(handle.done).rejects.toThrow(/engine closing/);
    expect(target.closed).toBe(true);
    expect(log.startCopy).not.toHaveBeenCalled();
  });

  it('idle waits until every queued and running copy ended', async () => {
    const { scheduler } = harness(1, [
      { id: 'a', status: 'returning' },
      { id: 'b', status: 'returning' },
    ]);
    scheduler.start('a', device('a'));
    scheduler.start('b', device('b'));
    let idle = false;
    const waiting = scheduler.idle().then(() => {
      idle = true;
    });
    await settle();
    running.get('a')!.end(result('a', 'stopped'));
    await settle();
    expect(idle).toBe(false);
    running.get('b')!.end(result('b', 'completed'));
    await waiting;
    expect(idle).toBe(true);
  });
});
