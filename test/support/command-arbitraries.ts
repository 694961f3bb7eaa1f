import fc from 'fast-check';
import { ShadowlogError } from '../../domain/errors.js';
import type { RecordedEvent } from '../../domain/events.js';
import type { ShadowCommand } from '../../domain/shadow-set-commands.js';
import { fingerprint, SetHarness } from './set-harness.js';

/** Geometry of the small sets the property tests use: chunks of 16 blocks, last one clipped. */
export const TEST_CHUNK_BLOCKS = 16;
export const TEST_CHUNKS = 24;
export const TEST_BLOCKS = TEST_CHUNK_BLOCKS * TEST_CHUNKS - 5;
export const TEST_SIZE_BYTES = TEST_BLOCKS * 512;

const member = fc.constantFrom('m1', 'm2', 'm3', '/dev/m2.img');
const fp = fc.oneof(
  fc.constant(null),
  fc.integer({ min: 0, max: 1 }).map((tag) => fingerprint(TEST_SIZE_BYTES, tag)),
);

/** Random commands for a 3-member test set, valid or not: the decider sorts them out. */
export const commandArbitraries: fc.Arbitrary<ShadowCommand>[] = [
  fc
    .tuple(
      fc.integer({ min: 0, max: TEST_BLOCKS - 1 }),
      fc.integer({ min: 1, max: 40 }),
      fc.constantFrom('write', 'trim', 'zeroes'),
    )
    .map(([lbn, count, kind]) => ({
      type: 'WriteBlocks' as const,
      kind: kind as 'write',
      lbn,
      count: Math.min(count, TEST_BLOCKS - lbn),
    })),
  fc.tuple(member, fc.constantFrom('minicopy', 'minicopy', 'minicopy', 'none')).map(([m, policy]) => ({
    type: 'DismountMember' as const,
    member: m,
    policy: policy as 'none',
    fingerprint: fingerprint(TEST_SIZE_BYTES),
  })),
  fc
    .tuple(member, fc.constantFrom('minicopy', 'minicopy-optional', 'minicopy-optional', 'full'), fp)
    .map(([m, policy, f]) => ({
      type: 'RequestMount' as const,
      member: m,
      policy: policy as 'full',
      fingerprint: f,
    })),
  fc
    .tuple(member, fc.option(member, { nil: undefined }))
    .map(([m, source]) => ({ type: 'StartCopy' as const, member: m, source })),
  fc.tuple(member, fc.nat(TEST_CHUNKS), fc.nat(TEST_CHUNKS)).map(([m, done, next]) => ({
    type: 'ProgressCopy' as const,
    member: m,
    chunksDone: done,
    nextChunk: next,
    bytesCopied: done * 512,
  })),
  member.map((m) => ({ type: 'CompleteCopy' as const, member: m, bytesCopied: 0, durationMs: 1 })),
  fc
    .tuple(member, fp)
    .map(([m, f]) => ({ type: 'AbortCopy' as const, member: m, reason: 'test', fingerprint: f })),
  member.map((m) => ({ type: 'FailMember' as const, member: m, error: 'EIO' })),
  member.map((m) => ({ type: 'DeleteBitmap' as const, member: m })),
  fc.nat(200).map((p) => ({ type: 'SyncMembers' as const, position: p })),
  fc.option(member, { nil: undefined }).map((source) => ({ type: 'StartMerge' as const, source, chunks: 3 })),
  fc.constant({ type: 'CompleteMerge' as const, chunks: 3, durationMs: 1 }),
];

/** Any command, writes weighted up: logs are mostly writes. */
// Weights in catalogue order: write, dismount, mount, start copy, progress, complete, abort,
// fail, delete bitmap, sync, start merge, complete merge. Failures and merges are rare so
// that members get to return by minicopy often.
const WEIGHTS = [20, 6, 8, 8, 3, 4, 2, 1, 1, 2, 1, 3];
export const commandArb: fc.Arbitrary<ShadowCommand> = fc.oneof(
  ...commandArbitraries.map((arbitrary, i) => ({ arbitrary, weight: WEIGHTS[i]! })),
);

/** Run commands on a fresh test set, skipping refused ones; returns the harness. */
export function runCommands(commands: readonly ShadowCommand[]): SetHarness {
  const h = SetHarness.create(TEST_BLOCKS, 3, TEST_CHUNK_BLOCKS);
  for (const command of commands) {
    try {
      h.run(command);
    } catch (error) {
      if (!(error instanceof ShadowlogError) || error.code === 'INVARIANT_VIOLATED') throw error;
    }
  }
  return h;
}

/** A random valid log of a 3-member set. */
export const recordedLogArb: fc.Arbitrary<RecordedEvent[]> = fc
  .array(commandArb, { minLength: 10, maxLength: 200, size: 'max' })
  .map((commands) => runCommands(commands).log);
