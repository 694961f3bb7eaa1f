import { execFile, spawnSync } from 'node:child_process';
import { cp, mkdir, mkdtemp, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * The package as a user gets it: `npm pack` (which runs the `prepare` build), install the
 * tarball in a scratch folder, and `import { … } from 'shadowlog'` in a plain .mjs file. The
 * script is the README's "Library" example: create a set, write, dismount a member with
 * minicopy, write more, close; then open the log read-only and read the state and the bitmap.
 */

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, '..', '..');
/** npm pack builds dist/ and npm install resolves the dependencies: 60-120 s on 2 cores. */
const TIMEOUT_MS = 240_000;

const npmAvailable = spawnSync('npm', ['--version'], { encoding: 'utf8' }).status === 0;
if (!npmAvailable) console.warn('package install test skipped: npm is not on PATH');

/** Not copied into the pack's source tree: built, installed or local-only. */
const NOT_COPIED = new Set(['node_modules', 'dist', 'coverage', '.git', '.shadowlog']);

/**
 * A copy of the repository to pack, as a clean clone would be: `prepare` builds its own dist/
 * (never rewriting the repository's dist/ under the CLI tests running beside this one, and
 * never packing files a stale dist/ still holds). node_modules is linked, not copied; npm pack
 * leaves it out.
 */
async function copySource(into: string): Promise<void> {
  await cp(ROOT, into, {
    recursive: true,
    filter: (source) => {
      const rel = source.slice(ROOT.length + 1);
      return rel === '' || !NOT_COPIED.has(rel.split('/')[0]!);
    },
  });
  await symlink(join(ROOT, 'node_modules'), join(into, 'node_modules'), 'dir');
}

/**
 * The environment without npm's own variables: run under `npm test`, they would carry the
 * repository's prefix into the scratch folder's `npm install`.
 */
function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!key.toLowerCase().startsWith('npm_')) env[key] = value;
  }
  return env;
}

async function npm(args: readonly string[], cwd: string): Promise<string> {
  try {
    const { stdout } = await run('npm', [...args], {
      cwd,
      env: cleanEnv(),
      timeout: TIMEOUT_MS,
      maxBuffer: 64 * 1024 * 1024,
    });
    return stdout;
  } catch (error) {
    // The build's type errors or npm's reason: the tail of what it printed, not just "failed".
    const { stdout = '', stderr = '' } = error as { stdout?: string; stderr?: string };
    throw new Error(
      `npm ${args.join(' ')} failed in ${cwd}:\n${`${stdout}\n${stderr}`.trim().slice(-4000)}`,
      {
        cause: error,
      },
    );
  }
}

/** The README's library example, as a user would write it. */
const SCRIPT = `
import { join } from 'node:path';
import {
  createSparseImage,
  currentState,
  FileMemberAccess,
  openEmbeddedStore,
  openSet,
  summarise,
  VirtualUnit,
} from 'shadowlog';

const home = process.argv[2]; // sets live in <home>/<set>/, as with shadowlog --home
const blocks = 127 * 64; // 64 chunks of 127 blocks (4 MiB)
const members = ['a.img', 'b.img', 'c.img'].map((name) => join(home, name));
for (const path of members) await createSparseImage(path, blocks * 512);

const store = await openEmbeddedStore(join(home, 'DSA1', 'log'), { streamId: 'DSA1' });
const access = new FileMemberAccess();
await VirtualUnit.create(store, access, { setId: 'DSA1', blocks, memberPaths: members });
const unit = await VirtualUnit.open({ store, access });
await unit.write(0, new Uint8Array(8 * 512).fill(1));
await unit.dismount('m3', 'minicopy');
await unit.write(5 * 127, new Uint8Array(512).fill(2)); // chunk 5
await unit.write(10 * 127 - 8, new Uint8Array(16 * 512).fill(3)); // chunks 9 and 10
await unit.close();
await store.close();

// Read-only, by home and name: safe while another process serves the set.
const set = await openSet({ home, set: 'DSA1', mode: 'read-only' });
const state = await set.state();
const m3 = state.set.members.find((m) => m.id === 'm3');
const marked = [...m3.bitmap.chunks.runs()];
await set.close();

// The same state straight from the log, opened read-only.
const log = await openEmbeddedStore(join(home, 'DSA1', 'log'), { readOnly: true });
const direct = summarise(await currentState(log));
await log.close();
console.log(JSON.stringify({ summary: summarise(state), direct, marked }));
`;

describe.skipIf(!npmAvailable)('the packed package', () => {
  let work: string;
  let tarball: string;
  let files: string[];

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'shadowlog-package-'));
    const source = join(work, 'source');
    const packs = join(work, 'packs');
    await copySource(source);
    await mkdir(packs);
    await npm(['pack', '--pack-destination', packs, '--silent'], source);
    const names = (await readdir(packs)).filter((n) => n.endsWith('.tgz'));
    expect(names).toHaveLength(1);
    tarball = join(packs, names[0]!);
    const { stdout } = await run('tar', ['-tzf', tarball], { maxBuffer: 64 * 1024 * 1024 });
    files = stdout.split('\n').filter((line) => line.length > 0);
  }, TIMEOUT_MS);

  afterAll(async () => {
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('holds the built entry point with its type declarations', () => {
    expect(files).toContain('package/dist/index.js');
    expect(files).toContain('package/dist/index.d.ts');
    expect(files).toContain('package/bin/shadowlog.js');
    // The dashboard's page is built by `prepare` and must ship: `shadowlog dashboard` serves it.
    expect(files).toContain('package/dist/dashboard/index.html');
    expect(files.some((f) => f.startsWith('package/test/'))).toBe(false);
  });

  it(
    "installs, and a plain .mjs file imports it from 'shadowlog': state and bitmap of a set",
    async () => {
      const scratch = join(work, 'scratch');
      await mkdir(join(scratch, 'set'), { recursive: true });
      await writeFile(
        join(scratch, 'package.json'),
        JSON.stringify({ name: 'scratch', private: true, type: 'module' }),
      );
      await npm(['install', tarball, '--prefer-offline', '--no-audit', '--no-fund', '--silent'], scratch);
      await writeFile(join(scratch, 'example.mjs'), SCRIPT);
      const { stdout } = await run(process.execPath, ['example.mjs', join(scratch, 'set')], {
        cwd: scratch,
        env: cleanEnv(),
        timeout: 60_000,
      });
      const out = JSON.parse(stdout) as {
        summary: {
          set: string;
          blocks: number;
          chunkBlocks: number;
          members: { id: string; state: string }[];
          bitmaps: { member: string; type: string; chunksMarked: number; active: boolean }[];
        };
        direct: unknown;
        marked: { first: number; count: number }[];
      };
      expect(out.summary.set).toBe('DSA1');
      expect(out.summary.blocks).toBe(127 * 64);
      expect(out.summary.chunkBlocks).toBe(127);
      expect(out.summary.members.map((m) => [m.id, m.state])).toEqual([
        ['m1', 'valid'],
        ['m2', 'valid'],
        ['m3', 'dismounted'],
      ]);
      expect(out.summary.bitmaps).toEqual([
        expect.objectContaining({ member: 'm3', type: 'minicopy', chunksMarked: 3, active: true }),
      ]);
      expect(out.direct).toEqual(out.summary);
      // Only the writes after the dismount: chunk 0 was written before m3 left.
      expect(out.marked).toEqual([
        { first: 5, count: 1 },
        { first: 9, count: 2 },
      ]);
    },
    TIMEOUT_MS,
  );
});
