import type { VerifyResult } from '../../../processes/verify/verify-members.js';
import type { CommandContext } from '../command-context.js';
import { EXIT } from '../exit-codes.js';
import { countOf, formatNumber } from '../number-format.js';
import { ProgressReporter } from '../progress-reporter.js';
import { throughServerOrEngine } from '../server-or-engine.js';
import { withServerVerifyProgress } from '../server-verify-progress.js';

/** Differing ranges listed in human output; --json has them all. */
const MAX_RANGES_SHOWN = 20;

/** `shadowlog verify <set>`: compare the valid members; exit 9 when they differ. */
export async function verify(ctx: CommandContext, set: string): Promise<void> {
  const result: VerifyResult = await throughServerOrEngine(
    ctx,
    ctx.paths(set),
    (client) => {
      ctx.output.note(`verifying through the server (pid ${client.pid})`);
      return withServerVerifyProgress(ctx.output, client, client.verify());
    },
    async (unit) => {
      const g = unit.geometry;
      const bar = new ProgressReporter(ctx.output, 'verify', g.chunks, 'chunks', g.chunkBlocks * g.blockSize);
      const r = await unit.verify((done) => bar.update(done));
      bar.stop();
      return r;
    },
  );
  const advice = adviceFor(set, result);
  ctx.output.result(
    {
      identical: result.identical,
      members: result.members,
      bytes: result.bytes,
      differences: result.differences,
      outliers: result.outliers,
      blocksWithoutMajority: result.blocksWithoutMajority,
      advice,
    },
    () => printHuman(ctx, result, advice),
  );
  if (!result.identical) process.exitCode = EXIT.differences;
}

function printHuman(ctx: CommandContext, result: VerifyResult, advice: string | null): void {
  const members = result.members.join(', ');
  if (result.identical) {
    ctx.output.line(`members ${members} are identical (${formatNumber(result.bytes)} bytes each)`);
    return;
  }
  ctx.output.line(`members ${members} differ in ${countOf(result.differences.length, 'range')}:`);
  for (const d of result.differences.slice(0, MAX_RANGES_SHOWN)) {
    ctx.output.line(`  LBN ${d.lbn}-${d.lbn + d.count - 1} (${countOf(d.count, 'block')})`);
  }
  const hidden = result.differences.length - MAX_RANGES_SHOWN;
  if (hidden > 0) ctx.output.line(`  ... and ${countOf(hidden, 'more range')} (--json lists them all)`);
  for (const [member, blocks] of Object.entries(result.outliers)) {
    ctx.output.line(`${member} differs from the majority in ${countOf(blocks, 'block')}`);
  }
  if (result.blocksWithoutMajority > 0) {
    ctx.output.line(
      result.members.length === 2
        ? `with two members verify cannot tell which copy is right (${countOf(result.blocksWithoutMajority, 'block')})`
        : `no majority agrees on ${countOf(result.blocksWithoutMajority, 'block')}: verify cannot tell which copy is right there`,
    );
  }
  if (advice) ctx.output.line(advice);
}

/**
 * What the operator does next. A member outside the majority is rebuilt from the others by a
 * full copy; without a majority only the operator can judge which member is wrong.
 */
function adviceFor(set: string, result: VerifyResult): string | null {
  if (result.identical) return null;
  const suspects = Object.keys(result.outliers);
  if (suspects.length > 0 && result.blocksWithoutMajority === 0) {
    return `to repair: ${suspects
      .map((m) => `shadowlog dismount ${set} ${m} && shadowlog mount ${set} ${m} --policy full`)
      .join('; ')}`;
  }
  return `to repair: check the members (e.g. with the application or 'cmp'), then dismount the wrong one and mount it back: shadowlog dismount ${set} <member> && shadowlog mount ${set} <member> --policy full`;
}
