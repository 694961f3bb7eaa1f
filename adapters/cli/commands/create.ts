import { resolve } from 'node:path';
import type { Command } from 'commander';
import { createSet } from '../../composition-root/create-set.js';
import { type CommandContext, contextOf } from '../command-context.js';
import { parseCount, parseSize } from '../size-argument.js';

/** Options of `shadowlog create`. */
interface CreateOptions {
  readonly size: string;
  readonly member: string[];
  readonly chunkBlocks?: string;
}

/** `shadowlog create <set> --size S --member P --member P ... [--chunk-blocks N]` */
export function registerCreate(program: Command): void {
  program
    .command('create <set>')
    .description('create a shadow set of 2-6 members (sparse image files are made where missing)')
    .requiredOption('--size <bytes|K|M|G|T>', 'volume size, e.g. 256M')
    .requiredOption('--member <path>', 'member image file or block device (repeat 2-6 times)', collect, [])
    .option('--chunk-blocks <n>', 'blocks per bitmap chunk (default 127, as OpenVMS)')
    .action((set: string, options: CreateOptions, command: Command) =>
      create(contextOf(command), set, options),
    );
}

async function create(ctx: CommandContext, set: string, options: CreateOptions): Promise<void> {
  const paths = ctx.paths(set);
  const sizeBytes = parseSize(options.size);
  const chunkBlocks =
    options.chunkBlocks === undefined ? undefined : parseCount('--chunk-blocks', options.chunkBlocks, 1);
  const members = options.member.map((m) => resolve(m));
  const created = await createSet(paths, ctx.home, { sizeBytes, chunkBlocks, memberPaths: members });
  const document = {
    set,
    home: ctx.home,
    blocks: sizeBytes / 512,
    chunkBlocks: chunkBlocks ?? 127,
    members: members.map((path, i) => ({ id: `m${i + 1}`, path, created: created.includes(path) })),
  };
  ctx.output.result(document, () => {
    ctx.output.line(
      `created shadow set ${set} (${sizeBytes} bytes, ${document.blocks} blocks, chunks of ${document.chunkBlocks} blocks)`,
    );
    for (const m of document.members)
      ctx.output.line(`  ${m.id}  ${m.path}${m.created ? '  (sparse image created)' : ''}`);
  });
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}
