import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { flipByte, setWithHistory } from '../../support/damaged-log.js';

/**
 * `log export` end to end with the built command: a bundle answers show/replay/events as the
 * set's own log does for every position it holds, refuses positions before it (exit 3), and a
 * flipped byte in it is refused (exit 5) naming the file.
 */

/** A few CLI processes of ~1 s each on a loaded 2-core machine. */
const TIMEOUT_MS = 180_000;

/** After the fixture's dismount: m3 back by minicopy, so the log holds a whole copy. */
const MOUNT_M3 = [['mount', 'DSA1', 'm3']];

describe('incident bundles (CLI)', () => {
  it(
    'a bundle gives the same answers as the log for every position it holds; before it exits 3',
    async () => {
      const { home, run } = await setWithHistory('bundle', MOUNT_M3);
      const last =
        (JSON.parse((await run(['--json', 'replay', 'DSA1'])).stdout) as { events: number }).events - 1;
      const out = join(home, 'bundle');
      const exported = await run([
        '--json',
        'log',
        'export',
        'DSA1',
        '--from',
        '4',
        '--to',
        String(last),
        '--out',
        out,
      ]);
      expect(exported.code, exported.stderr).toBe(0);
      const doc = JSON.parse(exported.stdout) as { bundle: { logFirstPosition: number; events: number } };
      const first = doc.bundle.logFirstPosition;
      expect(first).toBeGreaterThan(0);
      expect(first).toBeLessThanOrEqual(4);
      expect(await readdir(join(out, 'log'))).toContain(`${String(first).padStart(20, '0')}.seg`);
      for (let p = first; p <= last; p++) {
        const fromSet = await run(['--json', 'show', 'DSA1', '--at', String(p)]);
        const fromBundle = await run(['--json', 'show', '--log', out, '--at', String(p)]);
        expect(fromBundle.code, fromBundle.stderr).toBe(0);
        expect(JSON.parse(fromBundle.stdout), `position ${p}`).toEqual(JSON.parse(fromSet.stdout));
      }
      const replaySet = JSON.parse((await run(['--json', 'replay', 'DSA1'])).stdout);
      const replayBundle = JSON.parse((await run(['--json', 'replay', '--log', out])).stdout);
      expect(replayBundle.summary).toEqual(replaySet.summary);
      expect(replayBundle.journal).toEqual(replaySet.journal);
      const eventsSet = (await run(['--json', 'events', 'DSA1', '--from', String(first)])).stdout;
      const eventsBundle = await run(['--json', 'events', '--log', out]);
      expect(eventsBundle.stdout).toBe(eventsSet);
      const before = await run(['show', '--log', out, '--at', String(first - 1)]);
      expect(before.code).toBe(3);
      expect(before.stderr).toContain(`holds positions ${first}-${last}`);
      const again = await run(['log', 'export', 'DSA1', '--from', '4', '--to', String(last), '--out', out]);
      expect(again.code).toBe(2);
      expect(again.stderr).toContain(out);
    },
    TIMEOUT_MS,
  );

  it(
    'a flipped byte in an event or the snapshot of a bundle is refused with exit 5 naming the file',
    async () => {
      const { home, run } = await setWithHistory('bundle', MOUNT_M3);
      for (const file of ['log', 'snapshots']) {
        const out = join(home, `bundle-${file}`);
        expect((await run(['log', 'export', 'DSA1', '--from', '4', '--to', '6', '--out', out])).code).toBe(0);
        const name = (await readdir(join(out, file))).find((n) => n.endsWith('.seg') || n.endsWith('.snap'))!;
        await flipByte(join(out, file, name), 300);
        for (const args of [
          ['replay', '--log', out],
          ['events', '--log', out],
          ['show', '--log', out, '--at', '5'],
        ]) {
          const result = await run(args);
          expect(result.code, `${args.join(' ')}: ${result.stderr}`).toBe(5);
          expect(result.stderr).toContain(name);
        }
      }
      const empty = join(home, 'empty');
      await mkdir(empty);
      await writeFile(join(empty, 'x'), '');
      expect((await run(['replay', '--log', empty])).code).toBe(3);
    },
    TIMEOUT_MS,
  );
});
