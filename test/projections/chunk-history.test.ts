import { describe, expect, it } from 'vitest';
import { ChunkHistory } from '../../projections/chunk-history.js';
import { fingerprint, SetHarness } from '../support/set-harness.js';

const BLOCKS = 127 * 10;
const SIZE = BLOCKS * 512;

describe('chunk history', () => {
  it('lists the writes that marked a chunk, per bitmap', () => {
    const h = SetHarness.create(BLOCKS);
    h.run({ type: 'WriteBlocks', kind: 'write', lbn: 130, count: 1 }); // before any bitmap: not a mark
    h.run({ type: 'DismountMember', member: 'm2', policy: 'minicopy', fingerprint: fingerprint(SIZE) });
    h.run({ type: 'WriteBlocks', kind: 'write', lbn: 127, count: 2 }); // chunk 1
    h.run({ type: 'WriteBlocks', kind: 'write', lbn: 0, count: 1 }); // chunk 0
    h.run({ type: 'DismountMember', member: 'm3', policy: 'minicopy', fingerprint: fingerprint(SIZE) });
    h.run({ type: 'WriteBlocks', kind: 'trim', lbn: 200, count: 100 }); // chunks 1-2
    h.run({ type: 'RequestMount', member: 'm2', policy: 'minicopy', fingerprint: fingerprint(SIZE) });
    h.run({ type: 'StartCopy', member: 'm2' });
    h.run({ type: 'WriteBlocks', kind: 'write', lbn: 127, count: 1 }); // m2 copying: marks m3 only
    h.run({ type: 'CompleteCopy', member: 'm2', bytesCopied: 1, durationMs: 1 });
    const history = new ChunkHistory(1);
    for (const r of h.log) history.apply(r);
    const result = history.result();
    expect(result.map((b) => [b.member, b.sincePosition, b.endPosition, b.endedBy])).toEqual([
      ['m2', 2, 10, 'CopyCompleted'],
      ['m3', 5, null, null],
    ]);
    expect(result[0]!.marks.map((m) => [m.position, m.type, m.lbn, m.count])).toEqual([
      [3, 'BlocksWritten', 127, 2],
      [6, 'BlocksTrimmed', 200, 100],
    ]);
    expect(result[1]!.marks.map((m) => m.position)).toEqual([6, 9]);
  });

  it('bounds the marks it keeps and rejects chunks outside the volume', () => {
    const h = SetHarness.create(BLOCKS);
    h.run({ type: 'DismountMember', member: 'm2', policy: 'minicopy', fingerprint: fingerprint(SIZE) });
    for (let i = 0; i < 10; i++) h.run({ type: 'WriteBlocks', kind: 'write', lbn: 0, count: 1 });
    const history = new ChunkHistory(0, 4);
    for (const r of h.log) history.apply(r);
    expect(history.result()[0]!.marks).toHaveLength(4);
    expect(history.result()[0]!.marksNotKept).toBe(6);
    const outside = new ChunkHistory(10);
    expect(() =>
      h.log.forEach((r) => {
        outside.apply(r);
      }),
    ).toThrow(/chunk 10 is outside the volume/);
  });
});
