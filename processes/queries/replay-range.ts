import { isWriteEvent, type RecordedEvent, type WriteEvent } from '../../domain/events.js';
import type { EventStore, ReplayVisitor } from '../../domain/ports/event-store.js';
import {
  createWriteRun,
  WRITE_KIND_TRIMMED,
  WRITE_KIND_WRITTEN,
  WRITE_KIND_ZEROES,
  type WriteRun,
} from '../../domain/write-run.js';

/** Events per read when the store has no replay. */
const READ_BATCH = 8192;

/**
 * Fold events `[from, to)` of `store` into `visitor` (`to` omitted: up to the end of the log at
 * the time of the call): through the store's `replay` fast path when it has one, else through
 * `read`, with consecutive writes gathered into runs as `replay` gives them -- so a fold written
 * once against {@link ReplayVisitor} answers the same on every store. Resolves with the events
 * visited.
 */
export async function replayRange(
  store: EventStore,
  from: number,
  to: number | undefined,
  visitor: ReplayVisitor,
): Promise<number> {
  if (store.replay !== undefined) {
    const end = to ?? (await store.lastPosition()) + 1;
    if (from >= end) return 0;
    return store.replay(from, end, visitor);
  }
  if (to !== undefined && from >= to) return 0;
  const run = createWriteRun();
  let visited = 0;
  for await (const batch of store.read(from, to, { batchSize: READ_BATCH })) {
    for (let i = 0; i < batch.length; i++) {
      const recorded = batch[i]!;
      const event = recorded.event;
      if (isWriteEvent(event)) {
        if (addToRun(run, recorded, event)) flush(run, visitor);
      } else {
        flush(run, visitor);
        visitor.onEvent(recorded);
      }
    }
    flush(run, visitor);
    visited += batch.length;
  }
  return visited;
}

/** Append a write event to `run`; true when the run is full. */
function addToRun(run: WriteRun, recorded: RecordedEvent, event: WriteEvent): boolean {
  if (run.length === 0) run.firstPosition = recorded.position;
  const i = run.length++;
  run.kinds[i] =
    event.type === 'BlocksWritten'
      ? WRITE_KIND_WRITTEN
      : event.type === 'BlocksTrimmed'
        ? WRITE_KIND_TRIMMED
        : WRITE_KIND_ZEROES;
  run.lbns[i] = event.lbn;
  run.counts[i] = event.count;
  run.recordedAts[i] = recorded.recordedAt;
  return run.length === run.kinds.length;
}

function flush(run: WriteRun, visitor: ReplayVisitor): void {
  if (run.length === 0) return;
  visitor.onWrites(run);
  run.length = 0;
}
