import { closeSync, openSync, readdirSync, readFileSync, readSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { CrashTrace, LogSnapshot } from './crash-trace.js';

/** What the embedded store reports through its `onDurable` option. */
export interface DurableInfo {
  /** The segment whose bytes became durable. */
  readonly segmentPath: string;
  /** Its durable length. */
  readonly endOffsetBytes: number;
  /** Last durable position. */
  readonly lastPosition: number;
}

/** Files of a log directory that a power loss can leave: everything but the lock and temp files. */
function logFiles(dir: string): string[] {
  return readdirSync(dir)
    .filter((name) => name !== 'LOCK' && !name.endsWith('.tmp'))
    .sort();
}

function isSegment(name: string): boolean {
  return name.endsWith('.seg');
}

/** The first `length` bytes of a file, read now (the writer is between two writes). */
function readPrefix(path: string, length: number): Uint8Array {
  const out = Buffer.alloc(length);
  const fd = openSync(path, 'r');
  try {
    let done = 0;
    // Bounded: each round reads at least one byte or stops.
    while (done < length) {
      const n = readSync(fd, out, done, length - done, done);
      if (n <= 0) throw new Error(`${path} is shorter than its durable length ${length}`);
      done += n;
    }
  } finally {
    closeSync(fd);
  }
  return out;
}

function sameFiles(a: ReadonlyMap<string, Uint8Array>, b: ReadonlyMap<string, Uint8Array>): boolean {
  if (a.size !== b.size) return false;
  for (const [name, bytes] of a) {
    const other = b.get(name);
    if (!other || Buffer.compare(bytes, other) !== 0) return false;
  }
  return true;
}

/**
 * Where the crash test learns that bytes of the log became durable: the ONE place to switch
 * between the store's `onDurable` option and the stand-in.
 *
 * - `onDurable` (the store calls it synchronously at each durable batch or new segment header):
 *   the durable segment is read up to the reported end, the other files as they are.
 * - stand-in, used while the store never called `onDurable`: when an append resolves (before
 *   the engine's continuation runs), the directory is read whole; a change since the last
 *   snapshot is a durable point at the end of the newest segment.
 * Both put a `log-durable` entry with a snapshot of the directory into the trace.
 */
export class LogDurability {
  private reported = false;

  constructor(
    private readonly dir: string,
    private readonly trace: CrashTrace,
  ) {}

  /** Which source the durable points come from. */
  get mode(): 'onDurable' | 'stand-in' {
    return this.reported ? 'onDurable' : 'stand-in';
  }

  /** Options to spread into `openEmbeddedStore`'s: the hook (a store without the option ignores it). */
  storeOptions(): { readonly onDurable: (info: DurableInfo) => void } {
    return { onDurable: (info) => this.onDurable(info) };
  }

  /** The store's report. */
  onDurable(info: DurableInfo): void {
    this.reported = true;
    const previous = this.last()?.files ?? new Map<string, Uint8Array>();
    const segment = basename(info.segmentPath);
    const files = new Map<string, Uint8Array>();
    for (const name of logFiles(this.dir)) {
      if (name === segment) files.set(name, readPrefix(info.segmentPath, info.endOffsetBytes));
      else if (!isSegment(name)) files.set(name, readFileSync(join(this.dir, name)));
      else {
        // A segment not reported durable yet is not part of the durable log.
        const bytes = previous.get(name);
        if (bytes) files.set(name, bytes);
      }
    }
    this.trace.logDurable({
      files,
      segment,
      endOffsetBytes: info.endOffsetBytes,
      lastPosition: info.lastPosition,
    });
  }

  /** Stand-in: the store opened (its first segment exists). */
  opened(lastPosition: number): void {
    if (this.trace.snapshots.length === 0) this.standIn(lastPosition);
  }

  /** Stand-in: an append resolved with `lastPosition`. */
  appended(lastPosition: number): void {
    if (!this.reported) this.standIn(lastPosition);
  }

  private standIn(lastPosition: number): void {
    const files = new Map<string, Uint8Array>();
    for (const name of logFiles(this.dir)) files.set(name, readFileSync(join(this.dir, name)));
    const last = this.last();
    if (last && sameFiles(last.files, files)) {
      last.lastPosition = Math.max(last.lastPosition, lastPosition);
      return;
    }
    const segment = [...files.keys()].filter(isSegment).pop();
    if (segment === undefined) throw new Error(`log ${this.dir} has no segment after an append`);
    this.trace.logDurable({ files, segment, endOffsetBytes: files.get(segment)!.length, lastPosition });
  }

  private last(): LogSnapshot | undefined {
    return this.trace.snapshots[this.trace.snapshots.length - 1];
  }
}
