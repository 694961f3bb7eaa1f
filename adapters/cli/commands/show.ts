import { InvalidArgumentError } from '../../../domain/errors.js';
import { type SetSummary, summarise } from '../../../projections/set-summary.js';
import type { CommandContext } from '../command-context.js';
import { minimergeAt, resolveBound } from '../log-queries.js';
import { countOf, formatNumber } from '../number-format.js';
import { describeOrigin } from '../origin-text.js';
import type { Output } from '../output.js';
import { table } from '../output.js';
import { parsePoint } from '../point-argument.js';
import { withOpenLog } from '../read-only-log.js';
import { openSetOrLog, requireSetName } from '../set-or-log.js';
import { showWatch } from './show-watch.js';

/** `shadowlog show <set> [--bitmap] [--at P]`: the set now or at a past point of its log. */
export async function show(
  ctx: CommandContext,
  set: string | undefined,
  options: { bitmap?: boolean; at?: string; watch?: boolean; log?: string },
): Promise<void> {
  if (options.watch) {
    if (options.at !== undefined)
      throw new InvalidArgumentError('show --watch follows the set as it is now: it takes no --at');
    await showWatch(ctx, requireSetName(set), (summary, copies) => {
      printSummary(ctx.output, summary, null);
      for (const copy of copies) ctx.output.line(`  copy to ${copy}`);
      if (options.bitmap) printBitmaps(ctx.output, summary);
    });
    return;
  }
  const source = await openSetOrLog(ctx, set, options.log);
  await withOpenLog(source.store, async (store) => {
    const at =
      options.at === undefined ? null : await resolveBound(store, parsePoint('--at', options.at), '--at');
    const state = await source.projectionsAt(at);
    const minimerge = await minimergeAt(store, state);
    const summary = summarise(state, minimerge?.bitmap, minimerge?.time);
    ctx.output.result(summary, () => {
      printSummary(ctx.output, summary, at);
      if (options.bitmap) printBitmaps(ctx.output, summary);
    });
  });
}

function printSummary(o: Output, summary: SetSummary, at: number | null): void {
  o.line(`shadow set ${summary.set}${at === null ? '' : `  (as of position ${at})`}`);
  o.line(
    `  position ${summary.position}${summary.time ? ` at ${summary.time}` : ''}; last sync at position ${summary.syncedPosition ?? 'none'}`,
  );
  o.line(
    `  ${countOf(summary.blocks, 'block')} of ${formatNumber(summary.blockSize)} bytes, chunks of ${countOf(summary.chunkBlocks, 'block')}`,
  );
  o.line(`  ${describeOrigin(summary.origin)}`);
  if (summary.merge)
    o.line(
      `  merging from ${summary.merge.source}: ${countOf(summary.merge.chunks, 'chunk')} (since position ${summary.merge.sincePosition})`,
    );
  o.line('');
  for (const line of table([
    ['member', 'state', 'since', 'path'],
    ...summary.members.map((m) => [
      m.id,
      m.state + (m.copyPercent === null ? '' : ` ${m.copyPercent}%`) + (m.error ? ` (${m.error})` : ''),
      String(m.sincePosition),
      m.path,
    ]),
  ]))
    o.line(`  ${line}`);
}

function printBitmaps(o: Output, summary: SetSummary): void {
  o.line('');
  if (summary.bitmaps.length === 0) o.line('  no bitmaps');
  for (const line of table([
    ['member', 'type', 'since position', 'since time', 'size', 'chunks marked', 'populated', 'active'],
    ...summary.bitmaps.map((b) => [
      b.member,
      b.type,
      String(b.sincePosition),
      b.sinceTime ?? '-',
      `${formatNumber(b.sizeBytes)} bytes`,
      formatNumber(b.chunksMarked),
      `${b.percent}%`,
      b.active ? 'yes' : 'no',
    ]),
  ]))
    o.line(`  ${line}`);
}
