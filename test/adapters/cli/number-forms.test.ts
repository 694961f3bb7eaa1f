import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { shadowlog, shadowlogJson } from '../../support/run-cli.js';
import { memberArgs, suiteHome } from '../../support/suite-home.js';

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

describe('numbers with separators, right plurals and ISO times (built binary)', () => {
  const suite = suiteHome('numbers', (dir) => [
    ['create', 'NUM', '--size', '16M', ...memberArgs(dir, ['a.img', 'b.img'])],
  ]);
  const h = suite.args;

  it('log check: "1 segment", "1 record" (the fresh log holds ShadowSetCreated only)', async () => {
    const result = await shadowlog([...h(), 'log', 'check', 'NUM']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^ok: 1 segment, 1 record, \d[\d,]* bytes in /);
  }, 30_000);

  it('mount: counts with separators, and the copy bar on a pipe shows MiB/s', async () => {
    expect((await shadowlog([...h(), 'dismount', 'NUM', 'm2', '--policy', 'none'])).code).toBe(0);
    const result = await shadowlog([...h(), 'mount', 'NUM', 'm2', '--policy', 'full']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toContain('full copy of m2 from m1: 259 chunks, 16,777,216 bytes');
    expect(result.stdout).toContain('full copy to m2 completed: 259 chunks, 16,777,216 bytes copied');
    expect(result.stderr).toMatch(/copy to m2: 100% \(259\/259 chunks, \d+\.\d MiB\/s\)/);
    expect(result.stderr).not.toMatch(/NaN|Infinity|NFs|null/);
  }, 60_000);

  it('a minicopy of nothing says "0 chunks, 0 bytes"', async () => {
    expect((await shadowlog([...h(), 'dismount', 'NUM', 'm2', '--policy', 'minicopy'])).code).toBe(0);
    const result = await shadowlog([...h(), 'mount', 'NUM', 'm2']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain('minicopy to m2 completed: 0 chunks, 0 bytes copied');
  }, 60_000);

  it('delete-bitmap --json: a designed document with an ISO time, not the raw record', async () => {
    expect((await shadowlog([...h(), 'dismount', 'NUM', 'm2', '--policy', 'minicopy'])).code).toBe(0);
    const json = await shadowlogJson<{ deleted: { member: string; eventPosition: number; time: string } }>([
      ...h(),
      'delete-bitmap',
      'NUM',
      'm2',
    ]);
    expect(Object.keys(json)).toEqual(['deleted']);
    expect(json.deleted).toEqual({
      member: 'm2',
      eventPosition: expect.any(Number),
      time: expect.stringMatching(ISO),
    });
    expect((await shadowlog([...h(), 'mount', 'NUM', 'm2', '--policy', 'full'])).code).toBe(0);
  }, 60_000);

  it('checkpoint list: times are ISO strings in human and --json output', async () => {
    expect((await shadowlog([...h(), 'checkpoint', 'NUM', 'c1'])).code).toBe(0);
    const json = await shadowlogJson<{ checkpoints: { time: string }[] }>([
      ...h(),
      'checkpoint',
      'list',
      'NUM',
    ]);
    expect(json.checkpoints[0]!.time).toMatch(ISO);
    const human = await shadowlog([...h(), 'checkpoint', 'list', 'NUM']);
    expect(human.stdout).toContain(json.checkpoints[0]!.time);
  }, 60_000);

  it('size errors write bytes with separators', async () => {
    const args = ['--member', join(suite.dir, 'x.img'), '--member', join(suite.dir, 'y.img')];
    const odd = await shadowlog([...h(), 'create', 'ODD', '--size', '1000', ...args]);
    expect(odd.code).toBe(2);
    expect(odd.stderr).toContain("size '1000' is 1,000 bytes: it must be a positive multiple of 512 bytes");
    const huge = await shadowlog([...h(), 'create', 'HUGE', '--size', '1000T', ...args]);
    expect(huge.code).toBe(2);
    expect(huge.stderr).toContain('(70,368,744,177,664 bytes, 137,438,953,472 blocks)');
  }, 60_000);
});
