/** Progress of a copy or merge, for progress bars (not logged: checkpoints are). */
export interface ProgressUpdate {
  /** `copy` to a member, or `merge`. */
  readonly kind: 'copy' | 'merge';
  /** The copy target, or the merge source. */
  readonly member: string;
  /** Chunks done so far. */
  readonly chunksDone: number;
  /** Chunks planned. */
  readonly chunksPlanned: number;
  /** Bytes copied so far. */
  readonly bytesDone: number;
  /** Bytes planned. */
  readonly bytesPlanned: number;
  /** True on the last update. */
  readonly finished: boolean;
}
