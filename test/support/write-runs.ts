import type { RecordedEvent } from '../../domain/events.js';
import type { ReplayVisitor } from '../../domain/ports/event-store.js';
import { createWriteRun, type WriteRun } from '../../domain/write-run.js';

const KIND_BY_TYPE: Record<string, number> = { BlocksWritten: 1, BlocksTrimmed: 2, ZeroesWritten: 3 };
const TYPE_BY_KIND = ['', 'BlocksWritten', 'BlocksTrimmed', 'ZeroesWritten'] as const;

/**
 * Hand `log` to `visitor` as EventStore.replay would: consecutive writes in runs of at most
 * `capacity` entries (one reused run), every other event as it is.
 */
export function visitAsRuns(log: readonly RecordedEvent[], capacity: number, visitor: ReplayVisitor): void {
  const run = createWriteRun(capacity);
  const flush = () => {
    if (run.length > 0) visitor.onWrites(run);
    run.length = 0;
  };
  for (const recorded of log) {
    const e = recorded.event;
    if (e.type === 'BlocksWritten' || e.type === 'BlocksTrimmed' || e.type === 'ZeroesWritten') {
      if (run.length === 0) run.firstPosition = recorded.position;
      const i = run.length++;
      run.kinds[i] = KIND_BY_TYPE[e.type]!;
      run.lbns[i] = e.lbn;
      run.counts[i] = e.count;
      run.recordedAts[i] = recorded.recordedAt;
      if (run.length === capacity) flush();
    } else {
      flush();
      visitor.onEvent(recorded);
    }
  }
  flush();
}

/** The events of a run, as RecordedEvents. */
export function runEvents(run: WriteRun): RecordedEvent[] {
  const out: RecordedEvent[] = [];
  for (let i = 0; i < run.length; i++) {
    out.push({
      position: run.firstPosition + i,
      recordedAt: run.recordedAts[i]!,
      event: { type: TYPE_BY_KIND[run.kinds[i]!]!, v: 1, lbn: run.lbns[i]!, count: run.counts[i]! },
    } as RecordedEvent);
  }
  return out;
}
