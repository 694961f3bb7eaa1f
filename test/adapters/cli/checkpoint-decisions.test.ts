import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { setPaths } from '../../../adapters/composition-root/set-home.js';
import { openSetReadOnly } from '../../../adapters/composition-root/set-store.js';
import { readAll } from '../../support/read-all.js';
import { SHADOWLOG_BIN, shadowlog } from '../../support/run-cli.js';
import { memberArgs, suiteHome } from '../../support/suite-home.js';

const run = promisify(execFile);

/**
 * The membership decisions around checkpoints, through the built CLI: a refused mount is in the
 * log with its reason (and still exits 4), an unknown member exits 3, a member given by a path
 * relative to the operator's directory resolves.
 */
describe('refusals are logged; members by id or relative path (built CLI)', () => {
  const suite = suiteHome('decisions', (dir) => [
    ['create', 'DSA1', '--size', '4M', ...memberArgs(dir, ['r1.img', 'r2.img', 'r3.img'])],
  ]);
  const h = suite.args;

  it('dismount by relative path from the directory holding it; mount --policy minicopy refused → exit 4 and MountRefused in the log', async () => {
    // Run from the members' directory, naming the member by its file name only.
    const dismounted = await run(
      process.execPath,
      [SHADOWLOG_BIN, ...h(), 'dismount', 'DSA1', 'r2.img', '--policy', 'none'],
      {
        cwd: suite.dir,
      },
    );
    expect(dismounted.stdout).toMatch(/m2 dismounted at position \d+ with policy none/);

    const refused = await shadowlog([...h(), 'mount', 'DSA1', 'm2', '--policy', 'minicopy']);
    expect(refused.code).toBe(4);
    expect(refused.stderr).toMatch(/m2/);
    const store = await openSetReadOnly(setPaths(suite.dir, 'DSA1', null, null), suite.dir);
    try {
      const events = (await readAll(store)).map((r) => r.event);
      const refusals = events.filter((e) => e.type === 'MountRefused');
      expect(refusals).toHaveLength(1);
      expect(refusals[0]).toMatchObject({ type: 'MountRefused', member: 'm2', policy: 'minicopy' });
      // The reason recorded is the message the operator saw.
      const reason = (refusals[0] as { reason: string }).reason;
      expect(refused.stderr).toContain(reason);
    } finally {
      await store.close();
    }
  }, 90_000);

  it('an unknown member exits 3 and names the members', async () => {
    const unknown = await shadowlog([...h(), 'dismount', 'DSA1', 'm9']);
    expect(unknown.code).toBe(3);
    expect(unknown.stderr).toMatch(/member 'm9' is not in shadow set DSA1; members: m1 \(/);
  }, 60_000);
});
