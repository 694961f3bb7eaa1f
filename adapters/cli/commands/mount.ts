import type { RecordedEvent } from '../../../domain/events.js';
import type { CopyResult } from '../../../processes/copy/copy-process.js';
import type { VirtualUnit } from '../../../processes/virtual-unit.js';
import type { ControlClient, MountPolicy } from '../../composition-root/set-control.js';
import type { CommandContext } from '../command-context.js';
import { mountDocument } from '../membership-document.js';
import { countOf } from '../number-format.js';
import { ProgressReporter } from '../progress-reporter.js';
import { throughServerOrEngine } from '../server-or-engine.js';

/** Policies of `shadowlog mount --policy`. */
export const MOUNT_POLICIES = ['minicopy', 'minicopy-optional', 'full'] as const;

/** How a copy ended, as `mount` reports it. */
type CopyOutcome = Pick<CopyResult, 'outcome' | 'bytesCopied' | 'chunksCopied' | 'reason'>;

/** Polling interval of `mount --wait` through a server. */
const POLL_INTERVAL_MS = 500;

/**
 * `shadowlog mount`: through a running server the copy runs there (reported as running, or
 * followed with `--wait`); without one it runs here, with a progress bar, until it ends.
 */
export async function mount(
  ctx: CommandContext,
  set: string,
  member: string,
  policy: MountPolicy,
  wait: boolean | undefined,
): Promise<void> {
  await throughServerOrEngine(
    ctx,
    ctx.paths(set),
    (client) => mountThroughServer(ctx, client, set, member, policy, wait === true),
    (unit) => mountHere(ctx, unit, member, policy),
  );
}

async function mountThroughServer(
  ctx: CommandContext,
  client: ControlClient,
  set: string,
  member: string,
  policy: MountPolicy,
  wait: boolean,
): Promise<void> {
  const { started } = await client.mount(member, policy);
  describeStart(ctx, started);
  if (!wait) {
    ctx.output.result(mountDocument(policy, started, { outcome: 'running' }), () =>
      ctx.output.line(
        `the copy runs in the server (pid ${client.pid}); follow it with 'shadowlog show ${set}'`,
      ),
    );
    return;
  }
  report(ctx, policy, started, await waitForCopy(ctx, client, started));
}

async function mountHere(
  ctx: CommandContext,
  unit: VirtualUnit,
  member: string,
  policy: MountPolicy,
): Promise<void> {
  const handle = await unit.mount(member, policy);
  const started = await handle.started;
  describeStart(ctx, started);
  const e = started.event as { chunks: number; bytes: number };
  const bar = new ProgressReporter(ctx.output, `copy to ${handle.member}`, e.chunks, 'chunks', chunkBytes(e));
  const sub = unit.progress$.subscribe((u) => {
    if (u.kind === 'copy' && u.member === handle.member) bar.update(u.chunksDone);
  });
  const result = await handle.done;
  sub.unsubscribe();
  bar.stop(result.chunksCopied);
  report(ctx, policy, started, {
    outcome: result.outcome,
    bytesCopied: result.bytesCopied,
    chunksCopied: result.chunksCopied,
    reason: result.reason,
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
    `${e.kind === 'mini' ? 'minicopy' : 'full copy'} of ${e.member} from ${e.source}: ${countOf(e.chunks, 'chunk')}, ${countOf(e.bytes, 'byte')} (${e.reason})`,
  );
}

function report(ctx: CommandContext, policy: MountPolicy, started: RecordedEvent, result: CopyOutcome): void {
  const e = started.event as { member: string; kind: string; reason: string };
  ctx.output.result(mountDocument(policy, started, result), () => {
    ctx.output.line(
      `${e.kind === 'mini' ? 'minicopy' : 'full copy'} to ${e.member} ${result.outcome}: ${countOf(result.chunksCopied, 'chunk')}, ${countOf(result.bytesCopied, 'byte')} copied${result.reason ? ` (${result.reason})` : ''}`,
    );
  });
  if (result.outcome !== 'completed') process.exitCode = 1;
}

async function waitForCopy(
  ctx: CommandContext,
  client: ControlClient,
  started: RecordedEvent,
): Promise<CopyOutcome> {
  const e = started.event as { member: string; chunks: number; bytes: number };
  const bar = new ProgressReporter(ctx.output, `copy to ${e.member}`, e.chunks, 'chunks', chunkBytes(e));
  // Bounded by the copy itself: it ends (completed, failed, aborted) or the server goes away.
  for (;;) {
    const state = await client.state();
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
    await new Promise((r) => setTimeout(r, POLL_INTERVAL_MS));
  }
}

/**
 * Bytes per planned chunk of a copy, for the bar's MiB/s: CopyStarted carries the planned
 * chunks and bytes (the last chunk of the volume may be short: round up).
 */
function chunkBytes(e: { chunks: number; bytes: number }): number {
  return e.chunks > 0 ? Math.ceil(e.bytes / e.chunks) : 0;
}
