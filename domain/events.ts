import { z } from 'zod';
import { EventInvalidError } from './errors.js';
import { MAX_VOLUME_BLOCKS } from './geometry.js';

/**
 * The event catalogue: one zod schema per event of docs/design.md. Every event carries its `type`
 * and a schema version `v`. Events read from outside the process (a store, HTTP, a file) go
 * through {@link parseEvent}; events built in-process are trusted and not re-validated on
 * the hot path.
 */

/** Current schema version of every event type. */
export const EVENT_SCHEMA_VERSION = 1;

const v = z.literal(EVENT_SCHEMA_VERSION);
const count = z
  .number()
  .int()
  .min(1)
  .max(2 ** 31);
const lbn = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const position = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const nonNegative = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const memberId = z.string().min(1).max(64);
const host = z.string().min(1).max(128);

/** What a member looked like when it left or came back: used to catch a member changed while away. */
export const fingerprintSchema = z.object({
  /** Member size in bytes. */
  sizeBytes: nonNegative,
  /** Inode number for image files; null for block devices or where unknown. */
  inode: nonNegative.nullable(),
  /** Modification time in ms for image files; null for block devices or where unknown. */
  mtimeMs: z.number().nullable(),
  /** Content sample: hash of chosen chunks of the member. */
  samples: z.array(z.object({ chunk: nonNegative, hash: z.string().min(1).max(128) })).max(4096),
});
/** A member's fingerprint (see {@link fingerprintSchema}). */
export type Fingerprint = z.infer<typeof fingerprintSchema>;

/** How a member leaves: `minicopy` keeps a write bitmap, `none` does not. */
export const dismountPolicySchema = z.enum(['minicopy', 'none']);
/** A dismount policy. */
export type DismountPolicy = z.infer<typeof dismountPolicySchema>;
/** How a member returns: by minicopy only, by minicopy if possible, or by full copy. */
export const mountPolicySchema = z.enum(['minicopy', 'minicopy-optional', 'full']);
/** A mount policy. */
export type MountPolicy = z.infer<typeof mountPolicySchema>;
/** What a copy copies: the marked chunks (`mini`) or every chunk (`full`). */
export const copyKindSchema = z.enum(['mini', 'full']);
/** A copy kind. */
export type CopyKind = z.infer<typeof copyKindSchema>;

/**
 * Why the members of a new set may be taken to hold the same data (md's initial resync,
 * OpenVMS's copy when a member joins):
 * - `fresh`: every member is a new sparse image this create made: all zeroes, identical;
 * - `assume-clean`: the operator said the members hold the same data (`--assume-clean`);
 *   nothing was copied and nothing is known about their contents;
 * - `copied`: the members in `copied` may differ from the first member and are owed a full
 *   copy from it before they are valid (they start as returning members).
 */
export const setOriginKindSchema = z.enum(['fresh', 'assume-clean', 'copied']);
/** A set origin kind. */
export type SetOriginKind = z.infer<typeof setOriginKindSchema>;
/** How a set's members came to agree; see {@link setOriginKindSchema}. */
export const setOriginSchema = z.object({
  kind: setOriginKindSchema,
  /** Members this create made as new sparse images (all zeroes at position 0). */
  created: z.array(memberId).max(6),
  /** Members owed the initial full copy from the first member; empty unless `kind` is `copied`. */
  copied: z.array(memberId).max(6),
});
/** A set's origin (see {@link setOriginSchema}). */
export type SetOrigin = z.infer<typeof setOriginSchema>;

