import { mkdir, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import type { VirtualUnit } from '../../../processes/virtual-unit.js';
import { summarise } from '../../../projections/set-summary.js';
import { createSet } from '../../composition-root/create-set.js';
import { withEngine } from '../../composition-root/open-set.js';
import { setPaths } from '../../composition-root/set-home.js';
import { contextOf } from '../command-context.js';
import { EXIT } from '../exit-codes.js';
import { countOf, formatNumber, isoTime } from '../number-format.js';
import type { Output } from '../output.js';
import { ProgressReporter } from '../progress-reporter.js';

const SET = 'demo';
const SIZE_BYTES = 256 * 1024 * 1024;
/** Snapshots often enough that `show --at` in the hints travels back quickly. */
const SNAPSHOT_EVERY_EVENTS = 2000;

/** Where the demo runs: its home, its member images, its clock and its random writes. */
interface DemoRun {
  readonly o: Output;
  readonly unit: VirtualUnit;
  readonly home: string;
  readonly memberDir: string;
  readonly startedMs: number;
  readonly random: (n: number) => number;
}

/** `shadowlog demo`: the whole minicopy workflow on a fresh 3-member set. */
export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description(
      'create a 3-member set, write, dismount a member with minicopy, write more, return it, explain and verify',
    )
    .action((_options: unknown, command: Command) => demo(command));
}

async function demo(command: Command): Promise<void> {
  const ctx = contextOf(command);
  const explicitHome = command.optsWithGlobals<{ home?: string }>().home ?? process.env.SHADOWLOG_HOME;
  const home = explicitHome ? resolve(explicitHome) : await mkdtemp(join(tmpdir(), 'shadowlog-demo-'));
  const startedMs = performance.now();
  const paths = setPaths(home, SET);
  const memberDir = join(home, 'members');
  await mkdir(memberDir, { recursive: true });
  const members = [1, 2, 3].map((i) => join(memberDir, `m${i}.img`));
  await createSet(paths, home, { sizeBytes: SIZE_BYTES, memberPaths: members });
  await withEngine(
    paths,
    home,
    (unit) => walkThrough({ o: ctx.output, unit, home, memberDir, startedMs, random: lcg(2026) }),
    undefined,
    { snapshotEveryEvents: SNAPSHOT_EVERY_EVENTS },
  );
}

async function walkThrough(run: DemoRun): Promise<void> {
  const { o, unit } = run;
  o.line(
    `1. created shadow set ${SET}: 3 members of ${SIZE_BYTES / 1024 / 1024} MiB (sparse images in ${run.memberDir})`,
  );
  let t = performance.now();
  await queue(2000, 16, async (i) => unit.write(run.random(SIZE_BYTES / 4096) * 8, block4k(i)));
  const big = new Uint8Array(1024 * 1024).fill(0x42);
  await queue(16, 4, async (i) => unit.write(i * 2048, big));
  o.line(
    `2. wrote 2,000 random 4 KiB blocks and 16 MiB sequentially in ${ms(t)} ms: every write is an event in the log`,
  );
  await unit.flush();
  const dismount = await unit.dismount('m3', 'minicopy');
  o.line(
    `3. dismounted m3 with policy minicopy at position ${dismount.position}: a write bitmap records what m3 misses`,
  );
  t = performance.now();
  // A hot region (the first 16 MiB) and a few scattered writes: about 2% of the chunks.
  await queue(400, 16, async (i) => unit.write(run.random(4096) * 8, block4k(100 + i)));
  await queue(40, 8, async (i) => unit.write(run.random(SIZE_BYTES / 4096) * 8, block4k(200 + i)));
  o.line(`4. wrote 440 more 4 KiB blocks while m3 was away (${ms(t)} ms)`);
  const before = summarise(unit.state).bitmaps.find((b) => b.member === 'm3')!;
  const markedChunk = unit.state.set.members[2]!.bitmap!.chunks.nextSet(0);
  o.line(
    `5. show --bitmap: m3 minicopy bitmap since position ${before.sincePosition}: ${formatNumber(before.chunksMarked)} of ${countOf(unit.geometry.chunks, 'chunk')} marked (${before.percent}%), ${countOf(before.sizeBytes, 'byte')}`,
  );
  await minicopyBack(run);
  const copy = unit.state.journal.copies.at(-1)!;
  o.line(
    `7. explain: ${copy.kind === 'mini' ? 'minicopy' : 'full copy'} to ${copy.member} because "${copy.reason}"; ${copy.outcome}`,
  );
  const verifyBar = new ProgressReporter(
    o,
    '   verify',
    unit.geometry.chunks,
    'chunks',
    unit.geometry.chunkBlocks * unit.geometry.blockSize,
  );
  const verified = await unit.verify((done) => verifyBar.update(done));
  verifyBar.stop();
  o.line(
    `8. verify: members ${verified.members.join(', ')} ${verified.identical ? 'are identical' : `DIFFER in ${countOf(verified.differences.length, 'range')}`}`,
  );
  const document = {
    home: run.home,
    set: SET,
    position: unit.state.set.position,
    dismountPosition: dismount.position,
    bitmap: before,
    // The journal keeps epoch ms; every time the CLI prints is ISO.
    copy: { ...copy, startedAt: isoTime(copy.startedAt) },
    verify: { identical: verified.identical, differences: verified.differences },
    seconds: Math.round((performance.now() - run.startedMs) / 100) / 10,
  };
  o.result(document, () => printHints(o, run.home, document.seconds, dismount.position, markedChunk));
  if (!verified.identical) process.exitCode = EXIT.differences;
}

