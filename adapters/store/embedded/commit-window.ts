import type { promises as fs } from 'node:fs';
import { assert } from '../../../domain/errors.js';
import type { PendingAppend } from '../shared/pending-append.js';
import { encodeSeal } from './batch-seal.js';
import { ioError } from './durable-file.js';
import type { SegmentState } from './log-state.js';
import { encodeRecord, type PreparedAppend, SEAL_FRAME_BYTES } from './record-codec.js';

/**
 * The commit window of the group-commit writer (group-commit-writer.ts): group writes issued
 * and not yet published. Up to `maxWritesInFlight` O_DSYNC writes run at once; they are
 * published -- appends resolved, members allowed to see the data (invariant 1) -- strictly in
 * file order, each only after it and every write before it returned. Why a crash then never
 * costs an acknowledged append, and what the reader takes for a torn tail because of it, is
 * in docs/pipelined-commits.md.
 *
 * Measured on this machine's disk (2 cores, virtio): one O_DSYNC 4 KiB write at a time ran
 * 272-286 writes/s under load; two at once 448-506/s, four at once 1,056-1,226/s. The disk's
 * sync latency does not grow with concurrent writes, so a batch need not wait for the sync of
 * the one before to start its own.
 */

/** Bytes of a memory page: the unit in which the page cache writes back a file's bytes. */
export const PAGE_BYTES = 4096;
/** Bytes of a reusable encode buffer (one per write in flight; larger groups allocate once). */
const REUSED_BUFFER_BYTES = 1024 * 1024;
/** The prefix of a write that starts a window (nothing in flight to share a page with). */
const EMPTY = Buffer.alloc(0);

/** One group write issued and not yet published. */
export interface InFlightGroup {
  /** The segment written to. */
  readonly segment: SegmentState;
  /** The appends whose records the group holds, in order. */
  readonly items: readonly PendingAppend<PreparedAppend>[];
  /** Position of the group's first record. */
  readonly firstPosition: number;
  /** Records (events) in the group. */
  readonly events: number;
  /** Records of the segment once the group is published. */
  readonly recordsAfter: number;
  /** Bytes of the segment once the group is published (its seal's end). */
  readonly bytesAfter: number;
  /** Bytes of records and seal (what the group adds to the segment). */
  readonly groupBytes: number;
  /** recordedAt stamped on the group's records. */
  readonly recordedAt: number;
  /** The queue's batch to release once this group is published (the batch's last group), or null. */
  readonly releases: readonly PendingAppend<PreparedAppend>[] | null;
  /** Set once the write returned with an error. */
  error: unknown;
  /** True once the write returned. */
  settled: boolean;
  /** Resolves (never rejects) when the write returned. */
  done: Promise<void>;
}

/** What a group is made of and where it goes. */
export interface GroupToIssue {
  /** The segment written to (its `bytes` is the published, durable end). */
  readonly segment: SegmentState;
  /** The appends, in order. */
  readonly items: readonly PendingAppend<PreparedAppend>[];
  /** Encoded bytes of their records (the seal excluded). */
  readonly bytes: number;
  /** recordedAt stamped on the records. */
  readonly recordedAt: number;
  /** The queue's batch to release once published, or null. */
  readonly releases: readonly PendingAppend<PreparedAppend>[] | null;
  /** File offset the group's records start at (the reserved end). */
  readonly start: number;
  /** Index in the segment of the group's first record. */
  readonly firstRecord: number;
  /** Position of the group's first record. */
  readonly firstPosition: number;
}

/** Where the next group goes. */
export interface Reservation {
  /** File offset of its first record. */
  readonly bytes: number;
  /** Index in the segment of its first record. */
  readonly records: number;
  /** Position of its first record. */
  readonly position: number;
  /** recordedAt of the newest group before it (recordedAt never goes back). */
  readonly recordedAt: number;
}

/**
 * The writes in flight, oldest first, at most `maxWrites`; each encoded into a buffer of its
 * own. Publishing them is the writer's (group-commit-writer.ts); this holds their bytes, the
 * tail page and the writes themselves.
 */
export class CommitWindow {
  /** Most writes in flight at once. */
  readonly maxWrites: number;
  /** Most writes that were in flight at once. */
  peak = 0;
  private readonly groups: InFlightGroup[] = [];
  private readonly tailPage = new TailPage();
  /** Encode buffers of settled writes, for reuse; at most one per write in flight. */
  private readonly freeBuffers: Buffer[] = [];

