import type { CopyState } from '../../domain/shadow-set-state.js';
import type { CopyParts } from './copy-parts.js';
import type { CopyPass } from './copy-pass.js';
import type { CopyProgress } from './copy-progress.js';

/**
 * A copy whose planned pass completed, handed to the coordination's finish
 * (`finishSingleHost` or `finishMultiHost`).
 */
export interface CopyFinishJob {
  /** The engine parts the copy runs on. */
  readonly parts: CopyParts;
  /** The copy target. */
  readonly member: string;
  /** The copy as folded (its CopyStarted position bounds the multi-host catch-up). */
  readonly copy: CopyState;
  /** The pass, for the catch-up and the target device. */
  readonly pass: CopyPass;
  /** The completed prefix: every planned chunk. */
  readonly progress: CopyProgress;
  /** When the copy run started (`performance.now()`), for CopyCompleted's duration. */
  readonly startedMs: number;
}
