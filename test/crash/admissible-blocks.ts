import type { AppWrite, CrashTrace } from '../support/crash-trace.js';
import { BLOCK_BYTES, blockWriteId } from './crash-blocks.js';

/**
 * Which acknowledgements a crash must honour:
 * - `process`: the process died, the disks kept every completed write (kill -9): every write
 *   acknowledged before the crash is there;
 * - `power`: the disks lost what they had not flushed. As for any block device, an
 *   acknowledgement is a promise of durability only for a FUA write, or once a flush issued
 *   after it completed; a write acknowledged since then may be lost (the block then holds the
 *   durable value, or any later write).
 */
export type CrashModel = 'process' | 'power';

/**
 * What each block may hold after a crash at trace index `at`: the last write to it whose
 * acknowledgement the model makes durable (0 when none), or any write to it that came after
 * that one (in flight, or acknowledged without durability).
 */
export class AdmissibleBlocks {
  private readonly floor: Int32Array;
  private readonly later: Set<number>[];

  constructor(trace: CrashTrace, at: number, blocks: number, model: CrashModel) {
    this.floor = new Int32Array(blocks);
    this.later = Array.from({ length: blocks }, () => new Set<number>());
    let flushedBefore = -1;
    for (const f of trace.appFlushes) {
      if (f.completedAt >= 0 && f.completedAt < at) flushedBefore = Math.max(flushedBefore, f.issuedAt);
    }
    const durable = (app: AppWrite) => model === 'process' || app.fua || app.ackedAt < flushedBefore;
    const acked = new Set<number>();
    for (let i = 0; i < at; i++) {
      const entry = trace.entries[i]!;
      if (entry.kind !== 'app-issued' && entry.kind !== 'app-acked') continue;
      const app = trace.apps[entry.app]!;
      if (entry.kind === 'app-acked') acked.add(app.id);
      for (let b = app.lbn; b < app.lbn + app.count; b++) {
        const later = this.later[b]!;
        if (entry.kind === 'app-issued') later.add(app.id);
        else if (durable(app)) {
          // Writes acknowledged before this one hold older data (overlapping writes are serialised).
          for (const id of later) if (acked.has(id)) later.delete(id);
          this.floor[b] = app.id;
        }
      }
    }
  }

  /** Problems of a volume image (or read): blocks holding what they may not, described; at most `limit`. */
  check(bytes: Uint8Array, firstLbn = 0, limit = 5): string[] {
    const problems: string[] = [];
    const count = bytes.length / BLOCK_BYTES;
    for (let i = 0; i < count && problems.length < limit; i++) {
      const lbn = firstLbn + i;
      const id = blockWriteId(bytes.subarray(i * BLOCK_BYTES, (i + 1) * BLOCK_BYTES), lbn);
      if (id === this.floor[lbn] || this.later[lbn]!.has(id)) continue;
      const allowed = [this.floor[lbn], ...this.later[lbn]!].join('|');
      problems.push(`LBN ${lbn} holds ${id < 0 ? 'garbage' : `write ${id}`}, allowed ${allowed}`);
    }
    return problems;
  }
}
