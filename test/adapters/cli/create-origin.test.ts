import { existsSync } from 'node:fs';
import { link, readFile, symlink, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openSet } from '../../../adapters/composition-root/open-set.js';
import { setPaths } from '../../../adapters/composition-root/set-home.js';
import { openSetStore } from '../../../adapters/composition-root/set-store.js';
import { decide } from '../../../domain/shadow-set-decider.js';
import { initialState } from '../../../domain/shadow-set-state.js';
import { serve, shadowlog, shadowlogJson } from '../../support/run-cli.js';
import { testHome } from '../../support/test-home.js';

const SIZE = 8 * 1024 * 1024;
/** Test timeout: each case runs a few CLI processes of ~1 s on a loaded 2-core machine. */
const TIMEOUT_MS = 120_000;
/** The error-path case runs 13 CLI processes: ~50 s alone here, past 120 s with the machine busy. */
const ERROR_PATHS_TIMEOUT_MS = 240_000;

/** An existing image of SIZE holding data: a pattern at the start and a marker deep inside. */
async function dataImage(path: string): Promise<Buffer> {
  const bytes = Buffer.alloc(SIZE);
  for (let i = 0; i < 1024 * 1024; i++) bytes[i] = (i * 7 + (i >> 9)) & 0xff;
  bytes.fill(0xcd, 5 * 1024 * 1024, 5 * 1024 * 1024 + 4096);
  await writeFile(path, bytes);
  return bytes;
}

interface Created {
  members: { id: string; created: boolean }[];
  origin: { kind: string; created: string[]; copied: string[] };
  copies: { member: string; source: string; reason: string; outcome: string; bytesCopied: number }[];
}

