import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type EmbeddedEventStore, openEmbeddedStore } from '../../adapters/store/embedded/index.js';
import { NotFoundError, ShadowlogError } from '../../domain/errors.js';
import { currentState } from '../../processes/queries/state-at.js';
import { VirtualUnit } from '../../processes/virtual-unit.js';
import type { CrashTrace } from '../support/crash-trace.js';
import { TracedMembers } from '../support/traced-members.js';
import { AdmissibleBlocks } from './admissible-blocks.js';
import { bitmapProblems, type LoggedWrite } from './crash-bitmaps.js';
import { type DiskState, diskState } from './crash-disk-state.js';
import { type LogOutcome, logVerdict } from './crash-log-verdict.js';
import {
  COPY_TUNING,
  CRASH_GEOMETRY,
  MEMBER_PATHS,
  NO_BACKGROUND_SYNC_MS,
  SEGMENT_BYTES,
  STREAM_ID,
} from './crash-recording.js';
import type { CrashState } from './crash-states.js';

/** What one crash state gave. */
export interface CrashOutcome {
  /** How the log came back; `no-set` when the crash came before ShadowSetCreated was durable. */
  readonly log: LogOutcome | 'no-set';
  /** True when the engine ran a crash merge at open. */
  readonly merged: boolean;
  /** Members mounted again after recovery, by copy kind. */
  readonly mounts: readonly string[];
}

const VOLUME_BYTES = CRASH_GEOMETRY.blocks * 512;

/**
 * Rebuild crash state `state` of `trace` (a fresh log directory under `root` and member
 * images), open it with crash merge, and check every invariant; throws with what is wrong.
 */
export async function checkCrashState(
  trace: CrashTrace,
  state: CrashState,
  root: string,
): Promise<CrashOutcome> {
  const disk = diskState(trace, state, MEMBER_PATHS, VOLUME_BYTES);
  const dir = await mkdtemp(join(root, 'shadowlog-crash-state-'));
  try {
    for (const [name, bytes] of disk.files) await writeFile(join(dir, name), bytes);
    let store: EmbeddedEventStore;
    try {
      store = await openEmbeddedStore(dir, { streamId: STREAM_ID, segmentBytes: SEGMENT_BYTES });
    } catch (error) {
      const code = error instanceof ShadowlogError ? error.code : 'untyped';
      throw new Error(`log did not open (${code}): ${(error as Error).message}`, { cause: error });
    }
    try {
      const lastPosition = await store.lastPosition();
      const log = logVerdict(disk, lastPosition, store.recovery);
      if (lastPosition < 0) {
        await expectNoSet(store);
        return { log: 'no-set', merged: false, mounts: [] };
      }
      return {
        log,
        ...(await recoverAndCheck(
          store,
          disk,
          new AdmissibleBlocks(
            trace,
            state.at,
            CRASH_GEOMETRY.blocks,
            state.members === 'completed' ? 'process' : 'power',
          ),
        )),
      };
    } finally {
      await store.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** A log without ShadowSetCreated: the engine refuses to open it, saying so. */
async function expectNoSet(store: EmbeddedEventStore): Promise<void> {
  const opened = VirtualUnit.open({ store, access: new TracedMembers(new Map()) }).then(
    () => null,
    (error: unknown) => error,
  );
  const error = await opened;
  if (!(error instanceof NotFoundError)) {
    throw new Error(`a log without a set must refuse to open with NotFoundError, got ${String(error)}`);
  }
}

/** Write events of the recovered log, for the bitmap check. */
async function loggedWrites(store: EmbeddedEventStore): Promise<LoggedWrite[]> {
  const writes: LoggedWrite[] = [];
  for await (const batch of store.read(0)) {
    for (const r of batch) {
      const e = r.event;
      if (e.type === 'BlocksWritten' || e.type === 'BlocksTrimmed' || e.type === 'ZeroesWritten') {
        writes.push({ position: r.position, lbn: e.lbn, count: e.count });
      }
    }
  }
  return writes;
}

function expectNone(what: string, problems: readonly string[]): void {
  if (problems.length > 0) throw new Error(`${what}: ${problems.join('; ')}`);
}

/**
 * Open the engine on the rebuilt state with crash merge, wait for the merge and resumed copies,
 * check the bitmaps and every block (through the read path), mount every member still away
 * (minicopy when it has a bitmap, else full), then check the members are identical and hold
 * only admissible data.
 */
async function recoverAndCheck(
  store: EmbeddedEventStore,
  disk: DiskState,
  admissible: AdmissibleBlocks,
): Promise<Omit<CrashOutcome, 'log'>> {
  expectNone('bitmap', bitmapProblems(await currentState(store), await loggedWrites(store), CRASH_GEOMETRY));
  const members = new TracedMembers(disk.images);
  const unit = await VirtualUnit.open({
    store,
    access: members,
    syncIntervalMs: NO_BACKGROUND_SYNC_MS,
    copyTuning: COPY_TUNING,
  });
  try {
    const merged = (await unit.merged) !== null;
    await unit.idle();
    expectNone('read after recovery', admissible.check(await unit.read(0, CRASH_GEOMETRY.blocks)));
    const mounts: string[] = [];
    for (const m of unit.state.set.members) {
      if (m.status === 'valid') continue;
      if (m.status !== 'dismounted') throw new Error(`${m.id} is ${m.status} after recovery and copies`);
      const policy = m.bitmap ? 'minicopy' : 'full';
      const result = await (await unit.mount(m.id, policy)).done;
      if (result.outcome !== 'completed')
        throw new Error(`${policy} mount of ${m.id}: ${result.outcome} ${result.reason}`);
      mounts.push(policy);
    }
    await unit.idle();
    const statuses = unit.state.set.members.map((m) => `${m.id} ${m.status}`);
    if (unit.state.set.members.some((m) => m.status !== 'valid'))
      throw new Error(`members: ${statuses.join(', ')}`);
    const [first, ...others] = MEMBER_PATHS.map((p) => members.disks.get(p)!);
    for (const [i, other] of others.entries()) {
      if (Buffer.compare(first!, other) !== 0) {
        const differing = firstDifferingBlock(first!, other);
        throw new Error(
          `${MEMBER_PATHS[i + 1]} differs from ${MEMBER_PATHS[0]} after recovery (LBN ${differing})`,
        );
      }
    }
    expectNone('member data after recovery', admissible.check(first!));
    return { merged, mounts };
  } finally {
    await unit.close();
  }
}

function firstDifferingBlock(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < a.length; i += 512) {
    if (Buffer.compare(a.subarray(i, i + 512), b.subarray(i, i + 512)) !== 0) return i / 512;
  }
  return -1;
}
