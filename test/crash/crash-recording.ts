import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { seededRandom } from '../../adapters/devices/seeded-random.js';
import { openEmbeddedStore } from '../../adapters/store/embedded/index.js';
import { makeGeometry } from '../../domain/geometry.js';
import type { CopyTuning } from '../../processes/copy/copy-process.js';
import { VirtualUnit } from '../../processes/virtual-unit.js';
import { CrashTrace } from '../support/crash-trace.js';
import { LogDurability } from '../support/log-durability.js';
import { OpGate } from '../support/op-gate.js';
import { StepDriver } from '../support/step-driver.js';
import { TracedMembers } from '../support/traced-members.js';
import { Workload, workloadScript } from './crash-workload.js';

/** The test set: 3 members of 640 blocks in 16-block chunks (40 chunks). */
export const CRASH_GEOMETRY = makeGeometry(640, 16);
/** Member paths (memory disks). */
export const MEMBER_PATHS = ['/m1.img', '/m2.img', '/m3.img'] as const;
/** Stream id of the log. */
export const STREAM_ID = 'crash';
/** Small segments, so the run rolls to new segments (and seals old ones) several times. */
export const SEGMENT_BYTES = 4096;
/** Background sync never fires within a run: syncs come from the script's flushes, at known steps. */
export const NO_BACKGROUND_SYNC_MS = 3_600_000;
/** Copy I/O of 2 chunks, 3 in flight, a checkpoint every 4 chunks (bytes only: no timer). */
export const COPY_TUNING: Partial<CopyTuning> = {
  ioBytes: 2 * 16 * 512,
  inFlight: 3,
  checkpointBytes: 4 * 16 * 512,
  checkpointMs: 1e12,
};
/** recordedAt of the first record: the log's clock ticks once per use, so runs are byte-identical. */
const CLOCK_START_MS = Date.UTC(2025, 0, 1);

/** One recorded run of the workload. */
export interface Recording {
  /** The seed it ran with. */
  readonly seed: number;
  /** Everything that happened, in order. */
  readonly trace: CrashTrace;
  /** Where the durable points came from (the store's onDurable, or the stand-in). */
  readonly durability: 'onDurable' | 'stand-in';
  /** Scheduler steps taken. */
  readonly steps: number;
}

/**
 * Run the workload once, seeded, on the real embedded log in a temp directory under `root` and
 * on traced memory members, and return the trace. The directory is removed afterwards: crash
 * states are rebuilt from the trace's snapshots.
 */
export async function recordRun(seed: number, root: string, scale: number): Promise<Recording> {
  const dir = await mkdtemp(join(root, 'shadowlog-crash-run-'));
  const logDir = join(dir, 'log');
  try {
    const trace = new CrashTrace();
    const gate = new OpGate();
    const random = seededRandom(seed);
    const driver = new StepDriver(gate, trace, random);
    const durability = new LogDurability(logDir, trace);
    let tick = 0;
    const inner = await openEmbeddedStore(logDir, {
      streamId: STREAM_ID,
      segmentBytes: SEGMENT_BYTES,
      clock: () => CLOCK_START_MS + tick++,
      ...durability.storeOptions(),
    });
    try {
      durability.opened(await inner.lastPosition());
      const store = driver.wrapStore(inner, (last) => durability.appended(last));
      const images = new Map(MEMBER_PATHS.map((p) => [p, new Uint8Array(CRASH_GEOMETRY.blocks * 512)]));
      const members = new TracedMembers(images, { trace, gate });
      await VirtualUnit.create(store, members, {
        setId: 'CRASH',
        blocks: CRASH_GEOMETRY.blocks,
        chunkBlocks: CRASH_GEOMETRY.chunkBlocks,
        memberPaths: MEMBER_PATHS,
      });
      const open = VirtualUnit.open({
        store,
        access: members,
        syncIntervalMs: NO_BACKGROUND_SYNC_MS,
        copyTuning: COPY_TUNING,
      });
      const unit = await driver.drive(open, 'open');
      await new Workload(unit, driver, trace, random).run(workloadScript(scale));
      // Close flushes the members and records MembersSynced: a flush, for what it makes durable.
      const close = trace.appFlushIssued();
      await driver.drive(unit.close(), 'close');
      trace.appFlushCompleted(close);
    } finally {
      await inner.close();
    }
    return { seed, trace, durability: durability.mode, steps: driver.steps };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