describe('create builds a mirror that is true', () => {
  it(
    'an image holding data next to a new sparse image: the new one gets a full copy, verify passes, reads give the data',
    async () => {
      const home = await testHome('create');
      const data = join(home, 'data.img');
      const expected = await dataImage(data);
      const fresh = join(home, 'fresh.img');
      const created = await shadowlogJson<Created>([
        '--home',
        home,
        'create',
        'DSA1',
        '--size',
        '8M',
        '--member',
        data,
        '--member',
        fresh,
      ]);
      const verify = await shadowlog(['--home', home, 'verify', 'DSA1']);
      expect(verify.code, verify.stderr).toBe(0);
      // Every member holds the data image's bytes, so any read of the set returns them.
      expect((await readFile(fresh)).equals(expected)).toBe(true);
      expect((await readFile(data)).equals(expected)).toBe(true);
      const set = await openSet({ home, set: 'DSA1', mode: 'read-write' });
      try {
        // Reads spread over the valid members: 64 reads of 128 KiB reach both.
        const step = 128 * 1024;
        for (let offset = 0; offset < SIZE; offset += step) {
          const read = Buffer.from(await set.unit.read(offset / 512, step / 512));
          expect(read.equals(expected.subarray(offset, offset + step)), `read at ${offset}`).toBe(true);
        }
      } finally {
        await set.close();
      }
      expect(created.origin).toEqual({ kind: 'copied', created: ['m2'], copied: ['m2'] });
      expect(created.copies).toEqual([
        expect.objectContaining({
          member: 'm2',
          source: 'm1',
          reason: expect.stringMatching(
            /^initial copy: m2 may differ from m1; every chunk copied: the set was created from members that held data/,
          ),
          outcome: 'completed',
          bytesCopied: SIZE,
        }),
      ]);
      const show = await shadowlogJson<{ members: { state: string }[]; origin: Created['origin'] }>([
        '--home',
        home,
        'show',
        'DSA1',
      ]);
      expect(show.members.map((m) => m.state)).toEqual(['valid', 'valid']);
      expect(show.origin.kind).toBe('copied');
      const explain = await shadowlog(['--home', home, 'explain', 'DSA1', '--member', 'm2']);
      expect(explain.stdout).toMatch(/full copy to m2 from m1 at position 1 .*policy full: completed/);
      expect(explain.stdout).toMatch(/why: initial copy: m2 may differ from m1/);
    },
    TIMEOUT_MS,
  );

  it(
    'a hard link or a symlink to a member is the same file: refused with exit 2 naming both, nothing left behind',
    async () => {
      const home = await testHome('create');
      const data = join(home, 'data.img');
      const expected = await dataImage(data);
      await link(data, join(home, 'hard.img'));
      await symlink(data, join(home, 'soft.img'));
      for (const other of ['hard.img', 'soft.img']) {
        const result = await shadowlog([
          '--home',
          home,
          'create',
          'DSA1',
          '--size',
          '8M',
          '--member',
          data,
          '--member',
          join(home, 'new.img'),
          '--member',
          join(home, other),
        ]);
        expect(result.code, result.stderr).toBe(2);
        expect(result.stderr).toContain(`members ${data} and ${join(home, other)} are the same storage`);
        expect(existsSync(join(home, 'DSA1'))).toBe(false);
        expect(existsSync(join(home, 'new.img'))).toBe(false);
      }
      expect((await readFile(data)).equals(expected)).toBe(true);
    },
    TIMEOUT_MS,
  );

  it(
    '--assume-clean is recorded (create, show, explain say so) and nothing is copied',
    async () => {
      const home = await testHome('create');
      const data = join(home, 'data.img');
      await dataImage(data);
      const other = join(home, 'other.img');
      await writeFile(other, Buffer.alloc(SIZE));
      const args = ['--home', home, 'create', 'DSA1', '--size', '8M', '--member', data, '--member', other];
      const created = await shadowlogJson<Created>([...args, '--assume-clean']);
      expect(created.origin).toEqual({ kind: 'assume-clean', created: [], copied: [] });
      expect(created.copies).toEqual([]);
      const show = await shadowlog(['--home', home, 'show', 'DSA1']);
      expect(show.stdout).toMatch(
        /origin assume-clean: the operator asserted the members hold the same data/,
      );
      const explain = await shadowlogJson<{ origin: Created['origin']; copies: unknown[] }>([
        '--home',
        home,
        'explain',
        'DSA1',
      ]);
      expect(explain).toMatchObject({ origin: { kind: 'assume-clean' }, copies: [] });
      // Nothing was copied: the operator's word is all the set has, and verify shows it was wrong.
      expect((await readFile(other)).equals(Buffer.alloc(SIZE))).toBe(true);
      expect((await shadowlog(['--home', home, 'verify', 'DSA1'])).code).toBe(9);
    },
    TIMEOUT_MS,
  );

  it(
    'an initial copy cut short (create killed after recording the set) is resumed by the next open',
    async () => {
      const home = await testHome('create');
      const data = join(home, 'data.img');
      const expected = await dataImage(data);
      const fresh = join(home, 'fresh.img');
      // What `create` leaves when it dies right after ShadowSetCreated: the log owes m2 its copy.
      await writeFile(fresh, Buffer.alloc(0));
      await truncate(fresh, SIZE);
      const store = await openSetStore(setPaths(home, 'DSA1'));
      const events = decide(
        {
          type: 'CreateSet',
          setId: 'DSA1',
          blocks: SIZE / 512,
          memberPaths: [data, fresh],
          memberSizesBytes: [SIZE, SIZE],
          createdFresh: [false, true],
        },
        initialState(),
      );
      await store.append(events, { expectedPosition: 0 });
      await store.close();
      const before = await shadowlogJson<{ members: { state: string }[] }>(['--home', home, 'show', 'DSA1']);
      expect(before.members.map((m) => m.state)).toEqual(['valid', 'returning']);
      const server = await serve(home, 'DSA1');
      try {
        let states: string[] = [];
        // Bounded: the 8 MiB copy takes well under a second; 600 polls of 100 ms is a minute.
        for (let i = 0; i < 600; i++) {
          const show = await shadowlogJson<{ members: { state: string }[] }>([
            '--home',
            home,
            'show',
            'DSA1',
          ]);
          states = show.members.map((m) => m.state);
          if (states.every((s) => s === 'valid')) break;
          await new Promise((r) => setTimeout(r, 100));
        }
        expect(states).toEqual(['valid', 'valid']);
      } finally {
        expect(await server.stop()).toBe(0);
      }
      expect((await readFile(fresh)).equals(expected)).toBe(true);
      expect((await shadowlog(['--home', home, 'verify', 'DSA1'])).code).toBe(0);
    },
    TIMEOUT_MS,
  );

  it(
    'every error path of create exits with the README table code',
    async () => {
      const home = await testHome('create');
      const a = join(home, 'a.img');
      const b = join(home, 'b.img');
      await shadowlogJson(['--home', home, 'create', 'OK', '--size', '1M', '--member', a, '--member', b]);
      await writeFile(join(home, 'home-file'), 'not a directory');
      const h = ['--home', home];
      const cases: [string[], number, RegExp][] = [
        [[...h, 'create', 'X', '--size', '1M', '--member', a], 2, /2 to 6 members; 1 --member given/],
        [[...h, 'create', 'X', '--size', '1000', '--member', a, '--member', b], 2, /multiple of 512/],
        [[...h, 'create', 'X', '--size', '65T', '--member', a, '--member', b], 2, /largest volume .*: 64T/],
        [
          [...h, 'create', 'X', '--size', '1M', '--chunk-blocks', '0', '--member', a, '--member', b],
          2,
          /--chunk-blocks/,
        ],
        [[...h, 'create', 'bad name', '--size', '1M', '--member', a, '--member', b], 2, /set name/],
        [
          [...h, 'create', 'X', '--size', '1M', '--member', a, '--member', a],
          2,
          /same member path is given twice/,
        ],
        [
          [...h, 'create', 'X', '--size', '2M', '--member', a, '--member', join(home, 'n.img')],
          2,
          /1048576 bytes/,
        ],
        [
          [...h, 'create', 'X', '--size', '1M', '--member', home, '--member', b],
          2,
          /is a directory, not a member/,
        ],
        [
          [...h, 'create', 'X', '--size', '1M', '--member', join(home, 'no', 'x.img'), '--member', b],
          3,
          /does not exist/,
        ],
        [[...h, 'create', 'OK', '--size', '1M', '--member', a, '--member', b], 4, /exists already/],
        [
          ['--home', join(home, 'home-file'), 'create', 'X', '--size', '1M', '--member', a, '--member', b],
          7,
          /creating set directory .* failed \((ENOTDIR|EEXIST)\)/,
        ],
      ];
      for (const [args, code, message] of cases) {
        const result = await shadowlog(args);
        expect(result.code, `${args.join(' ')}: ${result.stderr}`).toBe(code);
        expect(result.stderr).toMatch(message);
        expect(result.stderr).not.toMatch(/\n\s+at /);
      }
      expect(existsSync(join(home, 'X'))).toBe(false);
      expect(existsSync(join(home, 'n.img'))).toBe(false);
    },
    ERROR_PATHS_TIMEOUT_MS,
  );
});
