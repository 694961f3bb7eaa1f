import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serve, shadowlog, shadowlogJson } from '../../support/run-cli.js';

interface Listed {
  home: string;
  sets: {
    set: string;
    members: number;
    valid: number;
    state: string;
    position: number;
    time: string | null;
    server: { pid: number; nbd: string | null } | null;
  }[];
}

describe('shadowlog list through the built CLI', () => {
  let home: string;
  const h = () => ['--home', home];

  beforeAll(async () => {
    home = await mkdtemp(join(tmpdir(), 'shadowlog-list-'));
    for (const [set, count] of [
      ['LA', 2],
      ['LB', 3],
    ] as const) {
      const members = Array.from({ length: count }, (_, i) => [
        '--member',
        join(home, `${set}-${i}.img`),
      ]).flat();
      expect((await shadowlog([...h(), 'create', set, '--size', '4M', ...members])).code).toBe(0);
    }
    expect((await shadowlog([...h(), 'dismount', 'LB', 'm3', '--policy', 'minicopy'])).code).toBe(0);
  }, 60_000);

  afterAll(async () => {
    await rm(home, { recursive: true, force: true });
  });

  it('lists every set with members, state and log position (--json and text)', async () => {
    const listed = await shadowlogJson<Listed>([...h(), 'list']);
    expect(listed.sets.map((s) => [s.set, s.members, s.valid, s.state, s.server])).toEqual([
      ['LA', 2, 2, 'ok', null],
      ['LB', 3, 2, 'm3 dismounted', null],
    ]);
    expect(listed.sets[0]!.position).toBe(0);
    expect(listed.sets[1]!.position).toBeGreaterThanOrEqual(1);
    const text = await shadowlog([...h(), 'list']);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/LA\s+2\/2 valid\s+ok\s+0/);
    expect(text.stdout).toMatch(/LB\s+2\/3 valid\s+m3 dismounted/);
  }, 30_000);

  it('shows the server that serves a set', async () => {
    const server = await serve(home, 'LA');
    try {
      const listed = await shadowlogJson<Listed>([...h(), 'list']);
      const la = listed.sets.find((s) => s.set === 'LA')!;
      expect(la.server?.pid).toBe(server.process.pid);
      expect(server.uri).toContain(la.server!.nbd!);
      expect(listed.sets.find((s) => s.set === 'LB')!.server).toBeNull();
    } finally {
      await server.stop();
    }
  }, 60_000);

  it('an empty home lists no sets', async () => {
    const empty = await mkdtemp(join(tmpdir(), 'shadowlog-list-empty-'));
    try {
      const result = await shadowlog(['--home', empty, 'list']);
      expect(result.code).toBe(0);
      expect(result.stdout).toContain('no shadow sets');
    } finally {
      await rm(empty, { recursive: true, force: true });
    }
  }, 30_000);
});
