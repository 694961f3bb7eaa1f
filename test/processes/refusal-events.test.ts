import { afterEach, describe, expect, it } from 'vitest';
import { CommandRejectedError } from '../../domain/errors.js';
import type { RecordedEvent } from '../../domain/events.js';
import type { VirtualUnit } from '../../processes/virtual-unit.js';
import { engineFixture } from '../support/engine-fixture.js';
import { readAll } from '../support/read-all.js';

/** The refusal events of a log. */
function refusals(log: readonly RecordedEvent[]) {
  return log.map((r) => r.event).filter((e) => e.type === 'MountRefused' || e.type === 'DismountRefused');
}

describe('every decision is an event: refusals are logged with their reason', () => {
  let unit: VirtualUnit | undefined;
  afterEach(async () => {
    await unit?.close();
    unit = undefined;
  });

  it('a mount refused for policy minicopy without a bitmap is logged once, and still throws', async () => {
    const f = await engineFixture();
    unit = f.unit;
    await unit.dismount('m2', 'none');
    const error = await unit.mount('m2', 'minicopy').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CommandRejectedError);
    const found = refusals(await readAll(f.store));
    expect(found).toEqual([
      { type: 'MountRefused', v: 1, member: 'm2', policy: 'minicopy', reason: (error as Error).message },
    ]);
    // The refusal changes nothing: the member is still dismounted and can return by full copy.
    expect(unit.state.set.members[1]!.status).toBe('dismounted');
    const handle = await unit.mount('m2', 'full');
    await handle.done;
  });

  it('a mount of a member that is not away is logged as refused', async () => {
    const f = await engineFixture();
    unit = f.unit;
    await expect(unit.mount('m1', 'full')).rejects.toThrow(CommandRejectedError);
    expect(refusals(await readAll(f.store))).toMatchObject([
      { type: 'MountRefused', member: 'm1', policy: 'full' },
    ]);
  });

  it('a dismount of the last valid member is logged with its reason', async () => {
    const f = await engineFixture({ members: 2 });
    unit = f.unit;
    await unit.dismount('m2', 'minicopy');
    const error = await unit.dismount('m1', 'minicopy').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CommandRejectedError);
    expect((error as Error).message).toMatch(/last valid member/);
    expect(refusals(await readAll(f.store))).toEqual([
      { type: 'DismountRefused', v: 1, member: 'm1', policy: 'minicopy', reason: (error as Error).message },
    ]);
  });

  it('an unknown member is not a decision: NotFound, nothing logged', async () => {
    const f = await engineFixture();
    unit = f.unit;
    const before = await f.store.lastPosition();
    await expect(unit.dismount('m9', 'none')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(unit.mount('m9', 'full')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect(await f.store.lastPosition()).toBe(before);
  });
});
