import type { Command } from 'commander';
import type { CheckpointState } from '../../../domain/checkpoint-fold.js';
import { assert } from '../../../domain/errors.js';
import type { RecordedEvent } from '../../../domain/events.js';
import { projectionsAt } from '../../composition-root/set-store.js';
import { type CommandContext, contextOf } from '../command-context.js';
import { isoTime } from '../number-format.js';
import { table } from '../output.js';
import { withReadOnlyLog } from '../read-only-log.js';
import { throughServerOrEngine } from '../server-or-engine.js';

/** A checkpoint as `--json` prints it: times are ISO strings. */
interface CheckpointDocument {
  /** The checkpoint's name; NBD offers `qemu:dirty-bitmap:<name>`. */
  readonly name: string;
  /** Writes after this position are "since the checkpoint". */
  readonly position: number;
  /** Position of its CheckpointCreated event. */
  readonly eventPosition: number;
  /** When it was recorded, ISO 8601. */
  readonly time: string;
}

/**
 * `checkpoint <set> <name>`, `checkpoint list <set>`, `checkpoint delete <set> <name>`: named
 * points of the log whose dirty bitmaps NBD serves for incremental backups.
 */
export function registerCheckpoint(program: Command): void {
  const checkpoint = program
    .command('checkpoint')
    .description(
      'name the current end of the log: NBD then serves qemu:dirty-bitmap:<name>, the chunks written since',
    )
    .argument('<set>')
    .argument('<name>')
    .action((set: string, name: string, _options: unknown, command: Command) =>
      createCheckpoint(contextOf(command), set, name),
    );
  checkpoint
    .command('list <set>')
    .description("the set's checkpoints: name, position, time")
    .action((set: string, _options: unknown, command: Command) => listCheckpoints(contextOf(command), set));
  checkpoint
    .command('delete <set> <name>')
    .description('delete a checkpoint (its bitmap is no longer offered)')
    .action((set: string, name: string, _options: unknown, command: Command) =>
      deleteCheckpoint(contextOf(command), set, name),
    );
}

async function createCheckpoint(ctx: CommandContext, set: string, name: string): Promise<void> {
  const recorded = await throughServerOrEngine(
    ctx,
    ctx.paths(set),
    async (client) => (await client.createCheckpoint(name)).event,
    (unit) => unit.createCheckpoint(name),
  );
  const document = documentOf(recorded);
  ctx.output.result({ checkpoint: document }, () =>
    ctx.output.line(
      `checkpoint ${document.name} of ${set} at position ${document.position}: qemu:dirty-bitmap:${document.name} holds every write after it`,
    ),
  );
}

async function deleteCheckpoint(ctx: CommandContext, set: string, name: string): Promise<void> {
  const recorded = await throughServerOrEngine(
    ctx,
    ctx.paths(set),
    async (client) => (await client.deleteCheckpoint(name)).event,
    (unit) => unit.deleteCheckpoint(name),
  );
  ctx.output.result({ deleted: { name, eventPosition: recorded.position } }, () =>
    ctx.output.line(`checkpoint ${name} of ${set} deleted at position ${recorded.position}`),
  );
}

async function listCheckpoints(ctx: CommandContext, set: string): Promise<void> {
  const paths = ctx.paths(set);
  const checkpoints = await withReadOnlyLog(ctx, paths, async (store) => {
    const state = await projectionsAt(store, paths, null, ctx.warn);
    return state.set.checkpoints.map(toDocument);
  });
  ctx.output.result({ checkpoints }, () => {
    if (checkpoints.length === 0) {
      ctx.output.line(`${set} has no checkpoints; create one with \`shadowlog checkpoint ${set} <name>\``);
      return;
    }
    for (const line of table([
      ['name', 'position', 'time'],
      ...checkpoints.map((c) => [c.name, String(c.position), c.time]),
    ]))
      ctx.output.line(line);
  });
}

function toDocument(c: CheckpointState): CheckpointDocument {
  return {
    name: c.name,
    position: c.position,
    eventPosition: c.eventPosition,
    time: isoTime(c.recordedAt),
  };
}

/** The document of a CheckpointCreated as recorded. */
function documentOf(recorded: RecordedEvent): CheckpointDocument {
  const event = recorded.event;
  assert(event.type === 'CheckpointCreated', `expected CheckpointCreated, got ${event.type}`);
  return toDocument({
    name: event.name,
    position: event.position,
    eventPosition: recorded.position,
    recordedAt: recorded.recordedAt,
  });
}
