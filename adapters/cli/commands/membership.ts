import type { Command } from 'commander';
import { InvalidArgumentError } from '../../../domain/errors.js';
import type { RecordedEvent } from '../../../domain/events.js';
import type { CopyResult } from '../../../processes/copy-process.js';
import type { ProgressUpdate } from '../../../processes/engine-context.js';
import type { SetSummary } from '../../../projections/set-summary.js';
import { ControlClient } from '../../http/control-client.js';
import { findServer } from '../../http/server-info.js';
import { type CommandContext, contextOf } from '../command-context.js';
import { ProgressReporter } from '../progress-reporter.js';
import { requireSet, withEngine } from '../set-access.js';
import type { SetPaths } from '../set-home.js';

const DISMOUNT_POLICIES = ['minicopy', 'none'] as const;
const MOUNT_POLICIES = ['minicopy', 'minicopy-optional', 'full'] as const;

/** The set's server, if one runs. */
export async function serverClient(paths: SetPaths): Promise<ControlClient | null> {
  const server = await findServer(paths);
  return server ? new ControlClient(server.info, server.token) : null;
}

/** `dismount`, `mount` and `delete-bitmap`. */
export function registerMembership(program: Command): void {
  program
    .command('dismount <set> <member>')
    .description(
      'take a member out of the set (DISMOUNT /POLICY); minicopy keeps a write bitmap for its return',
    )
    .option('--policy <policy>', 'minicopy | none', 'minicopy')
    .action(async (set: string, member: string, options: { policy: string }, command: Command) => {
      const ctx = contextOf(command);
      const policy = choice('--policy', options.policy, DISMOUNT_POLICIES);
      const paths = ctx.paths(set);
      await requireSet(paths, ctx.home);
      const client = await serverClient(paths);
      const event = client
        ? (await client.post<{ event: RecordedEvent }>('/api/dismount', { member, policy })).event
        : await withEngine(
            paths,
            ctx.home,
            (unit) => unit.dismount(member, policy),
            (w) => ctx.output.note(w),
          );
      ctx.output.result({ event }, () => {
        const e = event.event as { member: string };
        ctx.output.line(
          `${e.member} dismounted at position ${event.position} with policy ${policy}${policy === 'minicopy' ? ': write bitmap started' : ': no bitmap, its return will be a full copy'}`,
        );
      });
    });

  program
    .command('mount <set> <member>')
    .description('return a member (MOUNT /POLICY): minicopy of the marked chunks, or a full copy')
    .option('--policy <policy>', 'minicopy | minicopy-optional | full', 'minicopy-optional')
    .option('--wait', 'with a running server: wait until the copy completes, showing progress')
    .action(
      async (set: string, member: string, options: { policy: string; wait?: boolean }, command: Command) => {
        const ctx = contextOf(command);
        const policy = choice('--policy', options.policy, MOUNT_POLICIES);
        const paths = ctx.paths(set);
        await requireSet(paths, ctx.home);
        const client = await serverClient(paths);
        if (client) {
          const { started } = await client.post<{ started: RecordedEvent }>('/api/mount', { member, policy });
          describeStart(ctx, started);
          if (!options.wait) {
            ctx.output.result({ started, outcome: 'running' }, () =>
              ctx.output.line(
                `the copy runs in the server (pid ${client.pid}); follow it with 'shadowlog show ${set}'`,
              ),
            );
            return;
          }
          const result = await waitForCopy(ctx, client, started);
          report(ctx, started, result);
          return;
        }
        // No server: the copy runs here, in this process.
        await withEngine(
          paths,
          ctx.home,
          async (unit) => {
            const handle = await unit.mount(member, policy);
            const started = await handle.started;
            describeStart(ctx, started);
            const e = started.event as { chunks: number };
            const bar = new ProgressReporter(ctx.output, `copy to ${handle.member}`, e.chunks);
            const sub = unit.progress$.subscribe((u) => {
              if (u.kind === 'copy' && u.member === handle.member) bar.update(u.chunksDone);
            });
            const result = await handle.done;
            sub.unsubscribe();
            bar.stop(result.chunksCopied);
            report(ctx, started, {
              outcome: result.outcome,
              bytesCopied: result.bytesCopied,
              chunksCopied: result.chunksCopied,
              reason: result.reason,
            });
          },
          (w) => ctx.output.note(w),
        );
      },
    );

  program
    .command('delete-bitmap <set> <member>')
    .description("drop a dismounted member's write bitmap (DELETE/BITMAP): its next return is a full copy")
    .action(async (set: string, member: string, _options: unknown, command: Command) => {
      const ctx = contextOf(command);
      const paths = ctx.paths(set);
      await requireSet(paths, ctx.home);
      const client = await serverClient(paths);
      const event = client
        ? (await client.post<{ event: RecordedEvent }>('/api/delete-bitmap', { member })).event
        : await withEngine(
            paths,
            ctx.home,
            (unit) => unit.deleteBitmap(member),
            (w) => ctx.output.note(w),
          );
      ctx.output.result({ event }, () =>
        ctx.output.line(
          `bitmap of ${(event.event as { member: string }).member} deleted at position ${event.position}`,
        ),
      );
    });
}

