import { promises as fs } from 'node:fs';
import path from 'node:path';
import { assert } from '../../../domain/errors.js';
import { isNoSpace } from './durable-file.js';

/**
 * Keeping the active segment zero-filled ahead of its write point, so that an append's O_DSYNC
 * write overwrites blocks that are already allocated and written instead of extending the file.
 *
 * Why: on ext4 (data=ordered) a write that extends a file changes i_size, so its O_DSYNC must
 * commit the jbd2 journal; a journal commit first writes back every dirty data block of every
 * file that allocated blocks in the same transaction -- the member image files the engine
 * writes into. Each log sync then waits for member writeback. A write into blocks that are
 * allocated AND written needs no journal commit: the data and a cache flush only (PostgreSQL's
 * wal_init_zero and RocksDB's recycled WAL files do the same).
 *
 * Real zero bytes are written, not fallocate(): fallocate leaves "unwritten" extents, and the
 * first write into one converts it to written -- a metadata change, so again a journal commit.
 *
 * Measured on this machine (ext4 on virtio, a scratch script, 2,000 4 KiB O_DSYNC writes each,
 * two rounds, noisy shared machine): quiet, overwrite of zero-filled blocks p50 0.44-0.89 ms
 * (671-967/s) vs extending append 0.71-1.87 ms (174-630/s); with a second process doing
 * buffered 4 KiB random writes into a sparse file, 0.55-0.60 ms vs 0.90-1.11 ms. Table:
 * docs/log-format.md ("Zero tail").
 *
 * Readers take an all-zero tail after a segment's last seal as its end (tail-classification.ts),
 * so zeros are never data: a partly done extension (a crash, a full disk) leaves only zeros.
 *
 * Bounds: at most one extension in flight; each is one step (`stepBytes`) and never passes
 * `limitBytes` (the segment size). An append never writes into the range an extension is
 * zeroing: {@link ZeroFillAhead.beforeWrite} waits for it. An extension that fails (a full
 * disk) is cut back and extending stops for {@link RETRY_AFTER_MS}; appends then extend the
 * file as they would without this, which is correct, only slower.
 */

/** After a failed extension, wait this long before trying again. */
export const RETRY_AFTER_MS = 5000;
/**
 * An extension starts only while the file system keeps this much free beyond it: zeros that
 * take the last free space fail every other writer on it (the members, snapshots, the next
 * segment, the control token: `serve` on a 2 MiB tmpfs failed to publish its token while an
 * extension held the space, test/adapters/nbd/full-log-disk.test.ts). Below it, appends extend
 * the file as they would without zero-fill.
 */
export const MIN_FREE_AFTER_EXTENSION_BYTES = 64 * 1024 * 1024;
/** Zeros written per write() call of an extension. */
const CHUNK_BYTES = 1024 * 1024;

/** Counters of zero-fill-ahead, for benchmarks and diagnostics. */
export interface ZeroFillStats {
  /** Extensions that finished (zeros written and fdatasynced). */
  extensions: number;
  /** Extensions that failed (cut back; retried later). */
  failedExtensions: number;
  /** Appends that waited for an extension in flight. */
  waits: number;
  /** Extensions not started: the file system had too little free space (MIN_FREE_AFTER_EXTENSION_BYTES). */
  lowSpaceSkips: number;
}

/** Counters of a margin that has done nothing yet. */
export function emptyZeroFillStats(): ZeroFillStats {
  return { extensions: 0, failedExtensions: 0, waits: 0, lowSpaceSkips: 0 };
}

/** The zero-filled margin of one writer's active segment. */
export class ZeroFillAhead {
  /** Counters (the writer's `WriterStats.zeroFill`, so `store.stats` shows them). */
  readonly stats: ZeroFillStats;
  private readonly stepBytes: number;
  private readonly limitBytes: number;
  private readonly now: () => number;
  private path = '';
  /** Zeros are durable up to here (file offset); never below the data end when extending. */
  private zeroedEnd = 0;
  private inFlight: Promise<void> | null = null;
  private inFlightFrom = 0;
  private retryAtMs = 0;
  private zeros: Buffer | null = null;

