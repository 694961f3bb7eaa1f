import { describe, expect, it } from 'vitest';
import { EventInvalidError } from '../../domain/errors.js';
import { EVENT_TYPES, isWriteEvent, parseEvent, writeEvent } from '../../domain/events.js';

const fp = { sizeBytes: 512, inode: 1, mtimeMs: 2, samples: [{ chunk: 0, hash: 'ab' }] };
const valid = [
  {
    type: 'ShadowSetCreated',
    v: 1,
    setId: 'DSA1',
    blockSize: 512,
    blocks: 100,
    chunkBlocks: 127,
    members: [
      { id: 'm1', path: '/a' },
      { id: 'm2', path: '/b' },
    ],
  },
  { type: 'BlocksWritten', v: 1, lbn: 0, count: 1 },
  { type: 'BlocksTrimmed', v: 1, lbn: 5, count: 2 },
  { type: 'ZeroesWritten', v: 1, lbn: 5, count: 2 },
  { type: 'MemberDismounted', v: 1, member: 'm2', policy: 'minicopy', fingerprint: fp },
  { type: 'MemberMountRequested', v: 1, member: 'm2', policy: 'minicopy-optional', fingerprint: null },
  { type: 'CopyStarted', v: 1, member: 'm2', source: 'm1', kind: 'mini', reason: 'r', chunks: 1, bytes: 512 },
  { type: 'CopyProgressed', v: 1, member: 'm2', chunksDone: 1, nextChunk: 2, bytesCopied: 512 },
  { type: 'CopyCompleted', v: 1, member: 'm2', bytesCopied: 512, durationMs: 3 },
  { type: 'CopyAborted', v: 1, member: 'm2', reason: 'operator', fingerprint: fp },
  { type: 'MemberFailed', v: 1, member: 'm2', error: 'EIO' },
  { type: 'BitmapDeleted', v: 1, member: 'm2' },
  { type: 'MembersSynced', v: 1, position: 4 },
  { type: 'MergeStarted', v: 1, source: 'm1', chunks: 3, fromPosition: 5 },
  { type: 'MergeCompleted', v: 1, chunks: 3, durationMs: 9 },
  { type: 'HostJoined', v: 1, host: 'a' },
  { type: 'HostLeft', v: 1, host: 'a' },
  { type: 'MemberDismountRequested', v: 1, member: 'm2', policy: 'none', host: 'a' },
  { type: 'CopyFinishing', v: 1, member: 'm2', host: 'a' },
  { type: 'HostAcknowledged', v: 1, host: 'b', member: 'm2', step: 'copy-finish' },
  { type: 'CheckpointCreated', v: 1, name: 'b1', position: 41 },
  { type: 'CheckpointDeleted', v: 1, name: 'b1' },
  { type: 'MountRefused', v: 1, member: 'm2', policy: 'minicopy', reason: 'no usable bitmap' },
  { type: 'DismountRefused', v: 1, member: 'm1', policy: 'none', reason: 'last valid member' },
];

describe('event catalogue', () => {
  it('has one schema per event of docs/design.md and parses each', () => {
    expect(EVENT_TYPES).toHaveLength(24);
    expect(new Set(valid.map((e) => e.type))).toEqual(new Set(EVENT_TYPES));
    for (const event of valid) expect(parseEvent(structuredClone(event))).toEqual(event);
  });

  it('names the offending field of a malformed event', () => {
    const cases: [unknown, string][] = [
      [{ type: 'BlocksWritten', v: 1, lbn: -1, count: 1 }, 'lbn'],
      [{ type: 'BlocksWritten', v: 1, lbn: 0, count: 0 }, 'count'],
      [{ type: 'BlocksWritten', v: 2, lbn: 0, count: 1 }, 'v'],
      [{ ...valid[0], members: [{ id: 'm1', path: '/a' }] }, 'members'],
      [
        {
          ...valid[0],
          members: [
            { id: 'm1', path: '/a' },
            { id: '', path: '/b' },
          ],
        },
        'members.1.id',
      ],
      [{ ...valid[4], fingerprint: { ...fp, sizeBytes: 'x' } }, 'fingerprint.sizeBytes'],
      [{ ...valid[4], policy: 'sometimes' }, 'policy'],
    ];
    for (const [input, field] of cases) {
      try {
        parseEvent(input);
        expect.unreachable(`accepted ${JSON.stringify(input)}`);
      } catch (error) {
        expect(error).toBeInstanceOf(EventInvalidError);
        expect((error as EventInvalidError).field).toBe(field);
        expect((error as EventInvalidError).code).toBe('EVENT_INVALID');
        expect((error as Error).message).toContain(field);
      }
    }
  });

  it('rejects unknown types and non-objects with a typed error', () => {
    expect(() => parseEvent({ type: 'BlocksRead' })).toThrow(/unknown event type "BlocksRead"/);
    expect(() => parseEvent(null)).toThrow(EventInvalidError);
    expect(() => parseEvent('BlocksWritten')).toThrow(EventInvalidError);
    expect(() => parseEvent({})).toThrow(/field 'type'/);
  });

  it('tells write events apart', () => {
    expect(isWriteEvent(writeEvent('BlocksWritten', 1, 2))).toBe(true);
    expect(isWriteEvent(writeEvent('ZeroesWritten', 1, 2))).toBe(true);
    expect(isWriteEvent(writeEvent('BlocksTrimmed', 1, 2))).toBe(true);
    expect(isWriteEvent(parseEvent(valid[12]))).toBe(false);
  });
});
