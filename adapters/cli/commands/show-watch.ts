import { liveProjection } from '../../../processes/queries/live-projection.js';
import type { CopyJournal } from '../../../projections/copy-journal.js';
import type { ProjectedState } from '../../../projections/projected-state.js';
import { type SetSummary, summarise } from '../../../projections/set-summary.js';
import { projectionsAt } from '../../composition-root/set-store.js';
import type { CommandContext } from '../command-context.js';
import { countOf } from '../number-format.js';
import { withReadOnlyLog } from '../read-only-log.js';
import { type CopyRates, copyRateText } from './show-watch-rate.js';

/** Fewest milliseconds between two redraws on a terminal: a busy set must not flood it. */
const REDRAW_INTERVAL_MS = 250;

/**
 * `show --watch`: follow the log read-only (with or without a server) and show the set as it
 * changes. On a terminal the `show` view is redrawn (at most every 250 ms); on a pipe, one
 * compact line per change of members, bitmaps or copy progress. Ends on SIGINT/SIGTERM (exit 0).
 */
export async function showWatch(
  ctx: CommandContext,
  set: string,
  draw: (summary: SetSummary, copies: string[]) => void,
): Promise<void> {
  const paths = ctx.paths(set);
  const tty = process.stdout.isTTY === true && !ctx.output.json;
  await withReadOnlyLog(ctx, paths, async (store) => {
    const from = await projectionsAt(store, paths, null, ctx.warn);
    const rates: CopyRates = new Map();
    let lastKey = '';
    let lastDrawMs = 0;
    const onState = (state: ProjectedState) => {
      const summary = summarise(state);
      const copies = runningCopies(state.journal, rates);
      if (tty) {
        if (Date.now() - lastDrawMs < REDRAW_INTERVAL_MS) return;
        lastDrawMs = Date.now();
        process.stdout.write('\x1b[H\x1b[2J');
        draw(summary, copies);
        return;
      }
      const key = changeKey(summary, copies);
      if (key === lastKey) return;
      lastKey = key;
      if (ctx.output.json) process.stdout.write(`${JSON.stringify({ ...summary, copies })}\n`);
      else process.stdout.write(`${compactLine(summary, copies)}\n`);
    };
    await new Promise<void>((resolve, reject) => {
      const subscription = liveProjection(store, { from }).subscribe({
        next: onState,
        error: reject,
        complete: resolve,
      });
      const stop = () => {
        subscription.unsubscribe();
        resolve();
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
  });
}

/** Each running copy as `m2 copying 42.0% 12.5 MiB/s ETA 8s`. */
function runningCopies(journal: CopyJournal, rates: CopyRates): string[] {
  return journal.copies
    .filter((c) => c.outcome === 'running')
    .map((c) => `${c.member} ${copyRateText(rates, c.member, c.bytesCopied, c.bytesPlanned, Date.now())}`);
}

/** What counts as a change on a pipe: member states, bitmaps, copy progress, not every write. */
function changeKey(summary: SetSummary, copies: readonly string[]): string {
  const members = summary.members.map((m) => `${m.id}:${m.state}:${m.copyPercent ?? ''}`).join(',');
  const bitmaps = summary.bitmaps.map((b) => `${b.member}:${b.type}:${b.active}`).join(',');
  return `${members}|${bitmaps}|${copies.map((c) => c.split(' ').slice(0, 3).join(' ')).join(',')}`;
}

/** One line per change: position, time, every member's state, the bitmaps and running copies. */
export function compactLine(summary: SetSummary, copies: readonly string[]): string {
  const members = summary.members
    .map((m) => `${m.id} ${m.state}${m.copyPercent === null ? '' : ` ${m.copyPercent}%`}`)
    .join(', ');
  const bitmaps = summary.bitmaps
    .map((b) => `${b.member} ${countOf(b.chunksMarked, 'chunk')} marked`)
    .join(', ');
  return [
    `${summary.time ?? '-'} position ${summary.position}`,
    `members: ${members}`,
    ...(bitmaps ? [`bitmaps: ${bitmaps}`] : []),
    ...(copies.length > 0 ? [`copies: ${copies.join(', ')}`] : []),
  ].join('; ');
}
