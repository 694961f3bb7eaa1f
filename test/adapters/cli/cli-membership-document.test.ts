import { describe, expect, it } from 'vitest';
import { dismountDocument, mountDocument } from '../../../adapters/cli/membership-document.js';
import { countOf, formatMiBps, isoTime, plural } from '../../../adapters/cli/number-format.js';
import type { RecordedEvent } from '../../../domain/events.js';

const AT = Date.UTC(2026, 11, 1, 8, 23, 0);
const fingerprint = { sizeBytes: 1, inode: 1, mtimeMs: 1, samples: [{ chunk: 0, hash: 'ab' }] };

describe('CLI formatting: numbers, plurals, times and the mount/dismount documents', () => {
  it('counts take separators and the right plural', () => {
    expect(countOf(1, 'range')).toBe('1 range');
    expect(countOf(0, 'range')).toBe('0 ranges');
    expect(countOf(7771, 'chunk')).toBe('7,771 chunks');
    expect(countOf(2, 'entry')).toBe('2 entries');
    expect(plural(3, 'copy')).toBe('copies');
    expect(formatMiBps(3 * 1024 * 1024)).toBe('3.0 MiB/s');
    expect(isoTime(AT)).toBe('2026-12-01T08:23:00.000Z');
    expect(isoTime(null)).toBeNull();
  });

  it('dismount: member, policy, position, ISO time and the bitmap, without the fingerprint', () => {
    const recorded = {
      position: 41,
      recordedAt: AT,
      event: { type: 'MemberDismounted', v: 1, member: 'm2', policy: 'minicopy', fingerprint },
    } as unknown as RecordedEvent;
    expect(dismountDocument(recorded)).toEqual({
      member: 'm2',
      policy: 'minicopy',
      position: 41,
      time: '2026-12-01T08:23:00.000Z',
      bitmap: { started: true, sincePosition: 41 },
    });
    const none = { ...recorded, event: { ...recorded.event, policy: 'none' } } as RecordedEvent;
    expect(dismountDocument(none).bitmap).toBeNull();
  });

  it('mount: the copy decision and how it ended', () => {
    const started = {
      position: 50,
      recordedAt: AT,
      event: {
        type: 'CopyStarted',
        v: 1,
        member: 'm2',
        source: 'm1',
        kind: 'mini',
        reason: 'bitmap',
        chunks: 3,
        bytes: 9,
      },
    } as unknown as RecordedEvent;
    expect(
      mountDocument('minicopy', started, { outcome: 'completed', chunksCopied: 3, bytesCopied: 9 }),
    ).toEqual({
      member: 'm2',
      policy: 'minicopy',
      position: 50,
      time: '2026-12-01T08:23:00.000Z',
      copy: { kind: 'mini', reason: 'bitmap', source: 'm1', chunks: 3, bytes: 9 },
      outcome: 'completed',
      chunksCopied: 3,
      bytesCopied: 9,
      endReason: null,
    });
    expect(mountDocument('full', started, { outcome: 'running' })).toMatchObject({
      outcome: 'running',
      chunksCopied: null,
      bytesCopied: null,
    });
  });
});
