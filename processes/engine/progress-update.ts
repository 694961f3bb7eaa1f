/**
 * Progress of a copy, a merge or a verify, for progress bars (not logged: checkpoints are).
 * A server keeps the latest update of each `kind:member` in `GET /api/state`'s `progress`.
 */
export interface ProgressUpdate {
  /** `copy` to a member, `merge`, or `verify` of the set. */
  readonly kind: 'copy' | 'merge' | 'verify';
  /** The copy target, or the merge source; {@link VERIFY_PROGRESS_MEMBER} for a verify. */
  readonly member: string;
  /** Chunks done so far. */
  readonly chunksDone: number;
  /** Chunks planned. */
  readonly chunksPlanned: number;
  /** Bytes copied (or, for a verify, compared per member) so far. */
  readonly bytesDone: number;
  /** Bytes planned. */
  readonly bytesPlanned: number;
  /** True on the last update. */
  readonly finished: boolean;
}

/** The `member` of a verify's updates: verify reads every valid member, not one. */
export const VERIFY_PROGRESS_MEMBER = '*';
