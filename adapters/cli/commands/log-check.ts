import { formatCount } from '../../../domain/copy-planning.js';
import { checkSetLog } from '../../composition-root/set-store.js';
import type { CommandContext } from '../command-context.js';
import { EXIT } from '../exit-codes.js';

/** `shadowlog log check <set>`: every record's CRC; a torn tail and corruption, located. */
export async function logCheck(ctx: CommandContext, set: string): Promise<void> {
  const report = await checkSetLog(ctx.paths(set), ctx.home);
  ctx.output.result(report, () => {
    const o = ctx.output;
    o.line(
      `${report.ok ? 'ok' : 'CORRUPT'}: ${report.segments.length} segments, ${formatCount(report.records)} records, ${formatCount(report.bytes)} bytes in ${report.dir}`,
    );
    const t = report.tornTail;
    if (t) {
      o.line(
        `torn tail in ${t.segment} at byte ${t.offset}: ${t.bytesDropped} bytes, ${t.recordsDropped} records (cut at the next open)`,
      );
    }
    for (const c of report.corruptions)
      o.line(`corruption in ${c.segment} at byte ${c.offset}: ${c.message}`);
    for (const w of report.warnings) o.line(`warning: ${w}`);
  });
  if (!report.ok) process.exitCode = EXIT.corrupt;
}
