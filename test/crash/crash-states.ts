import { seededRandom } from '../../adapters/devices/seeded-random.js';
import type { CrashTrace, LogSnapshot } from '../support/crash-trace.js';

/**
 * The crash states of a trace: one at EVERY sync boundary (each log durable point and each
 * member flush completion: the power fails right after it, and every member keeps only what
 * its flushes made durable), one more at every third log durable point where the process
 * dies instead (the members keep every completed write), and torn samples between boundaries (the power fails while the
 * next log batch is being written, or while member writes are unflushed, and the disks kept
 * an arbitrary part of what was in flight). Numbered in trace order: `point` is what
 * SHADOWLOG_CRASH_POINT selects.
 */
export interface CrashState {
  /** Index in the list (replay with SHADOWLOG_CRASH_POINT). */
  readonly point: number;
  /** The crash keeps the effects of trace entries `0 .. at-1`. */
  readonly at: number;
  /** What the state is, for a failure's message. */
  readonly label: string;
  /** For a torn log: the snapshot whose batch was being written (the next after the durable one). */
  readonly tornNext: number | null;
  /**
   * Unflushed member writes: all lost (`flushed`: a power loss), all completed ones kept
   * (`completed`: the process died, kill -9), or an arbitrary sector subset kept (`subset`).
   * In-flight writes are kept in part except in `flushed`.
   */
  readonly members: 'flushed' | 'completed' | 'subset';
  /** Seed of the torn choices. */
  readonly seed: number;
}

type Unnumbered = Omit<CrashState, 'point'>;

/**
 * Whether the batch of snapshot `next` can be torn: a segment (not the manifest, which is
 * replaced atomically) that grew from the snapshot before, append only.
 */
export function tearable(trace: CrashTrace, next: number): boolean {
  if (next < 1) return false;
  const before = trace.snapshots[next - 1]!;
  const after = trace.snapshots[next]!;
  if (!after.segment.endsWith('.seg')) return false;
  const old = before.files.get(after.segment);
  const grown = after.files.get(after.segment);
  if (!old || !grown || grown.length <= old.length) return false;
  return Buffer.compare(old, grown.subarray(0, old.length)) === 0;
}

function boundaryLabel(trace: CrashTrace, index: number): string {
  const entry = trace.entries[index]!;
  if (entry.kind === 'log-durable') {
    const s: LogSnapshot = trace.snapshots[entry.snapshot]!;
    return `after log durable point ${entry.snapshot} (${s.segment} ${s.endOffsetBytes} B, position ${s.lastPosition})`;
  }
  if (entry.kind === 'flush-completed')
    return `after flush ${entry.flush} of ${trace.flushes[entry.flush]!.member}`;
  return `at trace entry ${index}`;
}

/** Every boundary state and `tornSamples` torn states of `trace`, in trace order. */
export function crashStates(trace: CrashTrace, tornSamples: number, seed: number): CrashState[] {
  const states: Unnumbered[] = [];
  const flushes: number[] = [];
  trace.entries.forEach((entry, index) => {
    if (entry.kind !== 'log-durable' && entry.kind !== 'flush-completed') return;
    if (entry.kind === 'flush-completed') flushes.push(index);
    const label = boundaryLabel(trace, index);
    const at = index + 1;
    states.push({ at, label: `${label}, power loss`, tornNext: null, members: 'flushed', seed: 0 });
    // A killed process loses no completed member write, so a member flush changes nothing for
    // it; every third log durable point keeps `npm test` within its time.
    if (entry.kind === 'log-durable' && entry.snapshot % 3 === 0) {
      states.push({
        at,
        label: `${label}, process killed`,
        tornNext: null,
        members: 'completed',
        seed: index,
      });
    }
  });
  const tearableBatches = trace.snapshots.map((_, i) => i).filter((i) => tearable(trace, i));
  const random = seededRandom(seed ^ 0x5eed);
  for (let s = 0; s < tornSamples; s++) {
    const sampleSeed = Math.floor(random() * 2 ** 31);
    // Three in four tear the log batch in flight (members torn too); the rest tear members only,
    // just before a flush completes or anywhere.
    const kind = s % 8;
    if (kind < 6 && tearableBatches.length > 0) {
      const next = tearableBatches[Math.floor(random() * tearableBatches.length)]!;
      const at = trace.snapshots[next]!.at;
      const label = `torn: log batch of durable point ${next} in flight, unflushed member writes in part`;
      states.push({ at, label, tornNext: next, members: 'subset', seed: sampleSeed });
    } else {
      const at =
        kind === 6 && flushes.length > 0
          ? flushes[Math.floor(random() * flushes.length)]!
          : 1 + Math.floor(random() * (trace.length - 1));
      const label = `torn: before trace entry ${at}, unflushed member writes in part`;
      states.push({ at, label, tornNext: null, members: 'subset', seed: sampleSeed });
    }
  }
  states.sort((a, b) => a.at - b.at);
  return states.map((state, point) => ({ ...state, point }));
}
