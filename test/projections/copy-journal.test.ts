import { describe, expect, it } from 'vitest';
import { initialCopyJournal } from '../../projections/copy-journal.js';
import {
  cloneProjectedState,
  initialProjectedState,
  projectBatch,
} from '../../projections/projected-state.js';
import { fingerprint, SetHarness } from '../support/set-harness.js';

const BLOCKS = 127 * 10;
const SIZE = BLOCKS * 512;

function journalOf(h: SetHarness) {
  return projectBatch(initialProjectedState(), h.log).journal;
}

describe('copy journal', () => {
  it('records a minicopy from decision to completion', () => {
    const h = SetHarness.create(BLOCKS);
    h.run({ type: 'DismountMember', member: 'm2', policy: 'minicopy', fingerprint: fingerprint(SIZE) });
    h.run({ type: 'WriteBlocks', kind: 'write', lbn: 0, count: 1 });
    h.run({ type: 'RequestMount', member: 'm2', policy: 'minicopy', fingerprint: fingerprint(SIZE) });
    h.run({ type: 'StartCopy', member: 'm2' });
    h.run({ type: 'ProgressCopy', member: 'm2', chunksDone: 1, nextChunk: 1, bytesCopied: 65024 });
    h.run({ type: 'CompleteCopy', member: 'm2', bytesCopied: 65024, durationMs: 12 });
    expect(journalOf(h)).toEqual({
      copies: [
        {
          member: 'm2',
          source: 'm1',
          kind: 'mini',
          reason: 'bitmap since position 1: 1 of 10 chunks marked (10.0%)',
          policy: 'minicopy',
          mountPosition: 3,
          startPosition: 4,
          startedAt: h.log[4]!.recordedAt,
          chunksPlanned: 1,
          bytesPlanned: 65024,
          chunksDone: 1,
          bytesCopied: 65024,
          checkpoints: 1,
          outcome: 'completed',
          endReason: null,
          endPosition: 6,
          durationMs: 12,
        },
      ],
      merges: [],
      pendingMounts: {},
    });
  });

  it('records aborted and failed copies and merges', () => {
    const h = SetHarness.create(BLOCKS);
    h.run({ type: 'DismountMember', member: 'm2', policy: 'none', fingerprint: null });
    h.run({ type: 'RequestMount', member: 'm2', policy: 'full', fingerprint: null });
    h.run({ type: 'StartCopy', member: 'm2' });
    h.run({ type: 'AbortCopy', member: 'm2', reason: 'operator stop', fingerprint: null });
    h.run({ type: 'RequestMount', member: 'm2', policy: 'full', fingerprint: null });
    h.run({ type: 'StartCopy', member: 'm2' });
    h.run({ type: 'FailMember', member: 'm2', error: 'EIO' });
    h.run({ type: 'StartMerge', chunks: 2 });
    h.run({ type: 'CompleteMerge', chunks: 2, durationMs: 3 });
    const journal = journalOf(h);
    expect(journal.copies.map((c) => [c.outcome, c.endReason])).toEqual([
      ['aborted', 'operator stop'],
      ['failed', 'target failed: EIO'],
    ]);
    expect(journal.merges).toEqual([
      {
        source: 'm1',
        chunks: 2,
        fromPosition: 0,
        startPosition: 8,
        startedAt: h.log[8]!.recordedAt,
        outcome: 'completed',
        endPosition: 9,
        durationMs: 3,
      },
    ]);
    const cloned = cloneProjectedState(projectBatch(initialProjectedState(), h.log));
    expect(cloned.journal).toEqual(journal);
    expect(initialCopyJournal()).toEqual({ copies: [], merges: [], pendingMounts: {} });
  });
});
