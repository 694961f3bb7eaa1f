import { formatCount } from '../../../domain/copy-planning.js';
import type { VerifyResult } from '../../../processes/verify/verify-members.js';
import type { CommandContext } from '../command-context.js';
import { EXIT } from '../exit-codes.js';
import { ProgressReporter } from '../progress-reporter.js';
import { throughServerOrEngine } from '../server-or-engine.js';

/** `shadowlog verify <set>`: compare the valid members; exit 9 when they differ. */
export async function verify(ctx: CommandContext, set: string): Promise<void> {
  const result: VerifyResult = await throughServerOrEngine(
    ctx,
    ctx.paths(set),
    (client) => {
      ctx.output.note(`verifying through the server (pid ${client.pid})`);
      return client.verify();
    },
    async (unit) => {
      const bar = new ProgressReporter(ctx.output, 'verify', unit.geometry.chunks);
      const r = await unit.verify((done) => bar.update(done));
      bar.stop();
      return r;
    },
  );
  ctx.output.result(
    { identical: result.identical, members: result.members, differences: result.differences },
    () => {
      if (result.identical) {
        ctx.output.line(
          `members ${result.members.join(', ')} are identical (${formatCount(result.bytes)} bytes each)`,
        );
      } else {
        ctx.output.line(
          `members ${result.members.join(', ')} differ in ${result.differences.length} ranges:`,
        );
        for (const d of result.differences)
          ctx.output.line(`  LBN ${d.lbn}-${d.lbn + d.count - 1} (${d.count} blocks)`);
      }
    },
  );
  if (!result.identical) process.exitCode = EXIT.differences;
}