/** `host-left`: several hosts; record that a dead host no longer serves the set. */
export function registerHostLeft(program: Command): void {
  program
    .command('host-left <set> <host>')
    .description(
      'several hosts (--node): record that a host died; its copy is aborted and nobody waits for it',
    )
    .action(async (set: string, host: string, _options: unknown, command: Command) => {
      const ctx = contextOf(command);
      const paths = ctx.paths(set);
      await requireSet(paths, ctx.home);
      const client = await serverClient(paths);
      const events = client
        ? (await client.post<{ events: RecordedEvent[] }>('/api/host-left', { host })).events
        : await withEngine(
            paths,
            ctx.home,
            (unit) => unit.hostLeft(host),
            (w) => ctx.output.note(w),
          );
      ctx.output.result({ events }, () => {
        if (events.length === 0) ctx.output.line(`${host} does not serve ${set}`);
        for (const e of events)
          ctx.output.line(
            `position ${e.position}: ${e.event.type}${'reason' in e.event ? ` (${e.event.reason})` : ''}`,
          );
      });
    });
}

function describeStart(ctx: CommandContext, started: RecordedEvent): void {
  const e = started.event as {
    member: string;
    kind: string;
    reason: string;
    chunks: number;
    bytes: number;
    source: string;
  };
  ctx.output.note(
    `${e.kind === 'mini' ? 'minicopy' : 'full copy'} of ${e.member} from ${e.source}: ${e.chunks} chunks, ${e.bytes} bytes (${e.reason})`,
  );
}

type CopyOutcome = Pick<CopyResult, 'outcome' | 'bytesCopied' | 'chunksCopied' | 'reason'>;

function report(ctx: CommandContext, started: RecordedEvent, result: CopyOutcome): void {
  const e = started.event as { member: string; kind: string; reason: string };
  ctx.output.result({ started, ...result }, () => {
    ctx.output.line(
      `${e.kind === 'mini' ? 'minicopy' : 'full copy'} to ${e.member} ${result.outcome}: ${result.chunksCopied} chunks, ${result.bytesCopied} bytes copied${result.reason ? ` (${result.reason})` : ''}`,
    );
  });
  if (result.outcome !== 'completed') process.exitCode = 1;
}

async function waitForCopy(
  ctx: CommandContext,
  client: ControlClient,
  started: RecordedEvent,
): Promise<CopyOutcome> {
  const e = started.event as { member: string; chunks: number };
  const bar = new ProgressReporter(ctx.output, `copy to ${e.member}`, e.chunks);
  // Bounded by the copy itself; polls twice a second.
  for (;;) {
    const state = await client.get<{
      summary: SetSummary;
      progress: ProgressUpdate[];
      journal: {
        copies: {
          member: string;
          startPosition: number;
          outcome: string;
          chunksDone: number;
          bytesCopied: number;
          endReason: string | null;
        }[];
      };
    }>('/api/state');
    const copy = state.journal.copies.find(
      (c) => c.member === e.member && c.startPosition === started.position,
    );
    const live = state.progress.find((p) => p.kind === 'copy' && p.member === e.member);
    bar.update(live?.chunksDone ?? copy?.chunksDone ?? 0);
    if (copy && copy.outcome !== 'running') {
      bar.stop(copy.chunksDone);
      return {
        outcome: copy.outcome as CopyOutcome['outcome'],
        bytesCopied: copy.bytesCopied,
        chunksCopied: copy.chunksDone,
        reason: copy.endReason,
      };
    }
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** Check an option against its allowed values. */
export function choice<T extends string>(name: string, value: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(value)) {
    throw new InvalidArgumentError(`${name} '${value}' is invalid: use one of ${allowed.join(', ')}`);
  }
  return value as T;
}
