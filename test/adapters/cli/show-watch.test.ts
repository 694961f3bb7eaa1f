import { describe, expect, it } from 'vitest';
import { backgroundCli } from '../../support/background-cli.js';
import { shadowlog } from '../../support/run-cli.js';
import { memberArgs, suiteHome } from '../../support/suite-home.js';

describe('shadowlog show --watch on a pipe (built CLI)', () => {
  const suite = suiteHome('watch', (dir) => [
    ['create', 'SW', '--size', '4M', ...memberArgs(dir, ['a.img', 'b.img'])],
    ['dismount', 'SW', 'm2', '--policy', 'minicopy'],
  ]);
  const h = suite.args;

  it('prints one line per change while another process mounts and dismounts; SIGINT exits 0', async () => {
    const watch = backgroundCli([...h(), 'show', 'SW', '--watch']);
    try {
      await watch.waitFor(/position \d+; members: m1 valid, m2 dismounted; bitmaps: m2 0 chunks marked\n/);
      expect((await shadowlog([...h(), 'mount', 'SW', 'm2', '--wait'])).code).toBe(0);
      await watch.waitFor(/members: m1 valid, m2 valid\n/);
      expect((await shadowlog([...h(), 'dismount', 'SW', 'm2', '--policy', 'none'])).code).toBe(0);
      await watch.waitFor(/members: m1 valid, m2 valid\n.*m2 dismounted\n/s);
      const lines = watch.stdout().trim().split('\n');
      // One line per change, not one per event: consecutive lines differ past the position.
      const states = lines.map((l) => l.replace(/^\S+ position \d+; /, ''));
      for (let i = 1; i < states.length; i++) expect(states[i]).not.toBe(states[i - 1]);
      expect(lines.length).toBeLessThan(8);
    } finally {
      expect(await watch.signal('SIGINT')).toBe(0);
    }
  }, 90_000);

  it('refuses --watch with --at (exit 2)', async () => {
    const result = await shadowlog([...h(), 'show', 'SW', '--watch', '--at', '0']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--watch');
  }, 30_000);
});
