import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createSet } from '../../../adapters/composition-root/create-set.js';
import { openSet } from '../../../adapters/composition-root/open-set.js';
import { setPaths } from '../../../adapters/composition-root/set-home.js';
import { summarise } from '../../../projections/set-summary.js';
import { testHome } from '../../support/test-home.js';

async function homeWithSet(): Promise<string> {
  const home = await testHome('open-set');
  const created = await createSet(setPaths(home, 'DSA1'), home, {
    sizeBytes: 1024 * 1024,
    memberPaths: [join(home, 'a.img'), join(home, 'b.img')],
  });
  expect(created).toHaveLength(2);
  return home;
}

describe('openSet (the library entry to a set)', () => {
  it('read-write runs the engine; read-only then sees its events, now and in the past', async () => {
    const home = await homeWithSet();
    const writable = await openSet({ home, set: 'DSA1', mode: 'read-write' });
    await writable.unit.write(0, new Uint8Array(4096).fill(7));
    const dismounted = await writable.unit.dismount('m2', 'minicopy');
    await writable.close();

    const readable = await openSet({ home, set: 'DSA1', mode: 'read-only' });
    try {
      const now = await readable.state();
      expect(summarise(now).members.map((m) => m.state)).toEqual(['valid', 'dismounted']);
      expect(now.set.members[1]!.bitmap).not.toBeNull();
      const before = await readable.state(dismounted.position - 1);
      expect(summarise(before).members.map((m) => m.state)).toEqual(['valid', 'valid']);
    } finally {
      await readable.close();
    }
  });

  it('a set that does not exist is NOT_FOUND; creating one twice is refused', async () => {
    const home = await homeWithSet();
    await expect(openSet({ home, set: 'nope', mode: 'read-only' })).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
    await expect(
      createSet(setPaths(home, 'DSA1'), home, { sizeBytes: 1024 * 1024, memberPaths: [join(home, 'a.img')] }),
    ).rejects.toMatchObject({ code: 'COMMAND_REJECTED' });
  });
});
