import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { eventView } from '../../../projections/event-view.js';
import { choice } from '../choice-argument.js';
import { type CommandContext, contextOf } from '../command-context.js';
import { dismountDocument } from '../membership-document.js';
import { isoTime } from '../number-format.js';
import { throughServerOrEngine } from '../server-or-engine.js';
import { MOUNT_POLICIES, mount } from './mount.js';

const DISMOUNT_POLICIES = ['minicopy', 'none'] as const;
/** What a member id looks like (`m1` … `m6`); anything else may be a path. */
const MEMBER_ID = /^m[0-9]+$/;

/**
 * `<member>` is its id or its path (README); the set records absolute paths, so a path given
 * relative to the operator's directory (`r2.img`) is made absolute against the CLI's cwd first.
 * An id, or a name that is no file here, is passed as given (the set then says what it has).
 */
export function memberArgument(member: string): string {
  if (MEMBER_ID.test(member)) return member;
  const absolute = resolve(member);
  return absolute !== member && existsSync(absolute) ? absolute : member;
}

/** `dismount`, `mount` and `delete-bitmap`. */
export function registerMembership(program: Command): void {
  program
    .command('dismount <set> <member>')
    .description(
      'take a member out of the set (DISMOUNT /POLICY); minicopy keeps a write bitmap for its return',
    )
    .option('--policy <policy>', 'minicopy | none', 'minicopy')
    .action((set: string, member: string, options: { policy: string }, command: Command) =>
      dismount(contextOf(command), set, memberArgument(member), options.policy),
    );

  program
    .command('mount <set> <member>')
    .description('return a member (MOUNT /POLICY): minicopy of the marked chunks, or a full copy')
    .option('--policy <policy>', 'minicopy | minicopy-optional | full', 'minicopy-optional')
    .option('--wait', 'with a running server: wait until the copy completes, showing progress')
    .action((set: string, member: string, options: { policy: string; wait?: boolean }, command: Command) =>
      mount(
        contextOf(command),
        set,
        memberArgument(member),
        choice('--policy', options.policy, MOUNT_POLICIES),
        options.wait,
      ),
    );

  program
    .command('delete-bitmap <set> <member>')
    .description("drop a dismounted member's write bitmap (DELETE/BITMAP): its next return is a full copy")
    .action((set: string, member: string, _options: unknown, command: Command) =>
      deleteBitmap(contextOf(command), set, memberArgument(member)),
    );
}

/** `host-left`: several hosts; record that a dead host no longer serves the set. */
export function registerHostLeft(program: Command): void {
  program
    .command('host-left <set> <host>')
    .description(
      'several hosts (--node): record that a host died; its copy is aborted and nobody waits for it',
    )
    .action((set: string, host: string, _options: unknown, command: Command) =>
      hostLeft(contextOf(command), set, host),
    );
}

async function dismount(ctx: CommandContext, set: string, member: string, policyText: string): Promise<void> {
  const policy = choice('--policy', policyText, DISMOUNT_POLICIES);
  const event = await throughServerOrEngine(
    ctx,
    ctx.paths(set),
    async (client) => (await client.dismount(member, policy)).event,
    (unit) => unit.dismount(member, policy),
  );
  ctx.output.result(dismountDocument(event), () => {
    const e = event.event as { member: string };
    ctx.output.line(
      `${e.member} dismounted at position ${event.position} with policy ${policy}${policy === 'minicopy' ? ': write bitmap started' : ': no bitmap, its return will be a full copy'}`,
    );
  });
}

async function deleteBitmap(ctx: CommandContext, set: string, member: string): Promise<void> {
  const event = await throughServerOrEngine(
    ctx,
    ctx.paths(set),
    async (client) => (await client.deleteBitmap(member)).event,
    (unit) => unit.deleteBitmap(member),
  );
  const deleted = {
    member: (event.event as { member: string }).member,
    eventPosition: event.position,
    time: isoTime(event.recordedAt),
  };
  ctx.output.result({ deleted }, () =>
    ctx.output.line(`bitmap of ${deleted.member} deleted at position ${deleted.eventPosition}`),
  );
}

async function hostLeft(ctx: CommandContext, set: string, host: string): Promise<void> {
  const events = await throughServerOrEngine(
    ctx,
    ctx.paths(set),
    async (client) => (await client.hostLeft(host)).events,
    (unit) => unit.hostLeft(host),
  );
  // The events as `events --json` shows them (ISO times, stable names), not raw records.
  ctx.output.result({ events: events.map(eventView) }, () => {
    if (events.length === 0) ctx.output.line(`${host} does not serve ${set}`);
    for (const e of events)
      ctx.output.line(
        `position ${e.position}: ${e.event.type}${'reason' in e.event ? ` (${e.event.reason})` : ''}`,
      );
  });
}
