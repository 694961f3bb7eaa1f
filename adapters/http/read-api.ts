import type { ProgressUpdate } from '../../processes/engine/progress-update.js';
import type { CopyJournal } from '../../projections/copy-journal.js';
import type { EventView } from '../../projections/event-view.js';
import type { SetSummary } from '../../projections/set-summary.js';

/**
 * The read API the dashboard and scripts use (documented in README "Dashboard"). Every route
 * is GET under /api and needs the set's token like the control API: `Authorization: Bearer
 * <token>`, or `?token=<token>` where a header cannot be set (EventSource). The page itself and
 * its modules (`/`, `/assets/*`) hold no data and are served without it; the page reads the
 * token from its URL fragment (`#token=...`), which a browser never sends to a server.
 *
 * Points (`at`, `from`, `to`, `a`, `b`) take the CLI's time forms: a position, an ISO-8601 time
 * with a zone, or a relative time (`-15m`).
 *
 * Bitmaps travel as runs, never one number per chunk: a 2 TiB set has 34M chunks.
 */

/** `GET /api/info`: what the page needs once. */
export interface InfoAnswer {
  /** The set's name. */
  readonly set: string;
  /** True for `shadowlog dashboard` (no engine: no control routes, no progress). */
  readonly readOnly: boolean;
  /** First position the log (or the incident bundle) holds. */
  readonly firstPosition: number;
  /** Last position, -1 when empty. */
  readonly lastPosition: number;
  /** recordedAt of the first event, ISO; null when empty. */
  readonly firstTime: string | null;
  /** recordedAt of the last event, ISO; null when empty. */
  readonly lastTime: string | null;
  /** Bytes per block. */
  readonly blockSize: number;
  /** Volume size in blocks. */
  readonly blocks: number;
  /** Blocks per chunk. */
  readonly chunkBlocks: number;
  /** Chunks in the volume. */
  readonly chunks: number;
}

/** A bitmap as runs of marked chunks. */
export interface BitmapRuns {
  /** The member the bitmap belongs to (the merge source for a minimerge bitmap). */
  readonly member: string;
  /** `minicopy` write bitmap, or `minimerge`. */
  readonly type: 'minicopy' | 'minimerge';
  /** Position of the event that started it. */
  readonly sincePosition: number;
  /** Chunks marked. */
  readonly chunksMarked: number;
  /** Marked chunks as `[firstChunk, chunkCount, firstChunk, chunkCount, ...]`, ascending, non-adjacent. */
  readonly runs: readonly number[];
}

/** `GET /api/view?at=P`: everything one slider position shows, in one answer. */
export interface ViewAnswer {
  /** The position resolved from `at` (the last event at or before it). */
  readonly position: number;
  /** The event at that position, null before the first. */
  readonly event: EventView | null;
  /** The `show --json` document at that position. */
  readonly summary: SetSummary;
  /** Every bitmap live at that position. */
  readonly bitmaps: readonly BitmapRuns[];
  /** The copy journal at that position. */
  readonly journal: CopyJournal;
}

/** `GET /api/events?from&to&type&member&lbn&limit&reverse`: a page of events, filters as `shadowlog events`. */
export interface EventsAnswer {
  /** Matching events, in the order asked. */
  readonly events: readonly EventView[];
  /** Where the next page starts (give it as `from`, or `to` with `reverse`); null at the end. */
  readonly next: number | null;
}

/** One bin of the timeline. */
export interface TimelineBin {
  /** First position in the bin. */
  readonly from: number;
  /** Last position in the bin. */
  readonly to: number;
  /** recordedAt of the bin's first event, ISO. */
  readonly time: string;
  /** Write, trim and zero events in the bin. */
  readonly writes: number;
}

/** A non-write event shown as a marker. */
export interface TimelineMarker {
  /** Its position. */
  readonly position: number;
  /** recordedAt, ISO. */
  readonly time: string;
  /** Event type. */
  readonly type: string;
  /** The member it concerns, if any. */
  readonly member: string | null;
  /** Its one-line human form (`shadowlog events`). */
  readonly text: string;
}

/** `GET /api/timeline?bins=N` (N ≤ 4096): write density and markers over the whole log. */
export interface TimelineAnswer {
  /** First position. */
  readonly firstPosition: number;
  /** Last position. */
  readonly lastPosition: number;
  /** Bins of equal position width, oldest first. */
  readonly bins: readonly TimelineBin[];
  /** Every non-write event (bounded: at most 10,000, the most recent kept; `markersDropped` counts the rest). */
  readonly markers: readonly TimelineMarker[];
  /** Markers left out by the bound. */
  readonly markersDropped: number;
}

/**
 * `GET /api/chunk/:chunk?at=P`: the chunk's story up to P, the `explain --chunk --json` document
 * (which writes marked it in which bitmap, which copy cleared it and why).
 */
export type ChunkStoryAnswer = Readonly<Record<string, unknown>>;

/** `GET /api/audit?from&to&member&lbn`: the `audit --json` document of the window. */
export type AuditAnswer = Readonly<Record<string, unknown>>;

/** `GET /api/journal?at=P`: the copy journal at P. */
export interface JournalAnswer {
  /** The position resolved from `at`. */
  readonly position: number;
  /** The journal. */
  readonly journal: CopyJournal;
}

/**
 * `GET /api/stream` (Server-Sent Events, `text/event-stream`): `event: appended` with
 * `data: EventView[]` (new events, oldest first), `event: progress` with `data: ProgressUpdate` for copy,
 * merge and verify progress (a running engine only). A heartbeat comment every 15 s keeps
 * proxies from closing it. Appended events are batched (at most one message per 100 ms, at most
 * 1,000 events in it; more sets `event: lagged` with `data: {position}` and the page reloads its
 * view) so a busy set does not flood the page.
 */
export interface StreamMessages {
  /** New events, oldest first. */
  readonly appended: readonly EventView[];
  /** A progress update. */
  readonly progress: ProgressUpdate;
}

/** The error document every route answers with on failure (status from error-status.ts). */
export interface ErrorAnswer {
  /** Stable error code. */
  readonly error: { readonly code: string; readonly message: string };
}
