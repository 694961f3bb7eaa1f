import type { Command } from 'commander';
import { formatCount } from '../../../domain/copy-planning.js';
import { resolveMember } from '../../../domain/shadow-set-decider.js';
import { ChunkHistory } from '../../../projections/chunk-history.js';
import { summarise } from '../../../projections/set-summary.js';
import { type AuditWindow, WriteAudit } from '../../../projections/write-audit.js';
import { contextOf } from '../command-context.js';
import { table } from '../output.js';
import { minimergeAt, openSetReadOnly, projectionsAt, resolvePoint } from '../set-access.js';
import { parseCount, parseLbnRange, parsePoint } from '../size-argument.js';

/** `show`, `audit` and `explain`: read-only, from the log (safe while a server runs). */
export function registerInspect(program: Command): void {
  program
    .command('show <set>')
    .description(
      'members, position and geometry; --bitmap lists the bitmaps (SHOW DEVICE/BITMAP); --at travels back',
    )
    .option('--bitmap', 'list the write bitmaps and the minimerge bitmap')
    .option('--at <position|ISO-time>', 'show the set as it was at that position or time')
    .action(async (set: string, options: { bitmap?: boolean; at?: string }, command: Command) => {
      const ctx = contextOf(command);
      const paths = ctx.paths(set);
      const store = await openSetReadOnly(paths, ctx.home);
      try {
        const at =
          options.at === undefined ? null : await resolvePoint(store, parsePoint('--at', options.at), '--at');
        const state = await projectionsAt(store, paths, at, (w) => ctx.output.note(w));
        const minimerge = await minimergeAt(store, state);
        const summary = summarise(state, minimerge?.bitmap, minimerge?.time);
        ctx.output.result(summary, () => {
          const o = ctx.output;
          o.line(`shadow set ${summary.set}${at === null ? '' : `  (as of position ${at})`}`);
          o.line(
            `  position ${summary.position}${summary.time ? ` at ${summary.time}` : ''}; last sync at position ${summary.syncedPosition ?? 'none'}`,
          );
          o.line(
            `  ${formatCount(summary.blocks)} blocks of ${summary.blockSize} bytes, chunks of ${summary.chunkBlocks} blocks`,
          );
          if (summary.merge)
            o.line(
              `  merging from ${summary.merge.source}: ${summary.merge.chunks} chunks (since position ${summary.merge.sincePosition})`,
            );
          o.line('');
          for (const line of table([
            ['member', 'state', 'since', 'path'],
            ...summary.members.map((m) => [
              m.id,
              m.state +
                (m.copyPercent === null ? '' : ` ${m.copyPercent}%`) +
                (m.error ? ` (${m.error})` : ''),
              String(m.sincePosition),
              m.path,
            ]),
          ]))
            o.line(`  ${line}`);
          if (options.bitmap) {
            o.line('');
            if (summary.bitmaps.length === 0) o.line('  no bitmaps');
            for (const line of table([
              ['member', 'type', 'since position', 'since time', 'size', 'marked', 'populated', 'active'],
              ...summary.bitmaps.map((b) => [
                b.member,
                b.type,
                String(b.sincePosition),
                b.sinceTime ?? '-',
                `${b.sizeBytes} bytes`,
                formatCount(b.chunksMarked),
                `${b.percent}%`,
                b.active ? 'yes' : 'no',
              ]),
            ]))
              o.line(`  ${line}`);
          }
        });
      } finally {
        await store.close();
      }
    });

  program
    .command('audit <set>')
    .description('the exact LBN ranges written, trimmed or zeroed in a window, merged')
    .option('--from <position|ISO-time>', 'start of the window (inclusive)')
    .option('--to <position|ISO-time>', 'end of the window (inclusive)')
    .option('--lbn <START-END>', 'only these blocks')
    .action(async (set: string, options: { from?: string; to?: string; lbn?: string }, command: Command) => {
      const ctx = contextOf(command);
      const paths = ctx.paths(set);
      const store = await openSetReadOnly(paths, ctx.home);
      try {
        const window: AuditWindow = {};
        const from = options.from === undefined ? undefined : parsePoint('--from', options.from);
        const to = options.to === undefined ? undefined : parsePoint('--to', options.to);
        const lbn = options.lbn === undefined ? undefined : parseLbnRange(options.lbn);
        Object.assign(
          window,
          from && ('position' in from ? { fromPosition: from.position } : { fromTime: from.timeMs }),
          to && ('position' in to ? { toPosition: to.position } : { toTime: to.timeMs }),
          lbn && { lbnStart: lbn.start, lbnEnd: lbn.end },
        );
        const audit = new WriteAudit(window);
        const start = window.fromPosition ?? 0;
        const end = window.toPosition === undefined ? undefined : window.toPosition + 1;
        for await (const batch of store.read(start, end)) for (const r of batch) audit.apply(r);
        const ranges = audit.result();
        ctx.output.result({ ranges }, () => {
          const blocks = ranges.reduce((n, r) => n + r.count, 0);
          ctx.output.line(
            `${ranges.length} ranges, ${formatCount(blocks)} blocks changed by ${formatCount(audit.events)} events`,
          );
          for (const line of table([
            ['lbn', 'count', 'events', 'trims', 'zeroes', 'first position', 'last position'],
            ...ranges.map((r) => [
              `${r.lbn}-${r.lbn + r.count - 1}`,
              String(r.count),
              String(r.writes),
              String(r.trims),
              String(r.zeroes),
              String(r.firstPosition),
              String(r.lastPosition),
            ]),
          ]))
            ctx.output.line(`  ${line}`);
        });
      } finally {
        await store.close();
      }
    });

  program
    .command('explain <set>')
    .description(
      'every copy and merge with its decision and reason; --chunk N: the writes that marked a chunk',
    )
    .option('--member <member>', 'only copies to this member (id or path)')
    .option('--chunk <n>', 'which write events marked chunk N, per bitmap')
    .action(async (set: string, options: { member?: string; chunk?: string }, command: Command) => {
      const ctx = contextOf(command);
      const paths = ctx.paths(set);
      const store = await openSetReadOnly(paths, ctx.home);
      try {
        const state = await projectionsAt(store, paths, null, (w) => ctx.output.note(w));
        const member = options.member === undefined ? undefined : resolveMember(state.set, options.member).id;
        const copies = state.journal.copies
          .filter((c) => member === undefined || c.member === member)
          .map((c) => ({
            member: c.member,
            kind: c.kind,
            reason: c.reason,
            policy: c.policy,
            source: c.source,
            startPosition: c.startPosition,
            startedAt: new Date(c.startedAt).toISOString(),
            chunksPlanned: c.chunksPlanned,
            bytesPlanned: c.bytesPlanned,
            chunksCopied: c.chunksDone,
            bytesCopied: c.bytesCopied,
            durationMs: c.durationMs,
            outcome: c.outcome,
            endReason: c.endReason,
          }));
        let chunk: { chunk: number; bitmaps: ReturnType<ChunkHistory['result']> } | undefined;
        if (options.chunk !== undefined) {
          const n = parseCount('--chunk', options.chunk);
          const history = new ChunkHistory(n);
          for await (const batch of store.read(0)) for (const r of batch) history.apply(r);
          chunk = {
            chunk: n,
            bitmaps: history.result().filter((b) => member === undefined || b.member === member),
          };
        }
        const merges = member === undefined ? state.journal.merges : [];
        ctx.output.result({ copies, merges, ...(chunk ? { chunk } : {}) }, () => {
          const o = ctx.output;
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
          if (chunk) {
            o.line('');
            if (chunk.bitmaps.length === 0) o.line(`chunk ${chunk.chunk} was never marked in a bitmap`);
            for (const b of chunk.bitmaps) {
              o.line(
                `chunk ${chunk.chunk} in the bitmap of ${b.member} since position ${b.sincePosition}${b.endPosition === null ? ' (live)' : ` (ended at ${b.endPosition} by ${b.endedBy})`}: ${b.marks.length + b.marksNotKept} writes`,
              );
              for (const mark of b.marks) {
                o.line(
                  `  position ${mark.position}  ${new Date(mark.recordedAt).toISOString()}  ${mark.type} LBN ${mark.lbn}-${mark.lbn + mark.count - 1}`,
                );
              }
              if (b.marksNotKept > 0) o.line(`  ... and ${b.marksNotKept} more`);
            }
          }
        });
      } finally {
        await store.close();
      }
    });
}
