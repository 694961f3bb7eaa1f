import { describe, expect, it } from 'vitest';
import { setPaths } from '../../../adapters/composition-root/set-home.js';
import { openSetReadOnly } from '../../../adapters/composition-root/set-store.js';
import type { RecordedEvent } from '../../../domain/events.js';
import { readAll } from '../../support/read-all.js';
import { serve, shadowlog } from '../../support/run-cli.js';
import { memberArgs, suiteHome } from '../../support/suite-home.js';

interface Listed {
  checkpoints: { name: string; position: number; eventPosition: number; time: string }[];
}

describe('shadowlog checkpoint (built CLI, no server: in-process)', () => {
  const suite = suiteHome('checkpoint', (dir) => [
    ['create', 'DSA1', '--size', '4M', ...memberArgs(dir, ['a.img', 'b.img'])],
  ]);
  const h = suite.args;

  it('creates, lists (human and --json) and deletes; the log holds both events', async () => {
    const created = await shadowlog([...h(), 'checkpoint', 'DSA1', 'b1']);
    expect(created.code).toBe(0);
    expect(created.stdout).toMatch(/checkpoint b1 of DSA1 at position \d+: qemu:dirty-bitmap:b1/);
    const list = await shadowlog([...h(), 'checkpoint', 'list', 'DSA1', '--json']);
    expect(list.code).toBe(0);
    const listed = JSON.parse(list.stdout) as Listed;
    expect(listed.checkpoints.map((c) => c.name)).toEqual(['b1']);
    const [b1] = listed.checkpoints;
    expect(b1!.eventPosition).toBe(b1!.position + 1);
    expect(b1!.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    const human = await shadowlog([...h(), 'checkpoint', 'list', 'DSA1']);
    expect(human.stdout).toMatch(/^name\s+position\s+time\nb1\s+\d+\s+\d{4}-/);

    const deleted = await shadowlog([...h(), 'checkpoint', 'delete', 'DSA1', 'b1']);
    expect(deleted.code).toBe(0);
    expect(deleted.stdout).toMatch(/checkpoint b1 of DSA1 deleted/);
    const empty = await shadowlog([...h(), 'checkpoint', 'list', 'DSA1']);
    expect(empty.stdout).toMatch(/DSA1 has no checkpoints/);

    const store = await openSetReadOnly(setPaths(suite.dir, 'DSA1', null, null), suite.dir);
    try {
      const events: RecordedEvent[] = await readAll(store);
      const types = events.map((e) => e.event.type);
      expect(types).toContain('CheckpointCreated');
      expect(types).toContain('CheckpointDeleted');
    } finally {
      await store.close();
    }
  }, 60_000);

  it('refuses a duplicate (exit 4), an invalid name (exit 2) and deleting an unknown one (exit 3)', async () => {
    expect((await shadowlog([...h(), 'checkpoint', 'DSA1', 'dup'])).code).toBe(0);
    const again = await shadowlog([...h(), 'checkpoint', 'DSA1', 'dup']);
    expect(again.code).toBe(4);
    expect(again.stderr).toMatch(/checkpoint dup exists/);
    for (const name of ['m1', 'since-3', 'bad name']) {
      const invalid = await shadowlog([...h(), 'checkpoint', 'DSA1', name]);
      expect(invalid.code).toBe(2);
      expect(invalid.stderr).toMatch(/checkpoint name .* is invalid/);
    }
    const unknown = await shadowlog([...h(), 'checkpoint', 'delete', 'DSA1', 'nope']);
    expect(unknown.code).toBe(3);
    expect(unknown.stderr).toMatch(/checkpoint nope not found in DSA1/);
  }, 60_000);

  it('goes through the running server when one serves the set', async () => {
    const server = await serve(suite.dir, 'DSA1');
    try {
      const created = await shadowlog([...h(), 'checkpoint', 'DSA1', 'live', '--json']);
      expect(created.code).toBe(0);
      expect(JSON.parse(created.stdout).checkpoint.name).toBe('live');
      const again = await shadowlog([...h(), 'checkpoint', 'DSA1', 'live']);
      expect(again.code).toBe(4);
      const list = JSON.parse(
        (await shadowlog([...h(), 'checkpoint', 'list', 'DSA1', '--json'])).stdout,
      ) as Listed;
      expect(list.checkpoints.map((c) => c.name)).toContain('live');
      expect((await shadowlog([...h(), 'checkpoint', 'delete', 'DSA1', 'live'])).code).toBe(0);
    } finally {
      expect(await server.stop()).toBe(0);
    }
  }, 90_000);
});