  constructor(maxWrites: number) {
    assert(Number.isSafeInteger(maxWrites) && maxWrites >= 1, 'a commit window holds at least one write');
    this.maxWrites = maxWrites;
  }

  /** Writes in flight or returned and not yet published. */
  get length(): number {
    return this.groups.length;
  }

  /** True when another write may start. */
  get hasRoom(): boolean {
    return this.groups.length < this.maxWrites;
  }

  /** The oldest write, or undefined. */
  get head(): InFlightGroup | undefined {
    return this.groups[0];
  }

  /**
   * Where the next group goes: after the newest write in flight, else where the published
   * data of `segment` ends (`nextPosition`, `lastRecordedAt` are the published log's).
   */
  reservation(segment: SegmentState, nextPosition: number, lastRecordedAt: number): Reservation {
    const tail = this.groups[this.groups.length - 1];
    if (tail === undefined) {
      return {
        bytes: segment.bytes,
        records: segment.records,
        position: nextPosition,
        recordedAt: lastRecordedAt,
      };
    }
    const position = tail.firstPosition + tail.events;
    return { bytes: tail.bytesAfter, records: tail.recordsAfter, position, recordedAt: tail.recordedAt };
  }

  /** Take the oldest write out (it is being published). */
  shift(): InFlightGroup {
    const head = this.groups.shift();
    assert(head !== undefined, 'no write in flight');
    return head;
  }

  /** Take every write out (a failure); the tail page is forgotten with them. */
  takeAll(): InFlightGroup[] {
    this.tailPage.reset();
    return this.groups.splice(0);
  }

  /** Forget the tail page (a roll, a cut): the next write reloads it. */
  forgetPage(): void {
    this.tailPage.reset();
  }

  /** True when a group may start at `start` now: nothing in flight, or the bytes before it in its page are known. */
  canStartAt(start: number): boolean {
    return this.groups.length === 0 || this.tailPage.knows(start);
  }

  /** With nothing in flight: learn the page `start` falls in from the file, unless known. */
  async loadPage(handle: fs.FileHandle, segmentPath: string, start: number): Promise<void> {
    assert(this.groups.length === 0, 'tail page loaded with writes in flight');
    if (!this.tailPage.knows(start)) await this.tailPage.load(handle, segmentPath, start);
  }

  /**
   * Encode the group's records and its seal -- naming the segment's published end as the
   * durable end at issue -- and start its O_DSYNC write; returns the write, now in the window.
   * With a write in flight the write starts at the start of the page the group begins in.
   */
  issue(handle: fs.FileHandle, g: GroupToIssue): InFlightGroup {
    assert(this.hasRoom, 'commit window full');
    assert(this.canStartAt(g.start), 'a pipelined write without its page prefix');
    assert(g.segment.bytes <= g.start, 'durable end past the group it seals');
    const prefix = this.groups.length === 0 ? EMPTY : this.tailPage.prefixFor(g.start);
    const total = g.bytes + SEAL_FRAME_BYTES;
    const buf = this.takeBuffer(prefix.length + total);
    prefix.copy(buf, 0);
    let off = prefix.length;
    let recordIndex = g.firstRecord;
    for (const item of g.items) {
      const n = item.eventCount;
      for (let k = 0; k < n; k++) {
        g.segment.index.note(recordIndex, g.start + off - prefix.length);
        off = encodeRecord(buf, off, item.prepared, k, g.recordedAt, k === n - 1);
        recordIndex++;
      }
    }
    assert(off - prefix.length === g.bytes, `encoded ${off - prefix.length} bytes, expected ${g.bytes}`);
    const events = recordIndex - g.firstRecord;
    encodeSeal(buf, off, g.firstPosition, events, g.bytes, g.recordedAt, g.segment.bytes);
    const data = buf.subarray(0, prefix.length + total);
    // One write at a time never shares a page with a write in flight: no page to follow.
    if (this.maxWrites > 1) this.tailPage.advance(data.subarray(prefix.length), g.start);
    const group: InFlightGroup = {
      segment: g.segment,
      items: g.items,
      firstPosition: g.firstPosition,
      events,
      recordsAfter: recordIndex,
      bytesAfter: g.start + total,
      groupBytes: total,
      recordedAt: g.recordedAt,
      releases: g.releases,
      error: undefined,
      settled: false,
      done: Promise.resolve(),
    };
    group.done = writeAll(handle, data, g.start - prefix.length, g.segment.path).then(
      () => {
        group.settled = true;
        if (buf.length === REUSED_BUFFER_BYTES && this.freeBuffers.length < this.maxWrites)
          this.freeBuffers.push(buf);
      },
      (error: unknown) => {
        group.error = error ?? new Error('write failed');
        group.settled = true;
      },
    );
    this.groups.push(group);
    this.peak = Math.max(this.peak, this.groups.length);
    return group;
  }