/** The set is created with its geometry and members; always the event at position 0. */
export const shadowSetCreatedSchema = z.object({
  type: z.literal('ShadowSetCreated'),
  v,
  setId: z.string().min(1).max(128),
  blockSize: z.literal(512),
  // Not `count`: a volume is far more than the 2^31 blocks one write may cover.
  blocks: z.number().int().min(1).max(MAX_VOLUME_BLOCKS),
  chunkBlocks: count.max(2 ** 24),
  members: z
    .array(z.object({ id: memberId, path: z.string().min(1).max(4096) }))
    .min(2)
    .max(6),
  /** Absent in logs written before it existed: the members were then all taken as valid. */
  origin: setOriginSchema.optional(),
});
/** An application write of `count` blocks at `lbn`, logged before it reaches any member. */
export const blocksWrittenSchema = z.object({ type: z.literal('BlocksWritten'), v, lbn, count });
/** A trim of `count` blocks at `lbn`, logged before it reaches any member. */
export const blocksTrimmedSchema = z.object({ type: z.literal('BlocksTrimmed'), v, lbn, count });
/** A write-zeroes of `count` blocks at `lbn`, logged before it reaches any member. */
export const zeroesWrittenSchema = z.object({ type: z.literal('ZeroesWritten'), v, lbn, count });
/** A member left the set (DISMOUNT); with policy minicopy its write bitmap starts here. */
export const memberDismountedSchema = z.object({
  type: z.literal('MemberDismounted'),
  v,
  member: memberId,
  policy: dismountPolicySchema,
  fingerprint: fingerprintSchema.nullable(),
});
/** A dismounted or failed member asks to return (MOUNT). */
export const memberMountRequestedSchema = z.object({
  type: z.literal('MemberMountRequested'),
  v,
  member: memberId,
  policy: mountPolicySchema,
  /** The member as found on return; compared with the dismount fingerprint. */
  fingerprint: fingerprintSchema.nullable(),
});
/** A copy to a returning member starts, with its decision (mini or full) and the reason. */
export const copyStartedSchema = z.object({
  type: z.literal('CopyStarted'),
  v,
  member: memberId,
  source: memberId,
  kind: copyKindSchema,
  reason: z.string().min(1).max(1000),
  chunks: nonNegative,
  bytes: nonNegative,
  /** The host running the copy, on a set served by several hosts. */
  host: host.optional(),
});
/** A checkpoint of a running copy. */
export const copyProgressedSchema = z.object({
  type: z.literal('CopyProgressed'),
  v,
  member: memberId,
  chunksDone: nonNegative,
  /** Chunk at which a resumed copy starts again: every planned chunk below it is copied. */
  nextChunk: nonNegative,
  bytesCopied: nonNegative,
});
/** The copy finished: the member is valid again. */
export const copyCompletedSchema = z.object({
  type: z.literal('CopyCompleted'),
  v,
  member: memberId,
  bytesCopied: nonNegative,
  durationMs: nonNegative,
});
/** The copy stopped before the end: the member is dismounted again. */
export const copyAbortedSchema = z.object({
  type: z.literal('CopyAborted'),
  v,
  member: memberId,
  reason: z.string().min(1).max(1000),
  /** The target as left by the aborted copy; null when it could not be read (its bitmap is then unusable). */
  fingerprint: fingerprintSchema.nullable(),
});
/** A member was expelled after an I/O error. */
export const memberFailedSchema = z.object({
  type: z.literal('MemberFailed'),
  v,
  member: memberId,
  error: z.string().min(1).max(1000),
});
/** An operator deleted a member's write bitmap; its next return is a full copy. */
export const bitmapDeletedSchema = z.object({ type: z.literal('BitmapDeleted'), v, member: memberId });
/** Every write up to `position` is on every valid member (the minimerge bitmap starts after it). */
export const membersSyncedSchema = z.object({ type: z.literal('MembersSynced'), v, position });
/** A crash merge starts. */
export const mergeStartedSchema = z.object({
  type: z.literal('MergeStarted'),
  v,
  source: memberId,
  chunks: nonNegative,
  /** First position whose writes may not be on every member (the last MembersSynced position + 1). */
  fromPosition: position,
});
/** The crash merge finished: the members agree again. */
export const mergeCompletedSchema = z.object({
  type: z.literal('MergeCompleted'),
  v,
  chunks: nonNegative,
  durationMs: nonNegative,
});

/** A host starts serving the set (several hosts share one stream). */
export const hostJoinedSchema = z.object({ type: z.literal('HostJoined'), v, host });
/** A host stops serving the set. */
export const hostLeftSchema = z.object({ type: z.literal('HostLeft'), v, host });
/** Phase one of a dismount on a set served by several hosts: every host must acknowledge. */
export const memberDismountRequestedSchema = z.object({
  type: z.literal('MemberDismountRequested'),
  v,
  member: memberId,
  policy: dismountPolicySchema,
  /** The host that asked. */
  host,
});
/** A copy to `member` finished its pass: every host stalls its writes and acknowledges. */
export const copyFinishingSchema = z.object({ type: z.literal('CopyFinishing'), v, member: memberId, host });
/** What a host acknowledges in the multi-host protocols. */
export const acknowledgementSchema = z.enum([
  'dismount-reads',
  'dismount-writes',
  'copy-start',
  'copy-finish',
]);
/** A step of a multi-host protocol. */
export type Acknowledgement = z.infer<typeof acknowledgementSchema>;
/** A host did what a protocol step asked of it. */
export const hostAcknowledgedSchema = z.object({
  type: z.literal('HostAcknowledged'),
  v,
  host,
  member: memberId,
  /**
   * `dismount-reads`: it reads the leaving member no more; `dismount-writes`: its writes to it
   * are drained; `copy-start`: its writes logged before CopyStarted are drained; `copy-finish`:
   * its writes are drained and stalled.
   */
  step: acknowledgementSchema,
});

/** A checkpoint name: what `qemu:dirty-bitmap:<name>` offers over NBD. */
export const checkpointNameSchema = z.string().regex(/^[A-Za-z0-9._-]{1,64}$/);
/**
 * An operator named a point of the log (`shadowlog checkpoint`): the chunks written after
 * `position` are the checkpoint's dirty bitmap, computed from the log, never lost to a crash.
 */
