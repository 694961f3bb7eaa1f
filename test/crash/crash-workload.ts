import type { VirtualUnit } from '../../processes/virtual-unit.js';
import type { CrashTrace } from '../support/crash-trace.js';
import type { StepDriver } from '../support/step-driver.js';
import { writeData } from './crash-blocks.js';

/** One step of the script: writes, a control operation (started, not awaited), or a wait. */
export type WorkloadStep =
  | { readonly writes: number; readonly region?: readonly [number, number] }
  | { readonly start: 'flush' | 'dismount-minicopy' | 'mount-minicopy' }
  | { readonly wait: 'copy' | 'all' };

/** The member the script dismounts and mounts again. */
export const AWAY_MEMBER = 'm3';

/**
 * The script: writes, `dismount m3 minicopy`, more writes (in part of the volume, so the
 * minicopy is partial), `mount m3 minicopy` while writing, flushes along the way, and writes
 * after the last flush. `scale` multiplies the write counts (about 300 writes at 1).
 */
export function workloadScript(scale: number): WorkloadStep[] {
  const n = (writes: number) => Math.max(1, Math.round(writes * scale));
  return [
    { writes: n(50) },
    { start: 'flush' },
    { writes: n(30) },
    { start: 'dismount-minicopy' },
    { writes: n(50), region: [0, 0.6] },
    { start: 'flush' },
    { writes: n(20), region: [0.2, 0.5] },
    { start: 'mount-minicopy' },
    { writes: n(70) },
    { start: 'flush' },
    { wait: 'copy' },
    { writes: n(30) },
    { start: 'flush' },
    { wait: 'all' },
    { writes: n(15) },
    { wait: 'all' },
  ];
}

/** Writes in flight at most. */
const QUEUE_DEPTH = 6;
/** Largest write, in blocks. */
const MAX_WRITE_BLOCKS = 8;
/** Share of writes with forced unit access. */
const FUA_SHARE = 0.1;

/** Runs the script on `unit`, one scheduler step at a time. */
export class Workload {
  private readonly outstanding = new Set<Promise<unknown>>();
  private copy: Promise<unknown> | null = null;
  private appsInFlight = 0;
  private readonly failures: string[] = [];

  constructor(
    private readonly unit: VirtualUnit,
    private readonly driver: StepDriver,
    private readonly trace: CrashTrace,
    private readonly random: () => number,
  ) {}

  async run(script: readonly WorkloadStep[]): Promise<void> {
    for (const step of script) {
      if ('writes' in step) await this.writes(step.writes, step.region ?? [0, 1]);
      else if ('start' in step) this.start(step.start);
      else if (step.wait === 'copy') await this.driver.drive(this.copy ?? Promise.resolve(), 'the copy');
      else await this.driver.drive(Promise.allSettled([...this.outstanding]), 'the outstanding operations');
      if (this.failures.length > 0) throw new Error(`workload: ${this.failures.join('; ')}`);
    }
  }

  /** Issue `count` writes, up to QUEUE_DEPTH at once, releasing member I/O in between. */
  private async writes(count: number, region: readonly [number, number]): Promise<void> {
    let issued = 0;
    // Bounded: each round issues writes or releases an operation (the driver bounds its steps).
    while (issued < count) {
      await this.driver.quiesce();
      const room = Math.min(QUEUE_DEPTH - this.appsInFlight, count - issued);
      if (room > 0 && this.random() < 0.5) issued += this.burst(room, region);
      else if (this.driver.releaseSome()) continue;
      else if (room > 0) issued += this.burst(room, region);
      else throw this.driver.stuck(`write ${issued + 1} of ${count}`);
    }
  }

  /** Issue 1-3 writes in one step: they share a group-commit batch of the log. */
  private burst(room: number, region: readonly [number, number]): number {
    const writes = 1 + Math.floor(this.random() * Math.min(3, room));
    for (let i = 0; i < writes; i++) this.issueWrite(region);
    return writes;
  }

  private issueWrite(region: readonly [number, number]): void {
    const blocks = this.unit.geometry.blocks;
    const count = 1 + Math.floor(this.random() * MAX_WRITE_BLOCKS);
    const low = Math.floor(region[0] * blocks);
    const high = Math.min(blocks - count, Math.floor(region[1] * blocks));
    const lbn = low + Math.floor(this.random() * Math.max(1, high - low));
    const fua = this.random() < FUA_SHARE;
    const app = this.trace.appIssued(lbn, count, fua);
    this.appsInFlight++;
    this.track(
      this.unit.write(lbn, writeData(app.id, lbn, count), { fua }).then(
        () => {
          this.trace.appAcked(app);
          this.appsInFlight--;
        },
        (error: unknown) => {
          this.appsInFlight--;
          this.failures.push(`write ${app.id} at LBN ${lbn} failed: ${(error as Error).message}`);
        },
      ),
    );
  }

  private start(what: 'flush' | 'dismount-minicopy' | 'mount-minicopy'): void {
    this.trace.control(`${what} issued`);
    const done = (label: string) => () => this.trace.control(`${what} ${label}`);
    const fail = (error: unknown) => {
      this.failures.push(`${what} failed: ${(error as Error).message}`);
    };
    if (what === 'flush') {
      const flush = this.trace.appFlushIssued();
      this.track(this.unit.flush().then(() => this.trace.appFlushCompleted(flush), fail));
    } else if (what === 'dismount-minicopy') {
      this.track(this.unit.dismount(AWAY_MEMBER, 'minicopy').then(done('done'), fail));
    } else {
      const copy = this.unit.mount(AWAY_MEMBER, 'minicopy').then(async (handle) => {
        this.trace.control(`${what} copy started`);
        const result = await handle.done;
        if (result.outcome !== 'completed') throw new Error(`copy ended ${result.outcome}: ${result.reason}`);
        done('copy completed')();
      });
      this.copy = copy.catch(fail);
      this.track(this.copy);
    }
  }

  private track(promise: Promise<unknown>): void {
    this.outstanding.add(promise);
    promise.finally(() => this.outstanding.delete(promise)).catch(() => undefined);
  }
}