  /** A buffer of at least `bytes` for one group (reused ones are REUSED_BUFFER_BYTES). */
  private takeBuffer(bytes: number): Buffer {
    if (bytes > REUSED_BUFFER_BYTES) return Buffer.allocUnsafe(bytes);
    return this.freeBuffers.pop() ?? Buffer.allocUnsafe(REUSED_BUFFER_BYTES);
  }
}

/** Write `data` at `position` with the segment's O_DSYNC handle (short writes continue). */
async function writeAll(
  handle: fs.FileHandle,
  data: Buffer,
  position: number,
  segmentPath: string,
): Promise<void> {
  let done = 0;
  try {
    // Short writes are legal; bounded because each round writes at least one byte or throws.
    // The segment is open with O_DSYNC: each write returns once its data (and the file size)
    // is durable, so no separate fdatasync round trip through the thread pool is needed.
    while (done < data.length) {
      const { bytesWritten } = await handle.write(data, done, data.length - done, position + done);
      if (bytesWritten <= 0) throw new Error('write made no progress');
      done += bytesWritten;
    }
  } catch (error) {
    throw ioError('append to', segmentPath, error);
  }
}

/**
 * The bytes of the page that holds the reserved end of the active segment, from the page's
 * start up to that end. A group issued while an earlier one is in flight starts its write at
 * that page's start and writes these bytes again (the same bytes): the page cache may write
 * the shared page back with the later write's bytes in it before the earlier write copied its
 * own, and a crash would then keep a sector holding the later bytes but not the earlier ones
 * -- damage inside a sector, which no torn write explains. Rewritten, every sector any write
 * persisted holds all bytes before its end, so what a crash loses of a write is whole zero
 * sectors (or the zeroed end of the sector it starts in): the reader's evidence of a lost
 * write (tail-classification.ts).
 */
export class TailPage {
  private readonly bytes = Buffer.alloc(PAGE_BYTES);
  /** File offset of the page; -1 when the bytes are not known (after open, a roll, a cut). */
  private pageStart = -1;
  private length = 0;

  /** Forget the page: `load` it again once no write is in flight. */
  reset(): void {
    this.pageStart = -1;
    this.length = 0;
  }

  /** True when the bytes before `end` in its page are known. */
  knows(end: number): boolean {
    return this.pageStart === end - (end % PAGE_BYTES) && this.length === end % PAGE_BYTES;
  }

  /**
   * Read the durable bytes of the page that `end` falls in, up to `end`, from the segment.
   * Only while no write is in flight (the file then holds exactly the published data there).
   */
  async load(handle: fs.FileHandle, segmentPath: string, end: number): Promise<void> {
    const start = end - (end % PAGE_BYTES);
    let done = 0;
    try {
      // Bounded: each round reads at least one byte or stops.
      while (start + done < end) {
        const { bytesRead } = await handle.read(this.bytes, done, end - start - done, start + done);
        if (bytesRead <= 0) throw new Error(`segment ends before byte offset ${end}`);
        done += bytesRead;
      }
    } catch (error) {
      this.reset();
      throw ioError('read the last page of', segmentPath, error);
    }
    this.pageStart = start;
    this.length = end - start;
  }

  /** Bytes to write again before a group that starts at `start` (empty when page-aligned). Only when `knows(start)`. */
  prefixFor(start: number): Buffer {
    assert(this.knows(start), 'tail page unknown for a pipelined write');
    return this.bytes.subarray(0, start % PAGE_BYTES);
  }

  /** A group's bytes `data` (prefix excluded) go to file offset `start`: move the page along. */
  advance(data: Buffer, start: number): void {
    assert(this.knows(start), 'tail page advanced from an unknown end');
    const end = start + data.length;
    const endPage = end - (end % PAGE_BYTES);
    if (endPage > this.pageStart) {
      // The group reaches a later page: its bytes from that page's start are the new prefix.
      data.copy(this.bytes, 0, endPage - start, data.length);
    } else {
      data.copy(this.bytes, this.length);
    }
    this.pageStart = endPage;
    this.length = end - endPage;
    assert(this.length < PAGE_BYTES, 'tail page overflow');
  }
}
