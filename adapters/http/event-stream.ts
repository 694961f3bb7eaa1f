import type { Context } from 'hono';
import { streamSSE } from 'hono/streaming';
import type { RecordedEvent } from '../../domain/events.js';
import type { ProgressUpdate } from '../../processes/engine/progress-update.js';
import type { VirtualUnit } from '../../processes/virtual-unit.js';
import { eventView } from '../../projections/event-view.js';
import { HTTP_STATUS } from './error-status.js';
import type { LogIndex } from './log-index.js';

/** At most one `appended` message per this many ms. */
const FLUSH_MS = 100;
/** Most events in one `appended` message; more since the last flush is `lagged`. */
const MAX_BATCH_EVENTS = 1000;
/** A comment line this often keeps proxies and idle timers from closing the stream. */
const HEARTBEAT_MS = 15_000;
/** Streams open at once; one more is 503 (each holds a listener and a timer). */
const MAX_STREAMS = 64;

/** Open streams of one server, so its close can end them. */
export class StreamRegistry {
  private readonly open = new Set<() => void>();
  private closing = false;

  /** True when one more stream may open. */
  get hasRoom(): boolean {
    return !this.closing && this.open.size < MAX_STREAMS;
  }

  /** Track a stream's stop function; returns the untrack. */
  add(stop: () => void): () => void {
    this.open.add(stop);
    return () => this.open.delete(stop);
  }

  /** End every stream (the server is closing). */
  closeAll(): void {
    this.closing = true;
    for (const stop of this.open) stop();
    this.open.clear();
  }
}

/**
 * `GET /api/stream`: Server-Sent Events (read-api.ts `StreamMessages`). `ready` with
 * `{position}` first (the last position folded: everything after it will come as `appended`),
 * then `appended` batches, `progress` from a running engine, `lagged` when more than
 * MAX_BATCH_EVENTS came within one flush (the page reloads its view), and a heartbeat comment.
 */
export function eventStream(
  c: Context,
  index: LogIndex,
  streams: StreamRegistry,
  engine?: VirtualUnit,
): Response {
  if (!streams.hasRoom) {
    return c.json(
      {
        error: {
          code: 'IO_ERROR',
          message: `too many event streams open (at most ${MAX_STREAMS}); close one`,
        },
      },
      HTTP_STATUS.unavailable,
    );
  }
  return streamSSE(c, async (stream) => {
    await index.ready;
    let pending: RecordedEvent[] = [];
    let laggedTo = -1;
    const progress = new Map<string, ProgressUpdate>();
    const offAppended = index.onAppended((batch) => {
      if (laggedTo >= 0 || pending.length + batch.length > MAX_BATCH_EVENTS) {
        laggedTo = batch[batch.length - 1]?.position ?? laggedTo;
        pending = [];
        return;
      }
      for (const r of batch) pending.push(r);
    });
    const progressSubscription = engine?.progress$.subscribe((u) => progress.set(`${u.kind}:${u.member}`, u));
    let stop: () => void = () => undefined;
    const stopped = new Promise<void>((resolve) => {
      stop = resolve;
    });
    const untrack = streams.add(stop);
    stream.onAbort(stop);
    try {
      await stream.writeSSE({ event: 'ready', data: JSON.stringify({ position: index.lastPosition }) });
      let sinceBeat = 0;
      // Bounded by the connection: ends when the client leaves or the server closes.
      while (!stream.aborted) {
        const tick = await Promise.race([stream.sleep(FLUSH_MS).then(() => true), stopped.then(() => false)]);
        if (!tick) break;
        sinceBeat += FLUSH_MS;
        if (laggedTo >= 0) {
          await stream.writeSSE({ event: 'lagged', data: JSON.stringify({ position: laggedTo }) });
          laggedTo = -1;
        } else if (pending.length > 0) {
          const batch = pending;
          pending = [];
          await stream.writeSSE({ event: 'appended', data: JSON.stringify(batch.map(eventView)) });
        }
        for (const update of progress.values())
          await stream.writeSSE({ event: 'progress', data: JSON.stringify(update) });
        progress.clear();
        if (sinceBeat >= HEARTBEAT_MS) {
          sinceBeat = 0;
          await stream.write(': heartbeat\n\n');
        }
      }
    } finally {
      untrack();
      offAppended();
      progressSubscription?.unsubscribe();
    }
  });
}
