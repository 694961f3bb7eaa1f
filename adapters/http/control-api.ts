import { z } from 'zod';
import type { RecordedEvent } from '../../domain/events.js';
import type { CopyResult } from '../../processes/copy/copy-process.js';
import type { ProgressUpdate } from '../../processes/engine/progress-update.js';
import type { VerifyResult } from '../../processes/verify/verify-members.js';
import type { CopyJournal } from '../../projections/copy-journal.js';
import type { SetSummary } from '../../projections/set-summary.js';

/**
 * The control API's routes, request bodies and answers: one definition the server validates
 * against and the client types its calls with. Errors are `{error: {code, message}}`.
 */

/** Body of `POST /api/dismount`. */
export const dismountBody = z.object({ member: z.string().min(1), policy: z.enum(['minicopy', 'none']) });
/** Body of `POST /api/mount`. */
export const mountBody = z.object({
  member: z.string().min(1),
  policy: z.enum(['minicopy', 'minicopy-optional', 'full']),
});
/** Body of `POST /api/delete-bitmap` and `POST /api/abort-copy`. */
export const memberBody = z.object({ member: z.string().min(1) });
/** Body of `POST /api/checkpoint` and `POST /api/delete-checkpoint`. */
export const checkpointBody = z.object({ name: z.string().min(1).max(256) });
/** Body of `POST /api/host-left`. */
export const hostBody = z.object({ host: z.string().min(1) });

/** Policy of a dismount. */
export type DismountPolicy = z.infer<typeof dismountBody>['policy'];
/** Policy of a mount. */
export type MountPolicy = z.infer<typeof mountBody>['policy'];

/** Answer of `GET /api/state`. */
export interface ControlState {
  /** The set as `shadowlog show` prints it. */
  readonly summary: SetSummary;
  /** Every copy and merge, running or ended. */
  readonly journal: CopyJournal;
  /** The latest progress of each running copy or merge. */
  readonly progress: ProgressUpdate[];
  /** Engine counters for troubleshooting. */
  readonly diagnostics: Record<string, number | string[]>;
}

/** Answer of `POST /api/dismount` and `POST /api/delete-bitmap`: the recorded event. */
export interface EventAnswer {
  /** The event the set recorded. */
  readonly event: RecordedEvent;
}

/** Answer of `POST /api/mount`: the copy started; it runs on in the server. */
export interface MountAnswer {
  /** The returning member's id. */
  readonly member: string;
  /** The CopyStarted event. */
  readonly started: RecordedEvent;
}

/** Answer of `POST /api/abort-copy`. */
export interface AbortAnswer {
  /** How the aborted copy ended. */
  readonly result: CopyResult;
}

/** Answer of `POST /api/host-left`. */
export interface HostLeftAnswer {
  /** The events recorded (none when the host did not serve the set). */
  readonly events: RecordedEvent[];
}

/** Answer of `POST /api/verify`. */
export type VerifyAnswer = VerifyResult;

/** Request bodies are small JSON documents. */
export const MAX_BODY_BYTES = 64 * 1024;
