/**
 * The durability observer of the embedded store (option `onDurable`): told, synchronously,
 * each time bytes of the log became durable -- a batch write (after its O_DSYNC write
 * returned, before its appends resolve), a new segment's header, a recovery's repair seal,
 * and the manifest after it was replaced. Tests that rebuild the disk state at every sync
 * point rely on exactly this shape; metrics may use it too. Nothing is built when it is unset.
 */

/** What became durable. */
export interface DurableInfo {
  /** The file: a segment, or the manifest. */
  readonly segmentPath: string;
  /** Byte offset up to which the file is now durable (a new segment: its header size; the manifest: its size). */
  readonly endOffsetBytes: number;
  /** Last position the log holds at that moment (-1 for an empty log). */
  readonly lastPosition: number;
}

/** Called synchronously each time bytes of the log became durable (tests, metrics): a batch write or a new segment's header. */
export type DurableListener = (info: DurableInfo) => void;
