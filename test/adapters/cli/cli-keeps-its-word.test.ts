import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { open, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { SHADOWLOG_BIN, shadowlog, shadowlogJson } from '../../support/run-cli.js';
import { memberArgs, suiteHome } from '../../support/suite-home.js';

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, '..', '..', '..');
const MAIN_JS = join(ROOT, 'dist', 'adapters', 'cli', 'main.js');

/**
 * Run the built CLI's `main` in a child process and report whether `@kurrent/kurrentdb-client`
 * was loaded: it is CommonJS, so every module it pulls in lands in the require cache.
 */
async function kurrentClientLoaded(args: readonly string[]): Promise<{ loaded: boolean; code: number }> {
  const script = `
    import { createRequire } from 'node:module';
    const { main } = await import(${JSON.stringify(MAIN_JS)});
    const code = await main(['node', 'shadowlog', ...${JSON.stringify(args)}]);
    const cache = Object.keys(createRequire(import.meta.url).cache);
    process.stderr.write('\\nRESULT ' + JSON.stringify({ loaded: cache.some((k) => k.includes('@kurrent')), code }) + '\\n');
    process.exit(0);
  `;
  const { stderr } = await run(process.execPath, ['--input-type=module', '-e', script], { cwd: ROOT });
  const line = stderr.split('\n').find((l) => l.startsWith('RESULT '));
  if (!line) throw new Error(`no RESULT line in: ${stderr}`);
  return JSON.parse(line.slice('RESULT '.length)) as { loaded: boolean; code: number };
}

