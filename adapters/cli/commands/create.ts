import { mkdir, rm, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { CommandRejectedError } from '../../../domain/errors.js';
import { VirtualUnit } from '../../../processes/virtual-unit.js';
import { FileMemberAccess } from '../../devices/file-member-access.js';
import { createSparseImage } from '../../devices/sparse-image.js';
import { contextOf } from '../command-context.js';
import { openSetStore } from '../set-access.js';
import { parseCount, parseSize } from '../size-argument.js';

/** `shadowlog create <set> --size S --member P --member P ... [--chunk-blocks N]` */
export function registerCreate(program: Command): void {
  program
    .command('create <set>')
    .description('create a shadow set of 2-6 members (sparse image files are made where missing)')
    .requiredOption('--size <bytes|K|M|G|T>', 'volume size, e.g. 256M')
    .requiredOption('--member <path>', 'member image file or block device (repeat 2-6 times)', collect, [])
    .option('--chunk-blocks <n>', 'blocks per bitmap chunk (default 127, as OpenVMS)')
    .action(
      async (
        set: string,
        options: { size: string; member: string[]; chunkBlocks?: string },
        command: Command,
      ) => {
        const ctx = contextOf(command);
        const paths = ctx.paths(set);
        const sizeBytes = parseSize(options.size);
        const chunkBlocks =
          options.chunkBlocks === undefined
            ? undefined
            : parseCount('--chunk-blocks', options.chunkBlocks, 1);
        const members = options.member.map((m) => resolve(m));
        if (await exists(paths.store === null ? paths.log : paths.dir)) {
          throw new CommandRejectedError(
            `shadow set '${set}' exists already in ${ctx.home}; pick another name or --home`,
          );
        }
        if (members.length < 2 || members.length > 6) {
          throw new CommandRejectedError(`a shadow set has 2 to 6 members; ${members.length} --member given`);
        }
        // Nothing is left behind when creation fails: no set directory, no new image files.
        const created: string[] = [];
        await mkdir(paths.dir, { recursive: true });
        try {
          const store = await openSetStore(paths);
          try {
            for (const path of members) if (await createSparseImage(path, sizeBytes)) created.push(path);
            await VirtualUnit.create(store, new FileMemberAccess(), {
              setId: set,
              blocks: sizeBytes / 512,
              chunkBlocks,
              memberPaths: members,
            });
          } finally {
            await store.close();
          }
        } catch (error) {
          await rm(paths.dir, { recursive: true, force: true });
          for (const path of created) await rm(path, { force: true });
          throw error;
        }
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
      },
    );
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}
