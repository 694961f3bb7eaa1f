import type { CopyScheduler } from '../copy/copy-scheduler.js';
import type { BackgroundTasks } from './background-tasks.js';
import type { EngineParts } from './engine-parts.js';

/** Internal counters, for the HTTP API and for diagnosing a stuck engine. */
export function engineDiagnostics(
  parts: Pick<EngineParts, 'follower' | 'log' | 'barrier' | 'rangeLock'>,
  copies: CopyScheduler,
  tasks: BackgroundTasks,
): Record<string, number | string[]> {
  const log = parts.log.diagnostics();
  return {
    foldedPosition: parts.follower.state.set.position,
    issuedPosition: log.issuedPosition,
    syncedPosition: log.syncedPosition,
    writesInFlight: log.writesInFlight,
    barrierShared: parts.barrier.inFlight,
    rangeLocks: parts.rangeLock.size,
    controlFree: log.controlFree,
    copySlotsFree: copies.slotsFree,
    copies: copies.members,
    background: tasks.size,
  };
}