describe('a CLI that keeps its word (built binary)', () => {
  const suite = suiteHome('word', (dir) => [
    ['create', 'TWO', '--size', '16M', ...memberArgs(dir, ['a.img', 'b.img'])],
  ]);
  const h = suite.args;

  it('--version and -V print the version of package.json and exit 0', async () => {
    const pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    for (const flag of ['--version', '-V']) {
      const result = await shadowlog([flag]);
      expect(result.code, flag).toBe(0);
      expect(result.stdout).toBe(`${pkg.version}\n`);
      expect(result.stderr).toBe('');
    }
  }, 30_000);

  it('a usage error or an unknown command: one line plus "see --help", exit 2, not the whole help', async () => {
    const cases: [string[], RegExp][] = [
      [['frobnicate'], /^error: unknown command 'frobnicate'/],
      [['create', 'X'], /^error: required option '--size/],
      // show reads a set or --log DIR: the set is checked by the command, with the same one line.
      [['show'], /^shadowlog: missing argument 'set': give a set name, or --log DIR/],
      [['show', 'TWO', '--no-such-option'], /^error: unknown option '--no-such-option'/],
    ];
    for (const [args, first] of cases) {
      const result = await shadowlog([...h(), ...args]);
      expect(result.code, args.join(' ')).toBe(2);
      const lines = result.stderr.trimEnd().split('\n');
      expect(lines[0]).toMatch(first);
      expect(lines.at(-1)).toMatch(/see 'shadowlog --help'/);
      expect(lines.length, result.stderr).toBeLessThanOrEqual(3);
      expect(result.stderr).not.toMatch(/Options:|Commands:|Usage:/);
      expect(result.stdout).toBe('');
    }
  }, 90_000);

  it('errors under --json are a JSON document on stdout with the exit code', async () => {
    const missing = await shadowlog([...h(), '--json', 'show', 'NOPE']);
    expect(missing.code).toBe(3);
    expect(JSON.parse(missing.stdout)).toEqual({
      error: {
        code: 'NOT_FOUND',
        message: expect.stringMatching(/shadow set 'NOPE' not found/),
        exitCode: 3,
      },
    });
    const usage = await shadowlog([...h(), 'frobnicate', '--json']);
    expect(usage.code).toBe(2);
    expect(JSON.parse(usage.stdout)).toEqual({
      error: { code: 'USAGE', message: "unknown command 'frobnicate'", exitCode: 2 },
    });
    const refused = await shadowlog([...h(), 'mount', 'TWO', 'm1', '--json']);
    expect(refused.code).toBe(4);
    expect(JSON.parse(refused.stdout).error).toMatchObject({ code: 'COMMAND_REJECTED', exitCode: 4 });
  }, 60_000);

  it('verify with two members says it cannot tell which copy is right, with progress in MiB/s', async () => {
    const file = await open(join(suite.dir, 'b.img'), 'r+');
    await file.write(Buffer.alloc(512 * 3, 0x77), 0, 512 * 3, 4000 * 512);
    await file.close();
    const json = await shadowlog([...h(), 'verify', 'TWO', '--json']);
    expect(json.code).toBe(9);
    expect(JSON.parse(json.stdout)).toMatchObject({
      identical: false,
      differences: [{ lbn: 4000, count: 3 }],
      outliers: {},
      blocksWithoutMajority: 3,
      advice: expect.stringContaining('shadowlog mount TWO <member> --policy full'),
    });
    const human = await shadowlog([...h(), 'verify', 'TWO']);
    expect(human.code).toBe(9);
    expect(human.stdout).toContain('members m1, m2 differ in 1 range:');
    expect(human.stdout).toContain('  LBN 4000-4002 (3 blocks)');
    expect(human.stdout).toContain('with two members verify cannot tell which copy is right (3 blocks)');
    // On a pipe: plain progress lines, counts with separators, a rate, never a made-up ETA.
    expect(human.stderr).toMatch(/verify: 100% \(\d[\d,]*\/\d[\d,]* chunks, \d+\.\d MiB\/s\)/);
    expect(human.stderr).not.toMatch(/NaN|Infinity|NFs|null/);
  }, 60_000);

  it('@kurrent/kurrentdb-client is loaded only for --store kurrentdb://', async () => {
    for (const args of [
      [...h(), 'show', 'TWO'],
      [
        ...h(),
        'create',
        'LAZY',
        '--size',
        '1M',
        '--member',
        join(suite.dir, 'l1.img'),
        '--member',
        join(suite.dir, 'l2.img'),
      ],
    ]) {
      const result = await kurrentClientLoaded(args);
      expect(result, args.join(' ')).toEqual({ loaded: false, code: 0 });
    }
    // The control: a KurrentDB store does load it (and fails: nothing listens on port 1).
    const kurrent = await kurrentClientLoaded([
      ...h(),
      '--store',
      'kurrentdb://127.0.0.1:1?tls=false',
      'show',
      'TWO',
    ]);
    expect(kurrent.loaded).toBe(true);
    expect(kurrent.code).not.toBe(0);
  }, 90_000);

  it('package.json covers every install script (allowScripts) and LICENSE is the Apache-2.0 text', async () => {
    const pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as {
      license: string;
      allowScripts: Record<string, boolean>;
    };
    expect(pkg.license).toBe('Apache-2.0');
    const license = await readFile(join(ROOT, 'LICENSE'), 'utf8');
    expect(license).toMatch(/^\s+Apache License\n\s+Version 2\.0, January 2004/);
    expect(license).toContain('END OF TERMS AND CONDITIONS');
    expect(license.length).toBeGreaterThan(10_000);
    const pending = await run('npm', ['approve-scripts', '--allow-scripts-pending'], {
      cwd: ROOT,
      timeout: 60_000,
    });
    expect(pending.stdout).toContain('No packages with unreviewed install scripts');
  }, 90_000);

  it('human output of create writes numbers with separators', async () => {
    const result = await shadowlog([
      ...h(),
      'create',
      'SEP',
      '--size',
      '16M',
      '--member',
      join(suite.dir, 's1.img'),
      '--member',
      join(suite.dir, 's2.img'),
    ]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain(
      'created shadow set SEP (16,777,216 bytes, 32,768 blocks, chunks of 127 blocks)',
    );
  }, 30_000);

  it.runIf(existsSync('/usr/bin/script'))(
    'on a terminal the bar shows MiB/s, and no time left before work starts',
    async () => {
      await shadowlogJson([
        ...h(),
        'create',
        'TTY',
        '--size',
        '16M',
        '--member',
        join(suite.dir, 't1.img'),
        '--member',
        join(suite.dir, 't2.img'),
      ]);
      // `script` gives the command a pseudo-terminal, so stderr is a TTY and the bar is drawn.
      const command = [process.execPath, SHADOWLOG_BIN, ...h(), 'verify', 'TTY']
        .map((a) => `'${a}'`)
        .join(' ');
      const { stdout } = await run('script', ['-qec', command, '/dev/null'], { timeout: 60_000 });
      // cli-progress redraws with ESC[1G (column 1) and ends each frame with ESC[0K (erase).
      const esc = String.fromCharCode(27);
      const frames = stdout
        .replaceAll(`${esc}[0K`, '')
        .replaceAll('\r', `${esc}[1G`)
        .split(`${esc}[1G`)
        .filter((f) => f.startsWith('verify ['));
      expect(frames.length).toBeGreaterThan(1);
      expect(frames[0]).toMatch(/\] 0% \| 0\/259 chunks$/);
      expect(frames.at(-1)).toMatch(/\] 100% \| 259\/259 chunks, \d+\.\d MiB\/s/);
      expect(stdout).not.toMatch(/NaN|Infinity|NFs|null/);
    },
    60_000,
  );
});
