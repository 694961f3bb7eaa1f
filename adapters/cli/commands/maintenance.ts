import { resolve } from 'node:path';
import type { Command } from 'commander';
import { formatCount } from '../../../domain/copy-planning.js';
import { InvalidArgumentError, NotFoundError } from '../../../domain/errors.js';
import type { VerifyResult } from '../../../processes/verify-members.js';
import { initialProjectedState, projectBatch } from '../../../projections/projected-state.js';
import { summarise } from '../../../projections/set-summary.js';
import { checkLog, openEmbeddedStore } from '../../store/embedded/index.js';
import { contextOf } from '../command-context.js';
import { EXIT } from '../exit-codes.js';
import { table } from '../output.js';
import { ProgressReporter } from '../progress-reporter.js';
import { minimergeAt, openSetReadOnly, requireSet, resolvePoint, withEngine } from '../set-access.js';
import { parsePoint } from '../size-argument.js';
import { serverClient } from './membership.js';

/** `replay`, `verify` and `log check`. */
export function registerMaintenance(program: Command): void {
  program
    .command('replay <set>')
    .description("rebuild every projection from the set's log, or from a copied log (--log), up to --until")
    .option('--log <path>', "a log directory copied from an incident, instead of the set's")
    .option('--until <position|ISO-time>', 'stop after this position or time')
    .action(async (set: string, options: { log?: string; until?: string }, command: Command) => {
      const ctx = contextOf(command);
      const paths = ctx.paths(set);
      const dir = options.log === undefined ? paths.log : resolve(options.log);
      const store =
        options.log === undefined
          ? await openSetReadOnly(paths, ctx.home)
          : await openEmbeddedStore(dir, { readOnly: true }).catch((error: unknown) => {
              throw error instanceof NotFoundError
                ? error
                : new NotFoundError(`cannot open log ${dir}: ${(error as Error).message}`);
            });
      try {
        const last = await store.lastPosition();
        const until =
          options.until === undefined
            ? last
            : Math.min(last, await resolvePoint(store, parsePoint('--until', options.until), '--until'));
        const state = initialProjectedState();
        const bar = new ProgressReporter(ctx.output, 'replay', until + 1, 'events');
        // Replay folds from position 0 on purpose: snapshots are not trusted here.
        for await (const batch of store.read(0, until + 1, { batchSize: 65_536 })) {
          projectBatch(state, batch);
          bar.update(state.set.position + 1);
        }
        bar.stop(until + 1);
        const minimerge = await minimergeAt(store, state);
        const summary = summarise(state, minimerge?.bitmap, minimerge?.time);
        const document = {
          log: dir,
          events: until + 1,
          writeEvents: state.set.writeEvents,
          summary,
          journal: state.journal,
        };
        ctx.output.result(document, () => {
          const o = ctx.output;
          o.line(
            `replayed ${formatCount(until + 1)} events (${formatCount(state.set.writeEvents)} writes) of ${dir}`,
          );
          o.line(
            `set ${summary.set} at position ${summary.position}${summary.time ? ` (${summary.time})` : ''}`,
          );
          for (const line of table([
            ['member', 'state', 'since', 'path'],
            ...summary.members.map((m) => [m.id, m.state, String(m.sincePosition), m.path]),
          ]))
            o.line(`  ${line}`);
          for (const b of summary.bitmaps)
            o.line(
              `  bitmap ${b.type} ${b.member}: ${b.chunksMarked} chunks marked (${b.percent}%) since position ${b.sincePosition}`,
            );
          for (const c of state.journal.copies)
            o.line(`  copy to ${c.member} at ${c.startPosition}: ${c.kind}, ${c.outcome} (${c.reason})`);
        });
      } finally {
        await store.close();
      }
    });

  program
    .command('verify <set>')
    .description(
      'compare all valid members block by block and report differing LBN ranges (online with a server)',
    )
    .action(async (set: string, _options: unknown, command: Command) => {
      const ctx = contextOf(command);
      const paths = ctx.paths(set);
      await requireSet(paths, ctx.home);
      const client = await serverClient(paths);
      let result: VerifyResult;
      if (client) {
        ctx.output.note(`verifying through the server (pid ${client.pid})`);
        result = await client.post<VerifyResult>('/api/verify', {});
      } else {
        result = await withEngine(
          paths,
          ctx.home,
          async (unit) => {
            const bar = new ProgressReporter(ctx.output, 'verify', unit.geometry.chunks);
            const r = await unit.verify((done) => bar.update(done));
            bar.stop();
            return r;
          },
          (w) => ctx.output.note(w),
        );
      }
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
    });

  program
    .command('log')
    .description('log maintenance')
    .command('check <set>')
    .description("verify every record's CRC; report a torn tail and corruption with segment and offset")
    .action(async (set: string, _options: unknown, command: Command) => {
      const ctx = contextOf(command);
      const paths = ctx.paths(set);
      await requireSet(paths, ctx.home);
      if (paths.store !== null) {
        throw new InvalidArgumentError(
          'log check verifies the embedded log; a KurrentDB stream is checked by its server (omit --store)',
        );
      }
      const report = await checkLog(paths.log);
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
    });
}
