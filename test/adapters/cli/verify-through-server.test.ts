import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findControlClient } from '../../../adapters/composition-root/set-control.js';
import { setPaths } from '../../../adapters/composition-root/set-home.js';
import { type RunningServer, serve, shadowlog } from '../../support/run-cli.js';
import { memberArgs, suiteHome } from '../../support/suite-home.js';

/** 256 MiB, two members: a verify through the server lasts long enough for several polls. */
const SIZE = '256M';

describe('verify through a running server shows progress like offline (built binary)', () => {
  const suite = suiteHome('verify-served', (dir) => [
    ['create', 'BIG', '--size', SIZE, ...memberArgs(dir, ['a.img', 'b.img'])],
  ]);
  const h = suite.args;
  let server: RunningServer | null = null;

  beforeAll(async () => {
    server = await serve(suite.dir, 'BIG');
  }, 60_000);

  afterAll(async () => {
    await server?.stop();
  });

  it('on a pipe: plain progress lines from the server, from 0% to 100% with MiB/s', async () => {
    const result = await shadowlog([...h(), 'verify', 'BIG'], { timeoutMs: 120_000 });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain('members m1, m2 are identical (268,435,456 bytes each)');
    expect(result.stderr).toMatch(/verifying through the server \(pid \d+\)/);
    const lines = result.stderr.split('\n').filter((l) => l.startsWith('verify: '));
    // The first poll sees the verify under way (256 MiB take far longer than one poll): the
    // bar starts there, with no rate and no time left yet (nothing done since it started).
    expect(lines.length).toBeGreaterThanOrEqual(2);
    expect(lines[0]).toMatch(/^verify: (\d|[1-9]\d)% \(\d[\d,]*\/4,129 chunks\)$/);
    expect(lines.at(-1)).toMatch(/^verify: 100% \(4,129\/4,129 chunks, \d+\.\d MiB\/s\)$/);
    expect(result.stderr).not.toMatch(/NaN|Infinity|NFs|null/);
  }, 150_000);

  it('the server keeps the finished verify in GET /api/state progress; --json prints no progress', async () => {
    const json = await shadowlog([...h(), 'verify', 'BIG', '--json'], { timeoutMs: 120_000 });
    expect(json.code, json.stderr).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({ identical: true, members: ['m1', 'm2'] });
    expect(json.stderr).not.toMatch(/verify: \d+%/);
    const client = await findControlClient(setPaths(suite.dir, 'BIG'));
    expect(client).not.toBeNull();
    const state = await client!.state();
    expect(state.progress.find((p) => p.kind === 'verify')).toEqual({
      kind: 'verify',
      member: '*',
      chunksDone: 4129,
      chunksPlanned: 4129,
      bytesDone: 268_435_456,
      bytesPlanned: 268_435_456,
      finished: true,
    });
  }, 150_000);
});
