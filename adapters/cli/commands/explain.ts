import { formatCount } from '../../../domain/copy-planning.js';
import { resolveMember } from '../../../domain/member-lookup.js';
import {
  type ExplainedChunk,
  type ExplainedCopy,
  explainChunk,
  explainedCopies,
} from '../../../processes/queries/chunk-story.js';
import type { CopyJournal } from '../../../projections/copy-journal.js';
import { projectionsAt } from '../../composition-root/set-store.js';
import type { CommandContext } from '../command-context.js';
import { windowTimes } from '../log-queries.js';
import { describeOrigin } from '../origin-text.js';
import type { Output } from '../output.js';
import { parsePoint, resolveWindow } from '../point-argument.js';
import { withReadOnlyLog } from '../read-only-log.js';
import { parseCount } from '../size-argument.js';

/** Options of `shadowlog explain`. */
interface ExplainOptions {
  readonly member?: string;
  readonly chunk?: string;
  readonly from?: string;
  readonly to?: string;
}

/** `shadowlog explain <set> [--member M] [--chunk N] [--from P] [--to Q]`: every copy and merge with its reason. */
export async function explain(ctx: CommandContext, set: string, options: ExplainOptions): Promise<void> {
  const paths = ctx.paths(set);
  const from = options.from === undefined ? undefined : parsePoint('--from', options.from);
  const to = options.to === undefined ? undefined : parsePoint('--to', options.to);
  const chunkNumber = options.chunk === undefined ? undefined : parseCount('--chunk', options.chunk);
  await withReadOnlyLog(ctx, paths, async (store) => {
    const resolved = await resolveWindow(store, from, to);
    const window = { ...resolved, ...(await windowTimes(store, resolved)) };
    const inWindow = (position: number) => position >= window.fromPosition && position <= window.toPosition;
    const state = await projectionsAt(store, paths, to === undefined ? null : window.toPosition, ctx.warn);
    const member = options.member === undefined ? undefined : resolveMember(state.set, options.member).id;
    const copies = explainedCopies(state.journal, member).filter((c) => inWindow(c.startPosition));
    const chunk =
      chunkNumber === undefined ? undefined : await explainChunk(store, chunkNumber, member, window);
    const merges = member === undefined ? state.journal.merges.filter((m) => inWindow(m.startPosition)) : [];
    const origin = state.set.origin;
    ctx.output.result({ window, origin, copies, merges, ...(chunk ? { chunk } : {}) }, () => {
      ctx.output.line(
        `window: positions ${window.fromPosition}-${window.toPosition} (${window.fromTime ?? '-'} to ${window.toTime ?? '-'})${window.toPosition < window.fromPosition ? ': empty' : ''}`,
      );
      ctx.output.line(describeOrigin(origin));
      printCopies(ctx.output, copies, merges);
      if (chunk) printChunk(ctx.output, chunk);
    });
  });
}

function printCopies(o: Output, copies: readonly ExplainedCopy[], merges: CopyJournal['merges']): void {
  if (copies.length === 0) o.line('no copies');
  for (const c of copies) {
    o.line(
      `${c.kind === 'mini' ? 'minicopy' : 'full copy'} to ${c.member} from ${c.source} at position ${c.startPosition} (${c.startedAt}), policy ${c.policy ?? '-'}: ${c.outcome}${c.endReason ? ` (${c.endReason})` : ''}`,
    );
    o.line(`  why: ${c.reason}`);
    o.line(
      `  planned ${formatCount(c.chunksPlanned)} chunks / ${formatCount(c.bytesPlanned)} bytes; copied ${formatCount(c.chunksCopied)} chunks / ${formatCount(c.bytesCopied)} bytes${c.durationMs === null ? '' : ` in ${c.durationMs} ms`}`,
    );
  }
  for (const m of merges) {
    o.line(
      `merge from ${m.source} at position ${m.startPosition}: ${m.chunks} chunks written since position ${m.fromPosition}: ${m.outcome}${m.durationMs === null ? '' : ` in ${m.durationMs} ms`}`,
    );
  }
}

function printChunk(o: Output, chunk: ExplainedChunk): void {
  o.line('');
  if (chunk.bitmaps.length === 0) o.line(`chunk ${chunk.chunk} was never marked in a bitmap`);
  for (const b of chunk.bitmaps) {
    o.line(
      `chunk ${chunk.chunk} in the bitmap of ${b.member} since position ${b.sincePosition}${b.endPosition === null ? ' (live)' : ` (ended at ${b.endPosition} by ${b.endedBy})`}: ${b.marks.length + b.marksNotKept} writes`,
    );
    for (const mark of b.marks) {
      o.line(
        `  position ${mark.position}  ${mark.time}  ${mark.type} LBN ${mark.lbn}-${mark.lbn + mark.count - 1}`,
      );
    }
    if (b.marksNotKept > 0) o.line(`  ... and ${b.marksNotKept} more`);
  }
}
