import type { Acknowledgement, DismountPolicy, Fingerprint, MountPolicy } from './events.js';

/**
 * Commands to the shadow set decider. A command is a request; the decider turns it into
 * events or refuses it with a CommandRejectedError that says why. Members are named by id
 * (`m1`) or by path.
 */
export type ShadowCommand =
  | CreateSet
  | WriteBlocks
  | DismountMember
  | RequestMount
  | StartCopy
  | ProgressCopy
  | CompleteCopy
  | AbortCopy
  | FailMember
  | DeleteBitmap
  | SyncMembers
  | StartMerge
  | CompleteMerge
  | JoinHost
  | LeaveHost
  | RequestDismount
  | Acknowledge
  | FinishCopy
  | CreateCheckpoint
  | DeleteCheckpoint
  | RecordRefusal;

/** Log that a mount or dismount was refused, with the reason the decider gave. */
export interface RecordRefusal {
  /** Discriminator of {@link ShadowCommand}. */
  readonly type: 'RecordRefusal';
  /** What was refused. */
  readonly refused: 'mount' | 'dismount';
  /** Member id or path. */
  readonly member: string;
  /** The policy asked for (a mount policy for a mount, a dismount policy for a dismount). */
  readonly policy: MountPolicy | DismountPolicy;
  /** The refusal's message. */
  readonly reason: string;
}

/** CHECKPOINT name: name the current end of the log (`shadowlog checkpoint`). */
export interface CreateCheckpoint {
  /** Discriminator of {@link ShadowCommand}. */
  readonly type: 'CreateCheckpoint';
  /** The checkpoint's name (`[A-Za-z0-9._-]{1,64}`, not a member id, not `since-…`). */
  readonly name: string;
}

/** Delete a checkpoint by name. */
export interface DeleteCheckpoint {
  /** Discriminator of {@link ShadowCommand}. */
  readonly type: 'DeleteCheckpoint';
  /** The checkpoint's name. */
  readonly name: string;
}

/** Create a shadow set of 2–6 members of equal size. */
export interface CreateSet {
  /** Discriminator of {@link ShadowCommand}. */
  readonly type: 'CreateSet';
  /** The set's name (also its NBD export name). */
  readonly setId: string;
  /** Volume size in 512-byte blocks. */
  readonly blocks: number;
  /** Blocks per bitmap chunk; 127 when omitted. */
  readonly chunkBlocks?: number;
  /** Member paths in order; they get ids m1, m2, ... */
  readonly memberPaths: readonly string[];
  /** Size in bytes each member was found to have, in the same order; all must equal the volume size. */
  readonly memberSizesBytes: readonly number[];
  /**
   * What storage each member is, in the same order, in words (`file on device 2049, inode 12`,
   * `block device 8:32`): two members with the same identity are one file or device reached by
   * two paths (a hard link, a symlink) and are refused. Omitted: not checked.
   */
  readonly memberIdentities?: readonly string[];
  /**
   * Per member, in the same order: true when this create made it as a new sparse image (all
   * zeroes). Given, the event records the set's origin and members that may differ from the
   * first get the initial copy; omitted, no origin is recorded and every member starts valid.
   */
  readonly createdFresh?: readonly boolean[];
  /** The operator asserts the members already hold the same data (`--assume-clean`): no initial copy. */
  readonly assumeClean?: boolean;
}

/** An application write, trim or write-zeroes. */
export interface WriteBlocks {
  /** Discriminator of {@link ShadowCommand}. */
  readonly type: 'WriteBlocks';
  /** What the application did to the range. */
  readonly kind: 'write' | 'trim' | 'zeroes';
  /** First block. */
  readonly lbn: number;
  /** Blocks. */
  readonly count: number;
}

/** DISMOUNT member /POLICY=... */
export interface DismountMember {
  /** Discriminator of {@link ShadowCommand}. */
  readonly type: 'DismountMember';
  /** Member id or path. */
  readonly member: string;
  /** `minicopy` starts a write bitmap; `none` does not. */
  readonly policy: DismountPolicy;
  /** The member as it is when it leaves; needed to trust the bitmap on return. */
  readonly fingerprint: Fingerprint | null;
}

/** MOUNT member /POLICY=... */
export interface RequestMount {
  /** Discriminator of {@link ShadowCommand}. */
  readonly type: 'RequestMount';
  /** Member id or path. */
  readonly member: string;
  /** How to return: minicopy only, minicopy if possible, or full copy. */
  readonly policy: MountPolicy;
  /** The member as found now. */
  readonly fingerprint: Fingerprint | null;
}

