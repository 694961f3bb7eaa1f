import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serve, shadowlog, shadowlogJson } from '../../support/run-cli.js';
import { haveTools } from '../nbd/nbd-harness.js';

const run = promisify(execFile);
const CHUNK = 127 * 512;

interface Show {
  set: string;
  position: number;
  blocks: number;
  chunkBlocks: number;
  members: { id: string; path: string; state: string }[];
  bitmaps: { member: string; type: string; sincePosition: number; chunksMarked: number; percent: number }[];
}

describe.runIf(haveTools('CLI workflow', ['qemu-io']))('operator workflow through the built CLI', () => {
  let home: string;
  let members: string[];
  const h = () => ['--home', home];

  beforeAll(async () => {
    home = await mkdtemp(join(tmpdir(), 'shadowlog-cli-'));
    members = ['a.img', 'b.img', 'c.img'].map((m) => join(home, m));
    const created = await shadowlogJson<{ members: { id: string; created: boolean }[] }>([
      ...h(),
      'create',
      'DSA1',
      '--size',
      '16M',
      ...members.flatMap((m) => ['--member', m]),
    ]);
    expect(created.members.map((m) => [m.id, m.created])).toEqual([
      ['m1', true],
      ['m2', true],
      ['m3', true],
    ]);
  });

  afterAll(async () => {
    await rm(home, { recursive: true, force: true });
  });

  it('with a server: writes over NBD, dismount with minicopy, show the bitmap, audit, mount --wait, explain, verify', async () => {
    const server = await serve(home, 'DSA1');
    try {
      await run('qemu-io', ['-f', 'raw', '-c', 'write -P 0x11 0 1M', server.uri]);
      const dismount = await shadowlogJson<{ position: number }>([
        ...h(),
        'dismount',
        'DSA1',
        'm2',
        '--policy',
        'minicopy',
      ]);
      // Chunk 2 and chunks 40-41 (a write across their boundary).
      await run('qemu-io', [
        '-f',
        'raw',
        '-c',
        `write -P 0x22 ${2 * CHUNK} 4k`,
        '-c',
        `write -P 0x33 ${41 * CHUNK - 2048} 4k`,
        server.uri,
      ]);
      // show reads the log while the server appends to it.
      const show = await shadowlogJson<Show>([...h(), 'show', 'DSA1', '--bitmap']);
      expect(show.members.map((m) => [m.id, m.state])).toEqual([
        ['m1', 'valid'],
        ['m2', 'dismounted'],
        ['m3', 'valid'],
      ]);
      const bitmap = show.bitmaps.find((b) => b.type === 'minicopy');
      expect(bitmap).toMatchObject({ member: 'm2', sincePosition: dismount.position, chunksMarked: 3 });
      const audit = await shadowlogJson<{ ranges: { lbn: number; count: number; writes: number }[] }>([
        ...h(),
        'audit',
        'DSA1',
        '--from',
        String(dismount.position),
      ]);
      expect(audit.ranges.map((r) => [r.lbn, r.count])).toEqual([
        [2 * 127, 8],
        [41 * 127 - 4, 8],
      ]);
      const mounted = await shadowlog([
        ...h(),
        'mount',
        'DSA1',
        'm2',
        '--policy',
        'minicopy',
        '--wait',
        '--json',
      ]);
      expect(mounted.code, mounted.stderr).toBe(0);
      expect(JSON.parse(mounted.stdout)).toMatchObject({
        outcome: 'completed',
        chunksCopied: 3,
        bytesCopied: 3 * CHUNK,
      });
      const explain = await shadowlogJson<{
        copies: {
          member: string;
          kind: string;
          reason: string;
          chunksPlanned: number;
          bytesCopied: number;
          outcome: string;
        }[];
      }>([...h(), 'explain', 'DSA1']);
      expect(explain.copies).toEqual([
        expect.objectContaining({
          member: 'm2',
          kind: 'mini',
          chunksPlanned: 3,
          bytesCopied: 3 * CHUNK,
          outcome: 'completed',
          reason: `bitmap since position ${dismount.position}: 3 of 259 chunks marked (1.2%)`,
        }),
      ]);
      const chunk = await shadowlogJson<{
        chunk: { bitmaps: { member: string; marks: { lbn: number; count: number }[] }[] };
      }>([...h(), 'explain', 'DSA1', '--chunk', '40']);
      expect(chunk.chunk.bitmaps.map((b) => [b.member, b.marks.map((m) => [m.lbn, m.count])])).toEqual([
        ['m2', [[41 * 127 - 4, 8]]],
      ]);
      const verify = await shadowlogJson<{ identical: boolean }>([...h(), 'verify', 'DSA1']);
      expect(verify.identical).toBe(true);
    } finally {
      expect(await server.stop()).toBe(0);
    }
    // A clean stop records MembersSynced as the last event: nothing for a merge to do.
    const replay = await shadowlogJson<{ summary: { syncedPosition: number; position: number } }>([
      ...h(),
      'replay',
      'DSA1',
    ]);
    expect(replay.summary.syncedPosition).toBe(replay.summary.position - 1);
  }, 150_000);

  it('without a server: dismount and mount run in the CLI, time travel shows the past, replay is deterministic', async () => {
    const dismount = await shadowlogJson<{ position: number }>([
      ...h(),
      'dismount',
      'DSA1',
      members[2]!,
      '--policy',
      'minicopy',
    ]);
    const mounted = await shadowlog([...h(), 'mount', 'DSA1', 'm3', '--policy', 'minicopy']);
    expect(mounted.code, mounted.stderr).toBe(0);
    expect(mounted.stdout).toMatch(/minicopy to m3 completed: 0 chunks/);
    const past = await shadowlogJson<Show>([...h(), 'show', 'DSA1', '--at', String(dismount.position)]);
    expect(past.position).toBe(dismount.position);
    expect(past.members.find((m) => m.id === 'm3')?.state).toBe('dismounted');
    const now = await shadowlogJson<Show>([...h(), 'show', 'DSA1']);
    expect(now.members.every((m) => m.state === 'valid')).toBe(true);
    const first = await shadowlog([...h(), 'replay', 'DSA1']);
    const second = await shadowlog([...h(), 'replay', 'DSA1']);
    expect(first.code).toBe(0);
    expect(second.stdout).toBe(first.stdout);
    const until = await shadowlogJson<{ summary: Show }>([
      ...h(),
      'replay',
      'DSA1',
      '--until',
      String(dismount.position),
    ]);
    expect(until.summary.position).toBe(dismount.position);
    const check = await shadowlogJson<{ ok: boolean; records: number }>([...h(), 'log', 'check', 'DSA1']);
    expect(check.ok).toBe(true);
    expect(check.records).toBe(now.position + 1);
  }, 90_000);

  it('verify finds a difference planted in one member', async () => {
    const file = await open(members[1]!, 'r+');
    await file.write(Buffer.alloc(1024, 0x5a), 0, 1024, 100 * 512);
    await file.close();
    const result = await shadowlog([...h(), 'verify', 'DSA1', '--json']);
    expect(result.code).toBe(9);
    expect(JSON.parse(result.stdout)).toEqual({
      identical: false,
      members: ['m1', 'm2', 'm3'],
      bytes: 16 * 1024 * 1024,
      differences: [{ lbn: 100, count: 2 }],
      outliers: { m2: 2 },
      blocksWithoutMajority: 0,
      advice: 'to repair: shadowlog dismount DSA1 m2 && shadowlog mount DSA1 m2 --policy full',
    });
    // The human form names the odd member and the repair, with plurals and separators.
    const human = await shadowlog([...h(), 'verify', 'DSA1']);
    expect(human.code).toBe(9);
    expect(human.stdout).toContain('members m1, m2, m3 differ in 1 range:');
    expect(human.stdout).toContain('  LBN 100-101 (2 blocks)');
    expect(human.stdout).toContain('m2 differs from the majority in 2 blocks');
    expect(human.stdout).toContain('shadowlog mount DSA1 m2 --policy full');
  });

  it('errors: one clear line, a documented exit code, no stack trace unless --debug', async () => {
    const cases: [string[], number, RegExp][] = [
      [['show', 'NOPE'], 3, /shadow set 'NOPE' not found in .*: create it with 'shadowlog create NOPE/],
      [['dismount', 'DSA1', 'm9'], 3, /member 'm9' is not in shadow set DSA1; members: m1 \(/],
      [
        ['create', 'X', '--size', '1M', '--member', members[0]!, '--member', join(home, 'new.img')],
        2,
        /16777216 bytes/,
      ],
      [['create', 'Y', '--size', '12Q', '--member', 'a', '--member', 'b'], 2, /size '12Q' is invalid/],
      [['mount', 'DSA1', 'm1'], 4, /mount of m1 refused: it is valid/],
      [
        ['dismount', 'DSA1', 'm1', '--policy', 'sometimes'],
        2,
        /--policy 'sometimes' is invalid: use one of minicopy, none/,
      ],
      [
        ['show', 'DSA1', '--at', 'yesterday'],
        2,
        /--at 'yesterday' is invalid: give a position \(e\.g\. 1042\), an ISO-8601 time with a zone/,
      ],
      [['show', 'DSA1', '--at', '999999'], 2, /position 999999 is not in the log/],
      [['audit', 'DSA1', '--lbn', '9-3'], 2, /LBN range '9-3' is invalid/],
      [['frobnicate'], 2, /unknown command 'frobnicate'/],
      [
        ['--store', 'http://x', 'show', 'DSA1'],
        2,
        /--store 'http:\/\/x' is not a KurrentDB connection string/,
      ],
      [
        [
          '--store',
          'kurrentdb://127.0.0.1:1?tls=false',
          'create',
          'K',
          '--size',
          '1M',
          '--member',
          join(home, 'k1.img'),
          '--member',
          join(home, 'k2.img'),
        ],
        7,
        /KurrentDB at kurrentdb:\/\/127.0.0.1:1\?tls=false is unreachable.*docker compose up -d/,
      ],
    ];
    for (const [args, code, message] of cases) {
      const result = await shadowlog([...h(), ...args]);
      expect(result.code, `${args.join(' ')}: ${result.stderr}`).toBe(code);
      expect(result.stderr).toMatch(message);
      expect(result.stderr).not.toMatch(/\n\s+at /);
    }
    // A failed create leaves nothing behind.
    expect(existsSync(join(home, 'K'))).toBe(false);
    expect(existsSync(join(home, 'k1.img'))).toBe(false);
    const debug = await shadowlog([...h(), '--debug', 'show', 'NOPE']);
    expect(debug.stderr).toMatch(/\n\s+at /);
  }, 120_000);

  it('dismounting down to one member, then the last one is refused', async () => {
    await shadowlogJson([...h(), 'dismount', 'DSA1', 'm2', '--policy', 'none']);
    await shadowlogJson([...h(), 'dismount', 'DSA1', 'm3', '--policy', 'minicopy']);
    const last = await shadowlog([...h(), 'dismount', 'DSA1', 'm1']);
    expect(last.code).toBe(4);
    expect(last.stderr).toMatch(/last valid member of DSA1; mount another member first/);
    const refused = await shadowlog([...h(), 'mount', 'DSA1', 'm2', '--policy', 'minicopy']);
    expect(refused.code).toBe(4);
    expect(refused.stderr).toMatch(/policy minicopy refused: no bitmap: dismounted with policy none/);
    const full = await shadowlogJson<{ outcome: string; copy: { kind: string } }>([
      ...h(),
      'mount',
      'DSA1',
      'm2',
      '--policy',
      'minicopy-optional',
    ]);
    expect(full).toMatchObject({ outcome: 'completed', copy: { kind: 'full' } });
  });

  it('a server that is not reachable is reported', async () => {
    // A live pid (this test process) with an address nobody listens on.
    await writeFile(
      join(home, 'DSA1', 'server.json'),
      JSON.stringify({
        pid: process.pid,
        http: '127.0.0.1:9',
        nbd: null,
        startedAt: new Date().toISOString(),
      }),
    );
    await writeFile(join(home, 'DSA1', 'control.token'), 'x\n');
    const result = await shadowlog([...h(), 'dismount', 'DSA1', 'm3']);
    expect(result.code).toBe(7);
    expect(result.stderr).toMatch(/server of this set \(pid \d+\) is not reachable at 127.0.0.1:9/);
    await rm(join(home, 'DSA1', 'server.json'));
  }, 90_000);
});

describe('help', () => {
  it('lists every command', async () => {
    const result = await shadowlog(['--help']);
    expect(result.code).toBe(0);
    for (const command of [
      'create',
      'serve',
      'dismount',
      'mount',
      'show',
      'audit',
      'explain',
      'replay',
      'verify',
      'log',
      'demo',
      'bench',
    ]) {
      expect(result.stdout).toContain(command);
    }
  });
});