export const checkpointCreatedSchema = z.object({
  type: z.literal('CheckpointCreated'),
  v,
  name: checkpointNameSchema,
  /** The last event before the checkpoint: every write after it is "since the checkpoint". */
  position,
});
/** An operator deleted a checkpoint; its name may be used again. */
export const checkpointDeletedSchema = z.object({
  type: z.literal('CheckpointDeleted'),
  v,
  name: checkpointNameSchema,
});

/**
 * A mount the set refused (policy `minicopy` without a usable bitmap, a member changed while
 * away, merging, not away): logged so every mount decision is in the log. It changes no state.
 */
export const mountRefusedSchema = z.object({
  type: z.literal('MountRefused'),
  v,
  member: memberId,
  policy: mountPolicySchema,
  reason: z.string().min(1).max(1000),
});
/** A dismount the set refused (last valid member, merging, a copy source): logged, changes no state. */
export const dismountRefusedSchema = z.object({
  type: z.literal('DismountRefused'),
  v,
  member: memberId,
  policy: dismountPolicySchema,
  reason: z.string().min(1).max(1000),
});

/** Every event of a shadow set stream. */
export const shadowEventSchema = z.discriminatedUnion('type', [
  shadowSetCreatedSchema,
  blocksWrittenSchema,
  blocksTrimmedSchema,
  zeroesWrittenSchema,
  memberDismountedSchema,
  memberMountRequestedSchema,
  copyStartedSchema,
  copyProgressedSchema,
  copyCompletedSchema,
  copyAbortedSchema,
  memberFailedSchema,
  bitmapDeletedSchema,
  membersSyncedSchema,
  mergeStartedSchema,
  mergeCompletedSchema,
  hostJoinedSchema,
  hostLeftSchema,
  memberDismountRequestedSchema,
  copyFinishingSchema,
  hostAcknowledgedSchema,
  checkpointCreatedSchema,
  checkpointDeletedSchema,
  mountRefusedSchema,
  dismountRefusedSchema,
]);

/** Any event of a shadow set stream. */
export type ShadowEvent = z.infer<typeof shadowEventSchema>;
/** The name of an event type. */
export type ShadowEventType = ShadowEvent['type'];
/** The event of type `T`. */
export type EventOf<T extends ShadowEventType> = Extract<ShadowEvent, { type: T }>;
/** The ShadowSetCreated event. */
export type ShadowSetCreated = EventOf<'ShadowSetCreated'>;
/** The BlocksWritten event. */
export type BlocksWritten = EventOf<'BlocksWritten'>;
/** The BlocksTrimmed event. */
export type BlocksTrimmed = EventOf<'BlocksTrimmed'>;
/** The ZeroesWritten event. */
export type ZeroesWritten = EventOf<'ZeroesWritten'>;
/** The three events that change volume contents; they share one compact encoding. */
export type WriteEvent = BlocksWritten | BlocksTrimmed | ZeroesWritten;
/** Names of the write events. */
export type WriteEventType = WriteEvent['type'];

/** Every event type name, in catalogue order. */
export const EVENT_TYPES: readonly ShadowEventType[] = shadowEventSchema.options.map(
  (o) => o.shape.type.value,
);

/** True for BlocksWritten, BlocksTrimmed and ZeroesWritten. */
export function isWriteEvent(event: ShadowEvent): event is WriteEvent {
  return event.type === 'BlocksWritten' || event.type === 'BlocksTrimmed' || event.type === 'ZeroesWritten';
}

/** An event as stored: its place in the stream and when it was recorded. */
export interface RecordedEvent {
  /** Place in the set's stream: 0 for ShadowSetCreated, then 1, 2, ... */
  readonly position: number;
  /** Milliseconds since the Unix epoch when the store recorded it. */
  readonly recordedAt: number;
  /** The event itself. */
  readonly event: ShadowEvent;
}

/**
 * Validate an event that came from outside the process. Throws {@link EventInvalidError}
 * naming the first offending field.
 */
export function parseEvent(input: unknown): ShadowEvent {
  if (typeof input !== 'object' || input === null) {
    throw new EventInvalidError('', 'expected an object');
  }
  const type = (input as { type?: unknown }).type;
  if (typeof type !== 'string' || !(EVENT_TYPES as readonly string[]).includes(type)) {
    throw new EventInvalidError('type', `unknown event type ${JSON.stringify(type)}`);
  }
  const result = shadowEventSchema.safeParse(input);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const field = issue ? issue.path.map(String).join('.') : '';
  throw new EventInvalidError(field, issue ? issue.message : 'invalid');
}

/** Builders for in-process events, so callers never spell `v` by hand. */
export function writeEvent(type: WriteEventType, lbn: number, count: number): WriteEvent {
  return { type, v: EVENT_SCHEMA_VERSION, lbn, count };
}