  /** Zero `zeroAheadBytes` ahead of the data, never past `segmentBytes`; count in `stats`. */
  constructor(
    limits: { readonly zeroAheadBytes: number; readonly segmentBytes: number },
    stats: ZeroFillStats = emptyZeroFillStats(),
    now: () => number = Date.now,
  ) {
    const { zeroAheadBytes: stepBytes, segmentBytes: limitBytes } = limits;
    this.stats = stats;
    assert(Number.isSafeInteger(stepBytes) && stepBytes >= 0, 'zero-fill step is a non-negative integer');
    this.stepBytes = stepBytes;
    this.limitBytes = limitBytes;
    this.now = now;
  }

  /** Switch to a segment whose data ends at `dataEnd`; nothing after it is taken as zeroed yet. Call when idle. */
  reset(segmentPath: string, dataEnd: number): void {
    assert(this.inFlight === null, 'zero-fill reset while an extension is in flight');
    this.path = segmentPath;
    this.zeroedEnd = dataEnd;
  }

  /** The data was cut back to `dataEnd` (a failed append): zeros past it are gone. Call when idle. */
  cutTo(dataEnd: number): void {
    assert(this.inFlight === null, 'zero-fill cut while an extension is in flight');
    this.zeroedEnd = Math.min(this.zeroedEnd, dataEnd);
  }

  /** Start an extension in the background when the data end passed half of the zeroed margin. */
  maybeExtend(dataEnd: number): void {
    if (this.stepBytes === 0 || this.inFlight !== null || this.now() < this.retryAtMs) return;
    if (this.zeroedEnd - dataEnd >= this.stepBytes / 2) return;
    const from = Math.max(this.zeroedEnd, dataEnd);
    const to = Math.min(this.limitBytes, from + this.stepBytes);
    if (to <= from) return;
    this.inFlightFrom = from;
    this.inFlight = this.extend(this.path, from, to).finally(() => {
      this.inFlight = null;
    });
  }

  /** Resolves when a write of `[start, end)` may go: after any extension zeroing part of it. */
  async beforeWrite(end: number): Promise<void> {
    if (this.inFlight !== null && end > this.inFlightFrom) {
      this.stats.waits++;
      await this.inFlight;
    }
  }

  /** Resolves when no extension is in flight. */
  async idle(): Promise<void> {
    if (this.inFlight !== null) await this.inFlight;
  }

  /** Write zeros to `[from, to)` through a second descriptor, fdatasync, then publish; never throws. */
  private async extend(segmentPath: string, from: number, to: number): Promise<void> {
    this.zeros ??= Buffer.alloc(Math.min(CHUNK_BYTES, this.stepBytes));
    let handle: fs.FileHandle | undefined;
    let off = from;
    try {
      const free = await fs.statfs(path.dirname(segmentPath));
      if (free.bavail * free.bsize < to - from + MIN_FREE_AFTER_EXTENSION_BYTES) {
        this.stats.lowSpaceSkips++;
        this.retryAtMs = this.now() + RETRY_AFTER_MS;
        return;
      }
      handle = await fs.open(segmentPath, 'r+');
      // Bounded: each round writes at least one byte or throws.
      while (off < to) {
        const n = Math.min(this.zeros.length, to - off);
        const { bytesWritten } = await handle.write(this.zeros, 0, n, off);
        if (bytesWritten <= 0) throw new Error('zero fill made no progress');
        off += bytesWritten;
      }
      await handle.datasync();
      this.zeroedEnd = to;
      this.stats.extensions++;
    } catch (error) {
      this.stats.failedExtensions++;
      // A full disk, or any other error: stop for a while. The zeros written so far are no
      // data to a reader, but they hold space a full disk needs: cut them off (best effort;
      // appends below `from` are not touched, and none writes at or past it while we run).
      if (handle !== undefined) await handle.truncate(from).catch(() => undefined);
      this.retryAtMs = this.now() + (isNoSpace(error) ? RETRY_AFTER_MS : RETRY_AFTER_MS * 12);
    } finally {
      await handle?.close().catch(() => undefined);
    }
  }
}
