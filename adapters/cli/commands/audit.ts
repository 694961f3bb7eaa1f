import { formatCount } from '../../../domain/copy-planning.js';
import { type AuditWindow, WriteAudit } from '../../../projections/write-audit.js';
import type { CommandContext } from '../command-context.js';
import { table } from '../output.js';
import { withReadOnlyLog } from '../read-only-log.js';
import { parseLbnRange, parsePoint } from '../size-argument.js';

/** Options of `shadowlog audit`. */
interface AuditOptions {
  readonly from?: string;
  readonly to?: string;
  readonly lbn?: string;
}

/** `shadowlog audit <set>`: the LBN ranges written, trimmed or zeroed in a window, merged. */
export async function audit(ctx: CommandContext, set: string, options: AuditOptions): Promise<void> {
  await withReadOnlyLog(ctx, ctx.paths(set), async (store) => {
    const window = auditWindow(options);
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
  });
}

function auditWindow(options: AuditOptions): AuditWindow {
  const from = options.from === undefined ? undefined : parsePoint('--from', options.from);
  const to = options.to === undefined ? undefined : parsePoint('--to', options.to);
  const lbn = options.lbn === undefined ? undefined : parseLbnRange(options.lbn);
  return Object.assign(
    {},
    from && ('position' in from ? { fromPosition: from.position } : { fromTime: from.timeMs }),
    to && ('position' in to ? { toPosition: to.position } : { toTime: to.timeMs }),
    lbn && { lbnStart: lbn.start, lbnEnd: lbn.end },
  );
}
