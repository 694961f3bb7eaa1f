import { Hono } from 'hono';
import { resolveMember } from '../../domain/member-lookup.js';
import { chunkStory } from '../../processes/queries/chunk-story.js';
import { replayRange } from '../../processes/queries/replay-range.js';
import { WriteAudit } from '../../projections/write-audit.js';
import { eventsPage } from './events-page.js';
import { badRequest } from './http-errors.js';
import type { LogIndex } from './log-index.js';
import type { LogReader } from './log-reader.js';
import type {
  AuditAnswer,
  ChunkStoryAnswer,
  EventsAnswer,
  InfoAnswer,
  JournalAnswer,
  TimelineAnswer,
  ViewAnswer,
} from './read-api.js';
import { atParam, intParam, lbnParam, windowParams } from './read-query.js';
import { recordedAtOf, viewAnswer } from './view-answer.js';

/** Events one `GET /api/events` answers with by default, and at most. */
const EVENTS_DEFAULT = 200;
const EVENTS_MAX = 1000;
/** Timeline bins by default. */
const TIMELINE_DEFAULT_BINS = 1024;

function iso(ms: number): string | null {
  return ms > 0 ? new Date(ms).toISOString() : null;
}

/** Window ends with their times, as `audit --json` and `explain --json` print them. */
async function timedWindow(reader: LogReader, window: { fromPosition: number; toPosition: number }) {
  const empty = window.toPosition < window.fromPosition;
  return {
    ...window,
    fromTime: empty ? null : iso(await recordedAtOf(reader.store, window.fromPosition)),
    toTime: empty ? null : iso(await recordedAtOf(reader.store, window.toPosition)),
  };
}

/** The read API (read-api.ts) over `index`: every route is GET and reads only. */
export function readRoutes(reader: LogReader, index: LogIndex): Hono {
  const app = new Hono();
  const store = reader.store;
  const first = reader.firstPosition;
  app.get('/api/info', async (c) => {
    await index.ready;
    const set = index.current.set;
    const g = set.geometry;
    return c.json<InfoAnswer>({
      set: set.setId,
      readOnly: reader.engine === undefined,
      firstPosition: first,
      lastPosition: index.lastPosition,
      firstTime: iso(index.times.first),
      lastTime: iso(index.times.last),
      blockSize: g?.blockSize ?? 512,
      blocks: g?.blocks ?? 0,
      chunkBlocks: g?.chunkBlocks ?? 0,
      chunks: g?.chunks ?? 0,
    });
  });
  app.get('/api/view', async (c) => {
    const position = await atParam(index, store, first, c.req.query('at'));
    return c.json((await viewAnswer(store, position, await index.stateAt(position))) as ViewAnswer);
  });
  app.get('/api/journal', async (c) => {
    const position = await atParam(index, store, first, c.req.query('at'));
    const { state } = await index.stateAt(position);
    return c.json<JournalAnswer>({ position, journal: state.journal });
  });
  app.get('/api/timeline', async (c) => {
    const bins = intParam('bins', c.req.query('bins'), TIMELINE_DEFAULT_BINS, 1, 4096);
    await index.ready;
    return c.json<TimelineAnswer>(index.timeline(bins));
  });
  app.get('/api/events', async (c) => {
    const q = c.req.query();
    const window = await windowParams(index, store, first, q.from, q.to);
    const member = q.member === undefined ? undefined : resolveMember(index.current.set, q.member).id;
    const page = await eventsPage(store, window, {
      types: c.req.queries('type') ?? [],
      member,
      lbn: lbnParam(q.lbn),
      limit: intParam('limit', q.limit, EVENTS_DEFAULT, 1, EVENTS_MAX),
      reverse: q.reverse === 'true' || q.reverse === '1' || q.reverse === '',
    });
    return c.json(page as EventsAnswer);
  });
  app.get('/api/chunk/:chunk', async (c) => {
    await index.ready;
    const chunks = index.current.set.geometry?.chunks ?? 0;
    const chunk = intParam('chunk', c.req.param('chunk'), 0, 0, Math.max(0, chunks - 1));
    const position = await atParam(index, store, first, c.req.query('at'));
    const { state } = await index.stateAt(position);
    const window = await timedWindow(reader, { fromPosition: first, toPosition: position });
    return c.json((await chunkStory(store, state, chunk, window)) as unknown as ChunkStoryAnswer);
  });
  app.get('/api/audit', async (c) => {
    const q = c.req.query();
    const window = await timedWindow(reader, await windowParams(index, store, first, q.from, q.to));
    return c.json(await auditAnswer(reader, index, window, lbnParam(q.lbn)));
  });
  return app;
}

/** Most events one audit folds: WriteAudit holds 32 bytes per write; a longer window is narrowed. */
const AUDIT_MAX_EVENTS = 4 * 1024 * 1024;

/** The `audit --json` document of a window. */
async function auditAnswer(
  reader: LogReader,
  index: LogIndex,
  window: Awaited<ReturnType<typeof timedWindow>>,
  lbn: { start: number; end: number } | undefined,
): Promise<AuditAnswer> {
  const blocks = index.current.set.geometry?.blocks ?? 0;
  if (lbn && lbn.end >= blocks) {
    throw badRequest(
      `lbn ends at ${lbn.end}, past the end of the volume (${blocks} blocks: LBN 0-${blocks - 1})`,
    );
  }
  if (window.toPosition - window.fromPosition + 1 > AUDIT_MAX_EVENTS) {
    throw badRequest(
      `the audit window ${window.fromPosition}-${window.toPosition} is longer than ${AUDIT_MAX_EVENTS} events: narrow from/to`,
    );
  }
  const audit = new WriteAudit({
    fromPosition: window.fromPosition,
    toPosition: window.toPosition,
    ...(lbn && { lbnStart: lbn.start, lbnEnd: lbn.end }),
  });
  if (window.toPosition >= window.fromPosition) {
    await replayRange(reader.store, window.fromPosition, window.toPosition + 1, {
      onWrites: (run) => audit.applyWrites(run),
      onEvent: (recorded) => audit.apply(recorded),
    });
  }
  const ranges = audit.result();
  const changed = ranges.reduce((n, r) => n + r.count, 0);
  return { window, ranges, blocks: changed, writes: audit.events };
}
