import { checkSetLog } from '../../composition-root/set-store.js';
import type { CommandContext } from '../command-context.js';
import { EXIT } from '../exit-codes.js';
import { countOf, formatNumber } from '../number-format.js';

/** `shadowlog log check <set>`: every record's CRC; a torn tail and corruption, located. */
export async function logCheck(ctx: CommandContext, set: string): Promise<void> {
  const report = await checkSetLog(ctx.paths(set), ctx.home);
  ctx.output.result(report, () => {
    const o = ctx.output;
    o.line(
      `${report.ok ? 'ok' : 'CORRUPT'}: ${countOf(report.segments.length, 'segment')}, ${countOf(report.records, 'record')}, ${countOf(report.bytes, 'byte')} in ${report.dir}`,
    );
    const t = report.tornTail;
    if (t) {
      o.line(
        `torn tail in ${t.segment} at byte ${formatNumber(t.offset)}: ${countOf(t.bytesDropped, 'byte')}, ${countOf(t.recordsDropped, 'record')} (cut at the next open)`,
      );
    }
    for (const c of report.corruptions)
      o.line(`corruption in ${c.segment} at byte ${formatNumber(c.offset)}: ${c.message}`);
    for (const w of report.warnings) o.line(`warning: ${w}`);
  });
  if (!report.ok) process.exitCode = EXIT.corrupt;
}
