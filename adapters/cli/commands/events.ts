import { resolve } from 'node:path';
import type { Command } from 'commander';
import { InvalidArgumentError, NotFoundError } from '../../../domain/errors.js';
import type { RecordedEvent } from '../../../domain/events.js';
import type { EventStore } from '../../../domain/ports/event-store.js';
import { type EventCriteria, matchesEvent, parseEventTypes } from '../../../projections/event-filter.js';
import { eventLine, eventView } from '../../../projections/event-view.js';
import type { LogSource } from '../../composition-root/incident-bundle-source.js';
import { type CommandContext, contextOf } from '../command-context.js';
import { EventSink } from '../event-sink.js';
import { refuseBoundPastDamage } from '../log-queries.js';
import { POINT_FORMS, parsePoint, resolveWindow } from '../point-argument.js';
import { withOpenLog } from '../read-only-log.js';
import { openSetOrLog } from '../set-or-log.js';
import { parseCount, parseLbnRange } from '../size-argument.js';
import { followEvents } from './events-follow.js';

/** Options of `shadowlog events`. */
interface EventsOptions {
  readonly from?: string;
  readonly to?: string;
  readonly type: string[];
  readonly member?: string;
  readonly lbn?: string;
  readonly limit?: string;
  readonly reverse?: boolean;
  readonly follow?: boolean;
  readonly log?: string;
}

/** Events per read: bounds what `events` holds in memory whatever the log's length. */
export const EVENTS_BATCH = 4096;

/** `shadowlog events`: the log's events, filtered, one a line. */
export function registerEvents(program: Command): void {
  program
    .command('events [set]')
    .description('the events of the log, one a line (--json: JSON lines); filters; --follow for new ones')
    .option('--from <point>', `first event: ${POINT_FORMS}`)
    .option('--to <point>', 'last event (same forms as --from)')
    .option(
      '--type <type>',
      'only these types (repeatable): writes, membership, copies, merges, sync, checkpoints or an exact type',
      (value: string, previous: string[]) => [...previous, value],
      [],
    )
    .option('--member <member>', 'only events naming this member (id or path)')
    .option('--lbn <START-END>', 'only writes, trims and zeroes touching these blocks')
    .option('--limit <n>', 'print at most N events')
    .option('--reverse', 'newest first')
    .option('--follow', 'after the existing events, print new ones as they are appended, until interrupted')
    .option('--log <dir>', 'read a log folder or an incident bundle (log export) instead of a set')
    .action((set: string | undefined, options: EventsOptions, command: Command) =>
      events(contextOf(command), set, options),
    );
}

/** `shadowlog events <set>`. */
export async function events(
  ctx: CommandContext,
  set: string | undefined,
  options: EventsOptions,
): Promise<void> {
  const from = options.from === undefined ? undefined : parsePoint('--from', options.from);
  const to = options.to === undefined ? undefined : parsePoint('--to', options.to);
  const limit =
    options.limit === undefined ? Number.POSITIVE_INFINITY : parseCount('--limit', options.limit, 1);
  if (options.follow && (options.reverse || to !== undefined)) {
    throw new InvalidArgumentError(
      '--follow prints new events as they come: it takes neither --reverse nor --to',
    );
  }
  const types = options.type.length > 0 ? parseEventTypes(options.type) : undefined;
  const lbn = options.lbn === undefined ? undefined : parseLbnRange(options.lbn);
  const sink = new EventSink();
  const format = ctx.output.json
    ? (r: RecordedEvent) => JSON.stringify(eventView(r))
    : (r: RecordedEvent) => eventLine(r);
  const source: LogSource = await openSetOrLog(ctx, set, options.log);
  await withOpenLog(source.store, async (store) => {
    const member = options.member === undefined ? undefined : await memberId(source, options.member);
    const criteria: EventCriteria = {
      ...(types && { types }),
      ...(member && { member }),
      ...(lbn && { lbn }),
    };
    // A log damaged after --to reads up to it; without --to, or --to at or past the damage: exit 5.
    if (to !== undefined) await refuseBoundPastDamage(store, to, '--to');
    const resolved = await resolveWindow(store, from, to);
    // A bundle's log starts at its window: the events from the start are its events.
    const window = { ...resolved, fromPosition: Math.max(resolved.fromPosition, source.firstPosition) };
    const print = async (r: RecordedEvent) => {
      await sink.line(format(r));
    };
    if (options.follow) {
      await followEvents(store, window.fromPosition, criteria, limit, print, () => sink.closed);
      return;
    }
    // A window past the end of the log (or before its start) is empty, not an error.
    if (window.toPosition < window.fromPosition) return;
    const batches = options.reverse
      ? readBackwards(store, window.fromPosition, window.toPosition)
      : store.read(window.fromPosition, window.toPosition + 1, { batchSize: EVENTS_BATCH });
    let printed = 0;
    for await (const batch of batches) {
      for (const r of batch) {
        if (printed >= limit || sink.closed) return;
        if (!matchesEvent(r, criteria)) continue;
        await print(r);
        printed++;
      }
    }
  });
}

/** Batches of `[from, to]`, newest first, each reversed: at most one batch in memory. */
async function* readBackwards(
  store: EventStore,
  from: number,
  to: number,
): AsyncIterable<readonly RecordedEvent[]> {
  // Bounded: each pass moves `high` down by one batch.
  for (let high = to + 1; high > from; high -= EVENTS_BATCH) {
    const low = Math.max(from, high - EVENTS_BATCH);
    const slice: RecordedEvent[] = [];
    for await (const batch of store.read(low, high, { batchSize: EVENTS_BATCH })) slice.push(...batch);
    yield slice.reverse();
  }
}

/** The id of a member named by id or path, from the set's first event (a bundle: its first state). */
async function memberId(source: LogSource, name: string): Promise<string> {
  if (source.firstPosition > 0) {
    const state = await source.startState();
    const found = state.set.members.find((m) => m.id === name || m.path === name || m.path === resolve(name));
    if (found) return found.id;
    const known = state.set.members.map((m) => `${m.id} (${m.path})`).join(', ');
    throw new NotFoundError(`member '${name}' is not in shadow set ${state.set.setId}; members: ${known}`);
  }
  const store = source.store;
  for await (const batch of store.read(0, 1)) {
    const created = batch[0]?.event;
    if (created?.type !== 'ShadowSetCreated') break;
    // A relative path resolves against the working directory, as the paths given to create did.
    const found = created.members.find((m) => m.id === name || m.path === name || m.path === resolve(name));
    if (found) return found.id;
    const known = created.members.map((m) => `${m.id} (${m.path})`).join(', ');
    throw new NotFoundError(`member '${name}' is not in shadow set ${created.setId}; members: ${known}`);
  }
  throw new NotFoundError(`the log has no ShadowSetCreated at position 0: cannot resolve member '${name}'`);
}
