import { resolve } from 'node:path';
import type { Command } from 'commander';
import type { ShadowSetCreated } from '../../../domain/events.js';
import { BLOCK_SIZE } from '../../../domain/geometry.js';
import type { CopyRecord } from '../../../projections/copy-journal.js';
import { createShadowSet } from '../../composition-root/create-set.js';
import { type CommandContext, contextOf } from '../command-context.js';
import { EXIT } from '../exit-codes.js';
import { countOf } from '../number-format.js';
import { describeOrigin } from '../origin-text.js';
import { ProgressReporter } from '../progress-reporter.js';
import { parseCount, parseVolumeSize } from '../size-argument.js';

/** Options of `shadowlog create`. */
interface CreateOptions {
  readonly size: string;
  readonly member: string[];
  readonly chunkBlocks?: string;
  readonly assumeClean?: boolean;
}

/** `shadowlog create <set> --size S --member P --member P ... [--chunk-blocks N] [--assume-clean]` */
export function registerCreate(program: Command): void {
  program
    .command('create <set>')
    .description(
      'create a shadow set of 2-6 members (sparse image files are made where missing); members that may differ from the first get a full copy from it',
    )
    .requiredOption('--size <bytes|K|M|G|T>', 'volume size, e.g. 256M')
    .requiredOption('--member <path>', 'member image file or block device (repeat 2-6 times)', collect, [])
    .option('--chunk-blocks <n>', 'blocks per bitmap chunk (default 127, as OpenVMS)')
    .option(
      '--assume-clean',
      'the existing members already hold the same data: skip the initial copy (recorded in the log)',
    )
    .action((set: string, options: CreateOptions, command: Command) =>
      create(contextOf(command), set, options),
    );
}

async function create(ctx: CommandContext, set: string, options: CreateOptions): Promise<void> {
  const paths = ctx.paths(set);
  const sizeBytes = parseVolumeSize(options.size);
  const chunkBlocks =
    options.chunkBlocks === undefined ? undefined : parseCount('--chunk-blocks', options.chunkBlocks, 1);
  const members = options.member.map((m) => resolve(m));
  const bar = new InitialCopyBar(ctx);
  const result = await createShadowSet(
    paths,
    ctx.home,
    { sizeBytes, chunkBlocks, memberPaths: members, assumeClean: options.assumeClean === true },
    {
      onRecorded: (event) => bar.start(event),
      onProgress: (u) => bar.update(u.member, u.chunksDone),
      onWarning: ctx.warn,
    },
  );
  bar.stop();
  const origin = result.event.origin!;
  const copies = result.copies.map((c) => ({
    member: c.member,
    source: c.source,
    reason: c.reason,
    chunksCopied: c.chunksDone,
    bytesCopied: c.bytesCopied,
    outcome: c.outcome,
    endReason: c.endReason,
  }));
  const document = {
    set,
    home: ctx.home,
    blocks: sizeBytes / 512,
    chunkBlocks: chunkBlocks ?? 127,
    members: members.map((path, i) => ({ id: `m${i + 1}`, path, created: result.created.includes(path) })),
    origin,
    copies,
  };
  ctx.output.result(document, () => {
    ctx.output.line(
      `created shadow set ${set} (${countOf(sizeBytes, 'byte')}, ${countOf(document.blocks, 'block')}, chunks of ${countOf(document.chunkBlocks, 'block')})`,
    );
    for (const m of document.members)
      ctx.output.line(`  ${m.id}  ${m.path}${m.created ? '  (sparse image created)' : ''}`);
    ctx.output.line(`  ${describeOrigin(origin)}`);
    for (const c of result.copies) ctx.output.line(`  ${describeCopy(c)}`);
  });
  if (copies.some((c) => c.outcome !== 'completed')) {
    ctx.output.note(
      `the set exists but its mirror is not complete: see 'shadowlog explain ${set}'; return a member with 'shadowlog mount ${set} <member> --policy full'`,
    );
    process.exitCode = EXIT.failure;
  }
}

function describeCopy(c: CopyRecord): string {
  return `initial copy to ${c.member} from ${c.source} ${c.outcome}: ${countOf(c.chunksDone, 'chunk')}, ${countOf(c.bytesCopied, 'byte')}${c.endReason ? ` (${c.endReason})` : ''}`;
}

/** One progress bar over every initial copy (they may run side by side), made once the event is recorded. */
class InitialCopyBar {
  private reporter: ProgressReporter | null = null;
  private readonly done = new Map<string, number>();

  constructor(private readonly ctx: CommandContext) {}

  /** ShadowSetCreated is recorded: a bar over the chunks of every member owed a copy. */
  start(event: ShadowSetCreated): void {
    const copied = event.origin?.copied ?? [];
    if (copied.length === 0) return;
    const chunks = Math.ceil(event.blocks / event.chunkBlocks);
    this.reporter = new ProgressReporter(
      this.ctx.output,
      `initial copy to ${copied.join(', ')}`,
      chunks * copied.length,
      'chunks',
      event.chunkBlocks * BLOCK_SIZE,
    );
  }

  update(member: string, chunksDone: number): void {
    this.done.set(member, chunksDone);
    this.reporter?.update(this.total());
  }

  stop(): void {
    this.reporter?.stop(this.total());
    this.reporter = null;
  }

  private total(): number {
    let total = 0;
    for (const n of this.done.values()) total += n;
    return total;
  }
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}
