import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serve, shadowlog } from '../../support/run-cli.js';
import { haveTools } from '../nbd/nbd-harness.js';

const run = promisify(execFile);

interface EventLine {
  position: number;
  time: string;
  type: string;
  member?: string;
  lbn?: number;
  count?: number;
}

const jsonLines = (stdout: string): EventLine[] =>
  stdout
    .trim()
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => JSON.parse(l) as EventLine);

describe.runIf(haveTools('events', ['qemu-io']))('shadowlog events through the built CLI', () => {
  let home: string;
  const h = () => ['--home', home];

  beforeAll(async () => {
    home = await mkdtemp(join(tmpdir(), 'shadowlog-events-'));
    const members = ['a.img', 'b.img'].flatMap((m) => ['--member', join(home, m)]);
    expect((await shadowlog([...h(), 'create', 'EV', '--size', '16M', ...members])).code).toBe(0);
    const server = await serve(home, 'EV');
    try {
      // Two writes: LBN 0-127 (64 KiB at 0) and LBN 2048-2055 (4 KiB at 1 MiB).
      await run('qemu-io', ['-f', 'raw', '-c', 'write -P 0x11 0 64K', server.uri]);
      await run('qemu-io', ['-f', 'raw', '-c', 'write -P 0x22 1M 4K', server.uri]);
    } finally {
      await server.stop();
    }
    expect((await shadowlog([...h(), 'dismount', 'EV', 'm2', '--policy', 'minicopy'])).code).toBe(0);
  }, 120_000);

  afterAll(async () => {
    await rm(home, { recursive: true, force: true });
  });

  it('prints one human line per event with position, ISO time, type and its fields', async () => {
    const result = await shadowlog([...h(), 'events', 'EV']);
    expect(result.code).toBe(0);
    const lines = result.stdout.split('\n');
    expect(lines[0]).toMatch(/^\s+0 {2}\d{4}-\d{2}-\d{2}T[\d:.]+Z {2}ShadowSetCreated/);
    expect(result.stdout).toMatch(/BlocksWritten\s+LBN 0-127 \(128\)/);
    expect(result.stdout).toMatch(/BlocksWritten\s+LBN 2048-2055 \(8\)/);
    expect(result.stdout).toMatch(/MemberDismounted\s+member m2, policy minicopy/);
    expect(result.stdout).toMatch(/MembersSynced\s+syncedPosition \d+/);
  }, 30_000);

  it('--json prints JSON lines with position, ISO time, type and the event fields', async () => {
    const result = await shadowlog([...h(), 'events', 'EV', '--json']);
    expect(result.code).toBe(0);
    const events = jsonLines(result.stdout);
    expect(events.map((e) => e.position)).toEqual(events.map((_, i) => i));
    for (const e of events) expect(new Date(e.time).toISOString()).toBe(e.time);
    expect(Object.keys(events[0]!).slice(0, 3)).toEqual(['position', 'time', 'type']);
    const synced = events.find((e) => e.type === 'MembersSynced') as EventLine & { syncedPosition: number };
    expect(synced.syncedPosition).toBeLessThan(synced.position);
    const writes = events.filter((e) => e.type === 'BlocksWritten');
    expect(writes.map((w) => [w.lbn, w.count])).toEqual([
      [0, 128],
      [2048, 8],
    ]);
  }, 30_000);

  it('--type takes groups and exact names; an unknown type exits 2 listing the accepted ones', async () => {
    const writes = jsonLines(
      (await shadowlog([...h(), 'events', 'EV', '--json', '--type', 'writes'])).stdout,
    );
    expect(writes.map((e) => e.type)).toEqual(['BlocksWritten', 'BlocksWritten']);
    const two = jsonLines(
      (
        await shadowlog([
          ...h(),
          'events',
          'EV',
          '--json',
          '--type',
          'membership',
          '--type',
          'ShadowSetCreated',
        ])
      ).stdout,
    );
    expect(two.map((e) => e.type)).toEqual(['ShadowSetCreated', 'MemberDismounted']);
    const bad = await shadowlog([...h(), 'events', 'EV', '--type', 'bogus']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("--type 'bogus'");
    expect(bad.stderr).toContain('writes, membership, copies, merges, sync');
    expect(bad.stderr).toContain('BlocksTrimmed');
  }, 30_000);

  it('--member by id or path; an unknown member exits 3', async () => {
    const byId = jsonLines((await shadowlog([...h(), 'events', 'EV', '--json', '--member', 'm2'])).stdout);
    expect(byId.map((e) => e.type)).toEqual(['MemberDismounted']);
    const byPath = await shadowlog([...h(), 'events', 'EV', '--json', '--member', join(home, 'b.img')]);
    expect(jsonLines(byPath.stdout)).toEqual(byId);
    const unknown = await shadowlog([...h(), 'events', 'EV', '--member', 'm9']);
    expect(unknown.code).toBe(3);
    expect(unknown.stderr).toContain("member 'm9'");
  }, 30_000);

  it('--lbn keeps the writes touching the range', async () => {
    const hit = jsonLines((await shadowlog([...h(), 'events', 'EV', '--json', '--lbn', '2050-3000'])).stdout);
    expect(hit.map((e) => e.lbn)).toEqual([2048]);
    const miss = await shadowlog([...h(), 'events', 'EV', '--json', '--lbn', '200-300']);
    expect(miss.code).toBe(0);
    expect(miss.stdout).toBe('');
  }, 30_000);

  it('--from/--to (positions, times), --limit and --reverse', async () => {
    const all = jsonLines((await shadowlog([...h(), 'events', 'EV', '--json'])).stdout);
    const last = all.length - 1;
    const window = jsonLines(
      (await shadowlog([...h(), 'events', 'EV', '--json', '--from', '1', '--to', '2'])).stdout,
    );
    expect(window.map((e) => e.position)).toEqual([1, 2]);
    const limited = jsonLines((await shadowlog([...h(), 'events', 'EV', '--json', '--limit', '2'])).stdout);
    expect(limited.map((e) => e.position)).toEqual([0, 1]);
    const newest = jsonLines(
      (await shadowlog([...h(), 'events', 'EV', '--json', '--reverse', '--limit', '2'])).stdout,
    );
    expect(newest.map((e) => e.position)).toEqual([last, last - 1]);
    const fromTime = jsonLines(
      (await shadowlog([...h(), 'events', 'EV', '--json', '--from', all[last]!.time])).stdout,
    );
    expect(fromTime.map((e) => e.position)).toContain(last);
    expect(fromTime.every((e) => e.time >= all[last]!.time)).toBe(true);
    const recent = jsonLines((await shadowlog([...h(), 'events', 'EV', '--json', '--from', '-1h'])).stdout);
    expect(recent).toEqual(all);
    const future = await shadowlog([...h(), 'events', 'EV', '--json', '--to', '2001-01-01T00:00:00Z']);
    expect(future.code).toBe(0);
    expect(future.stdout).toBe('');
    for (const args of [
      ['--from', '999'],
      ['--from', '999', '--reverse'],
    ]) {
      const past = await shadowlog([...h(), 'events', 'EV', ...args]);
      expect(past.code).toBe(0);
      expect(past.stdout).toBe('');
    }
    const bad = await shadowlog([...h(), 'events', 'EV', '--from', '5', '--to', '2']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--from 5 is after --to 2');
  }, 60_000);
});
