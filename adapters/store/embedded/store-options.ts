import { InvalidArgumentError } from '../../../domain/errors.js';
import type { SubscriptionLimits } from '../shared/live-subscription.js';
import { SEAL_FRAME_BYTES, WRITE_RECORD_BYTES } from './record-codec.js';
import { SEGMENT_HEADER_BYTES } from './segment-format.js';

/**
 * Options of the embedded store (embedded-event-store.ts) and the limits they resolve to: one
 * place that says what each bound is and what it defaults to.
 */

/** Options of `openEmbeddedStore` (embedded-event-store.ts). */
export interface EmbeddedStoreOptions {
  /** Stream id stored in every segment header; required to create a log, checked when opening one. */
  readonly streamId?: string;
  /** Open without the writer lock, change nothing, follow a concurrent writer. */
  readonly readOnly?: boolean;
  /** Segment size before rolling to a new one (default 64 MiB). */
  readonly segmentBytes?: number;
  /** Most bytes per group-commit batch (default 4 MiB). */
  readonly maxBatchBytes?: number;
  /** Most accepted-but-unwritten bytes before appenders wait (default 32 MiB). */
  readonly maxQueuedBytes?: number;
  /** Most accepted-but-unwritten events before appenders wait (default 1,048,576). */
  readonly maxQueuedEvents?: number;
  /** Largest single append, encoded (default 64 MiB). */
  readonly maxAppendBytes?: number;
  /**
   * Bytes the writer keeps zero-filled ahead of its write point, written in steps of this
   * size, so appends overwrite zeros instead of extending the file (zero-fill-ahead.ts).
   * Default 4 MiB ({@link DEFAULT_ZERO_AHEAD_BYTES}); 0 turns it off; at most the segment size.
   */
  readonly zeroAheadBytes?: number;
  /**
   * Most group writes in flight at once (default 2, {@link DEFAULT_WRITES_IN_FLIGHT}; 1: each
   * batch waits for the one before; at most 4). See commit-window.ts and docs/pipelined-commits.md.
   */
  readonly maxWritesInFlight?: number;
  /** Clock for recordedAt (ms since epoch); `Date.now` by default. */
  readonly clock?: () => number;
  /** Bounds of subscription buffering. */
  readonly subscriptionLimits?: Partial<SubscriptionLimits>;
  /**
   * Make a new log when the directory is missing or empty (default true). False: such a
   * directory is NotFoundError. A directory holding anything but no valid log is always
   * refused (LogCorruptError), never written into.
   */
  readonly create?: boolean;
  /** First position of a new log (default 0): an incident bundle's log starts at its window. */
  readonly firstPosition?: number;
  /** Called synchronously each time bytes of the log became durable (tests, metrics): a batch write or a new segment's header. */
  readonly onDurable?: (info: {
    readonly segmentPath: string;
    readonly endOffsetBytes: number;
    readonly lastPosition: number;
  }) => void;
}

/**
 * Default zero-fill step: 4 MiB, refilled when half is used -- one background write and
 * fdatasync per 2 MiB of log, and at most 4 MiB of zeros past the data of the active segment.
 */
export const DEFAULT_ZERO_AHEAD_BYTES = 4 * 1024 * 1024;
/**
 * Writes in flight by default: two. 4 KiB random writes at QD32 through the engine, 6 rounds in
 * rotated order (2026-12-02): 14.7k/s with one write in flight, 21.3k/s with two, 17.8k/s with
 * four (medians; two won every round); `bench nbd` (QD16) within the noise: 0.48-0.49 of the
 * quorum with one, 0.47-0.56 with two. Every O_DSYNC write here ends in a device cache flush
 * (virtio, volatile cache, no FUA): a second write overlaps the first's flush, more only add
 * flushes (docs/pipelined-commits.md "Measured").
 */
export const DEFAULT_WRITES_IN_FLIGHT = 2;
/**
 * Most writes in flight an option may ask for: libuv's default thread pool has 4 threads, and
 * each write in flight holds one for its whole sync; more would queue behind each other and
 * starve member I/O and zero-fill of threads.
 */
export const MAX_WRITES_IN_FLIGHT = 4;
/** Default segment size. */
export const DEFAULT_SEGMENT_BYTES = 64 * 1024 * 1024;
const MAX_SEGMENT_BYTES = 1024 * 1024 * 1024;
const MIB = 1024 * 1024;

function positiveInteger(
  name: string,
  value: number | undefined,
  fallback: number,
  min: number,
  max: number,
): number {
  const chosen = value ?? fallback;
  if (!(Number.isSafeInteger(chosen) && chosen >= min && chosen <= max)) {
    throw new InvalidArgumentError(`${name} must be an integer from ${min} to ${max}, got ${value}`);
  }
  return chosen;
}

/** The writer's bounds, resolved from {@link EmbeddedStoreOptions} (defaults filled in, ranges checked). */
export interface StoreLimits {
  /** Segment size before rolling to a new one. */
  readonly segmentBytes: number;
  /** Most bytes per group-commit batch. */
  readonly maxBatchBytes: number;
  /** Most accepted-but-unwritten bytes before appenders wait. */
  readonly maxQueuedBytes: number;
  /** Most accepted-but-unwritten events before appenders wait. */
  readonly maxQueuedEvents: number;
  /** Largest single append, encoded. */
  readonly maxAppendBytes: number;
  /** Zero-fill step ahead of the write point; 0: off. */
  readonly zeroAheadBytes: number;
  /** Most group writes in flight at once. */
  readonly maxWritesInFlight: number;
}

/** Fill in defaults and check every bound; an out-of-range one is InvalidArgumentError naming it. */
export function resolveStoreLimits(options: EmbeddedStoreOptions): StoreLimits {
  return {
    segmentBytes: positiveInteger(
      'segmentBytes',
      options.segmentBytes,
      DEFAULT_SEGMENT_BYTES,
      SEGMENT_HEADER_BYTES + WRITE_RECORD_BYTES + SEAL_FRAME_BYTES,
      MAX_SEGMENT_BYTES,
    ),
    maxBatchBytes: positiveInteger('maxBatchBytes', options.maxBatchBytes, 4 * MIB, 1, MAX_SEGMENT_BYTES),
    maxQueuedBytes: positiveInteger('maxQueuedBytes', options.maxQueuedBytes, 32 * MIB, 1, 16 * 1024 * MIB),
    maxQueuedEvents: positiveInteger('maxQueuedEvents', options.maxQueuedEvents, 1 << 20, 1, 2 ** 31),
    maxAppendBytes: positiveInteger('maxAppendBytes', options.maxAppendBytes, 64 * MIB, 1, MAX_SEGMENT_BYTES),
    maxWritesInFlight: positiveInteger(
      'maxWritesInFlight',
      options.maxWritesInFlight,
      DEFAULT_WRITES_IN_FLIGHT,
      1,
      MAX_WRITES_IN_FLIGHT,
    ),
    zeroAheadBytes: positiveInteger(
      'zeroAheadBytes',
      options.zeroAheadBytes,
      DEFAULT_ZERO_AHEAD_BYTES,
      0,
      MAX_SEGMENT_BYTES,
    ),
  };
}
