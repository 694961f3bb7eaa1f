import type { BlockDevice } from '../../domain/ports/block-device.js';
import type { EventStore } from '../../domain/ports/event-store.js';
import { MinimergeBitmap, minimergeVisitor } from '../../projections/minimerge-bitmap.js';
import type { CopyScheduler } from '../copy/copy-scheduler.js';
import { type MergeResult, runMerge } from '../merge/crash-merge.js';
import { replayRange } from '../queries/replay-range.js';
import type { SyncRecorder } from './background-sync.js';
import type { BackgroundTasks } from './background-tasks.js';
import type { EngineParts } from './engine-parts.js';

/** What recovery at open uses. */
export interface RecoveryParts {
  /** The engine's parts (the merge runs on them). */
  readonly engine: EngineParts;
  /** The log, read for the writes after the last sync. */
  readonly store: EventStore;
  /** Resumes the copies a crash interrupted. */
  readonly copies: CopyScheduler;
  /** Tracks the merge and the resumed copies. */
  readonly tasks: BackgroundTasks;
  /** Records MembersSynced once the merge made the members equal. */
  readonly sync: SyncRecorder;
}

/** The background work recovery started. */
export interface Recovering {
  /** The crash merge: null when no write after the last sync can have left members unequal. */
  readonly merged: Promise<MergeResult | null>;
  /** Settles when every resumed copy has ended. */
  readonly resumed: Promise<unknown>;
}

/**
 * Recovery at open (single writer): start the crash merge if writes after the last
 * MembersSynced may have left the members unequal (or a merge was interrupted), and resume the
 * copies that were running. Copies wait for the merge: a copy source must hold merged data.
 */
export function startRecovery(parts: RecoveryParts): Recovering {
  const targets = openCopyTargets(parts);
  const merged = targets.then(() => mergeAfterCrash(parts));
  parts.tasks.track(merged);
  const resumed: Promise<unknown>[] = [];
  const { devices } = parts.engine;
  for (const m of parts.engine.follower.state.set.members) {
    if (m.status !== 'copying' && m.status !== 'returning') continue;
    resumed.push(
      (async () => {
        await merged;
        const device = (await targets).get(m.id) ?? (await devices.openPath(m.path));
        await parts.copies.start(m.id, device).done;
      })(),
    );
  }
  const settled = Promise.allSettled(resumed);
  parts.tasks.track(settled);
  return { merged, resumed: settled };
}

/**
 * Open the target of every interrupted copy before the merge and attach it, so that the merge
 * and the application writes during it reach it as the log says they do: writes after the last
 * MembersSynced may differ on chunks the copy already passed, and the resumed copy starts at
 * its checkpoint, so only the merge repairs them (found by test/crash/). A target that does not
 * open is left to the resumed copy, which reports it.
 */
async function openCopyTargets(parts: RecoveryParts): Promise<Map<string, BlockDevice>> {
  const opened = new Map<string, BlockDevice>();
  const { devices } = parts.engine;
  for (const m of parts.engine.follower.state.set.members) {
    if (m.status !== 'copying') continue;
    try {
      const device = await devices.openPath(m.path);
      devices.attach(m.id, device);
      opened.set(m.id, device);
    } catch {
      // The resumed copy opens it again and fails with the cause.
    }
  }
  return opened;
}

async function mergeAfterCrash(parts: RecoveryParts): Promise<MergeResult | null> {
  const state = parts.engine.follower.state.set;
  const from = state.merge ? state.merge.fromPosition : (state.synced?.position ?? -1) + 1;
  const resume = state.merge !== null;
  const chunks = new MinimergeBitmap(parts.engine.geometry, from);
  await replayRange(parts.store, from, undefined, minimergeVisitor(chunks));
  if (chunks.writes === 0 && !resume) return null;
  const result = await runMerge(parts.engine, chunks.chunks, resume);
  // Forced: the merged writes are an earlier run's, not this one's.
  await parts.sync.recordSynced(parts.sync.syncPoint(), true);
  return result;
}