/** Start the copy of a returning member; the decider plans mini or full. */
export interface StartCopy {
  /** Discriminator of {@link ShadowCommand}. */
  readonly type: 'StartCopy';
  /** Member id or path of the returning member. */
  readonly member: string;
  /** Source member; the first valid member when omitted. */
  readonly source?: string;
  /** The host that runs the copy, on a set served by several hosts. */
  readonly host?: string;
}

/** Checkpoint of a running copy. */
export interface ProgressCopy {
  /** Discriminator of {@link ShadowCommand}. */
  readonly type: 'ProgressCopy';
  /** The copy target. */
  readonly member: string;
  /** Planned chunks copied so far. */
  readonly chunksDone: number;
  /** Every planned chunk below this one is copied. */
  readonly nextChunk: number;
  /** Bytes copied so far. */
  readonly bytesCopied: number;
}

/** The copy finished: the member becomes valid. */
export interface CompleteCopy {
  /** Discriminator of {@link ShadowCommand}. */
  readonly type: 'CompleteCopy';
  /** The copy target. */
  readonly member: string;
  /** Bytes the copy copied in all. */
  readonly bytesCopied: number;
  /** Wall time of the copy. */
  readonly durationMs: number;
}

/** The copy stopped before the end; the member stays away. */
export interface AbortCopy {
  /** Discriminator of {@link ShadowCommand}. */
  readonly type: 'AbortCopy';
  /** The copy target. */
  readonly member: string;
  /** Why, in words. */
  readonly reason: string;
  /** The target as the copy left it; null when it could not be read. */
  readonly fingerprint: Fingerprint | null;
}

/** An I/O error on a member: expel it. */
export interface FailMember {
  /** Discriminator of {@link ShadowCommand}. */
  readonly type: 'FailMember';
  /** The member that failed. */
  readonly member: string;
  /** The error, in words. */
  readonly error: string;
}

/** DELETE/BITMAP: drop a member's bitmap; its next return is a full copy. */
export interface DeleteBitmap {
  /** Discriminator of {@link ShadowCommand}. */
  readonly type: 'DeleteBitmap';
  /** Member id or path. */
  readonly member: string;
}

/** Every write up to `position` reached every valid member and was flushed. */
export interface SyncMembers {
  /** Discriminator of {@link ShadowCommand}. */
  readonly type: 'SyncMembers';
  /** Highest position known to be everywhere. */
  readonly position: number;
}

/** Begin a crash merge of the chunks written after the last sync. */
export interface StartMerge {
  /** Discriminator of {@link ShadowCommand}. */
  readonly type: 'StartMerge';
  /** The member whose data wins; the first valid member when omitted. */
  readonly source?: string;
  /** Chunks to merge. */
  readonly chunks: number;
}

/** The crash merge finished: every valid member holds the same data. */
export interface CompleteMerge {
  /** Discriminator of {@link ShadowCommand}. */
  readonly type: 'CompleteMerge';
  /** Chunks merged. */
  readonly chunks: number;
  /** Wall time of the merge. */
  readonly durationMs: number;
}

/** A host starts serving the set (sets served by several hosts). */
export interface JoinHost {
  /** Discriminator of {@link ShadowCommand}. */
  readonly type: 'JoinHost';
  /** Host name, unique among the hosts of the set. */
  readonly host: string;
}

/** A host stops serving the set. */
export interface LeaveHost {
  /** Discriminator of {@link ShadowCommand}. */
  readonly type: 'LeaveHost';
  /** Host name. */
  readonly host: string;
}

/** Phase one of a dismount on a set served by several hosts. */
export interface RequestDismount {
  /** Discriminator of {@link ShadowCommand}. */
  readonly type: 'RequestDismount';
  /** Member id or path. */
  readonly member: string;
  /** `minicopy` starts a write bitmap at the cut; `none` does not. */
  readonly policy: DismountPolicy;
  /** The host asking. */
  readonly host: string;
}

/** A host acknowledges a step of a multi-host protocol. */
export interface Acknowledge {
  /** Discriminator of {@link ShadowCommand}. */
  readonly type: 'Acknowledge';
  /** Member id. */
  readonly member: string;
  /** The acknowledging host. */
  readonly host: string;
  /** What it acknowledges. */
  readonly step: Acknowledgement;
}

/** The copy's pass is done: ask every host to drain and stall its writes for the last pass. */
export interface FinishCopy {
  /** Discriminator of {@link ShadowCommand}. */
  readonly type: 'FinishCopy';
  /** The copy target. */
  readonly member: string;
  /** The host running the copy. */
  readonly host: string;
}
