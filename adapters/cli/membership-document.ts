import type { RecordedEvent } from '../../domain/events.js';
import { isoTime } from './number-format.js';

/*
 * The --json documents of `dismount` and `mount`: what an operator's script needs (member,
 * policy, position, time, the copy decision), not the raw records with their fingerprints
 * (32 chunk hashes a script has no use for). Shapes documented in README.
 */

/** `dismount --json`. */
export interface DismountDocument {
  /** The member that left. */
  readonly member: string;
  /** `minicopy` or `none`. */
  readonly policy: string;
  /** Position of `MemberDismounted`. */
  readonly position: number;
  /** When it was recorded (ISO-8601). */
  readonly time: string;
  /** The write bitmap that started at `position` (minicopy), or null (its return is a full copy). */
  readonly bitmap: { readonly started: true; readonly sincePosition: number } | null;
}

/** `mount --json`. */
export interface MountDocument {
  /** The member that returns. */
  readonly member: string;
  /** The policy asked for (`minicopy`, `minicopy-optional`, `full`). */
  readonly policy: string;
  /** Position of `CopyStarted`. */
  readonly position: number;
  /** When the copy started (ISO-8601). */
  readonly time: string;
  /** The decision: mini or full copy, why, from which member, how much. */
  readonly copy: {
    readonly kind: 'mini' | 'full';
    readonly reason: string;
    readonly source: string;
    readonly chunks: number;
    readonly bytes: number;
  };
  /** `completed`, `failed`, `aborted`, or `running` (through a server without --wait). */
  readonly outcome: string;
  /** Chunks copied so far (null while running in a server). */
  readonly chunksCopied: number | null;
  /** Bytes copied so far (null while running in a server). */
  readonly bytesCopied: number | null;
  /** Why the copy ended other than completed; null otherwise. */
  readonly endReason: string | null;
}

/** The document of a recorded `MemberDismounted`. */
export function dismountDocument(recorded: RecordedEvent): DismountDocument {
  const e = recorded.event as { member: string; policy: string };
  return {
    member: e.member,
    policy: e.policy,
    position: recorded.position,
    time: isoTime(recorded.recordedAt),
    bitmap: e.policy === 'minicopy' ? { started: true, sincePosition: recorded.position } : null,
  };
}

/** How the copy ended (or `running`), as `mount` knows it. */
export interface CopyEnd {
  /** `completed`, `failed`, `aborted` or `running`. */
  readonly outcome: string;
  /** Chunks copied; omitted while running in a server. */
  readonly chunksCopied?: number;
  /** Bytes copied; omitted while running in a server. */
  readonly bytesCopied?: number;
  /** Why it ended other than completed. */
  readonly reason?: string | null;
}

/** The document of a mount from its recorded `CopyStarted` and how the copy ended. */
export function mountDocument(policy: string, started: RecordedEvent, end: CopyEnd): MountDocument {
  const e = started.event as {
    member: string;
    kind: 'mini' | 'full';
    reason: string;
    source: string;
    chunks: number;
    bytes: number;
  };
  return {
    member: e.member,
    policy,
    position: started.position,
    time: isoTime(started.recordedAt),
    copy: { kind: e.kind, reason: e.reason, source: e.source, chunks: e.chunks, bytes: e.bytes },
    outcome: end.outcome,
    chunksCopied: end.chunksCopied ?? null,
    bytesCopied: end.bytesCopied ?? null,
    endReason: end.reason ?? null,
  };
}