/** Step 6: return m3 with a minicopy while applications keep writing. */
async function minicopyBack(run: DemoRun): Promise<void> {
  const { o, unit } = run;
  const t = performance.now();
  const handle = await unit.mount('m3', 'minicopy');
  const startEvent = await handle.started;
  const chunks = (startEvent.event as { chunks: number }).chunks;
  const bar = new ProgressReporter(
    o,
    '   minicopy to m3',
    chunks,
    'chunks',
    unit.geometry.chunkBlocks * unit.geometry.blockSize,
  );
  const sub = unit.progress$.subscribe((u) => {
    if (u.kind === 'copy' && u.member === 'm3') bar.update(u.chunksDone);
  });
  const during = queue(200, 8, async (i) => unit.write(run.random(SIZE_BYTES / 4096) * 8, block4k(300 + i)));
  const [result] = await Promise.all([handle.done, during]);
  sub.unsubscribe();
  bar.stop(result.chunksCopied);
  o.line(
    `6. mounted m3 with policy minicopy: copied ${countOf(result.chunksCopied, 'chunk')} (${formatNumber(result.bytesCopied)} of ${countOf(SIZE_BYTES, 'byte')}) in ${ms(t)} ms while 200 writes ran`,
  );
}

function printHints(
  o: Output,
  home: string,
  seconds: number,
  dismountPosition: number,
  markedChunk: number,
): void {
  const h = `shadowlog --home ${home}`;
  o.line('');
  o.line(`done in ${seconds} s. Explore the log (it stays in ${home}):`);
  o.line(`  ${h} show ${SET} --bitmap --at ${dismountPosition + 200}   # the bitmap while m3 was away`);
  o.line(
    `  ${h} audit ${SET} --from ${dismountPosition}            # exact LBN ranges written since the dismount`,
  );
  o.line(
    `  ${h} explain ${SET} --chunk ${markedChunk}                 # which writes marked chunk ${markedChunk}`,
  );
  o.line(`  ${h} replay ${SET}                           # rebuild every projection from the log`);
}

function block4k(seed: number): Uint8Array {
  return new Uint8Array(4096).fill(seed & 0xff);
}

/** Run `count` jobs, `depth` at a time (the queue depth of an application). */
async function queue(count: number, depth: number, work: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: depth }, async () => {
      while (next < count) await work(next++);
    }),
  );
}

/** A small seeded generator: the demo writes the same blocks every run. */
function lcg(seed: number): (n: number) => number {
  let x = seed;
  return (n) => {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    return x % n;
  };
}

function ms(since: number): number {
  return Math.round(performance.now() - since);
}
