import type { EventStore } from '../../domain/ports/event-store.js';
import { ChunkHistory, type ChunkMark } from '../../projections/chunk-history.js';
import type { CopyJournal } from '../../projections/copy-journal.js';
import type { ProjectedState } from '../../projections/projected-state.js';
import { replayRange } from './replay-range.js';

/** One copy as `explain --json` reports it. */
export type ExplainedCopy = ReturnType<typeof explainedCopies>[number];

/** One bitmap's marks of a chunk, times as ISO strings. */
export type ExplainedBitmap = Omit<ReturnType<ChunkHistory['result']>[number], 'marks'> & {
  readonly marks: readonly (Omit<ChunkMark, 'recordedAt'> & { readonly time: string })[];
};

/** The writes that marked one chunk, per bitmap. */
export interface ExplainedChunk {
  /** The chunk. */
  readonly chunk: number;
  /** Every bitmap that marked it, ended ones first. */
  readonly bitmaps: readonly ExplainedBitmap[];
}

/** A window of the log with the times of its ends. */
export interface StoryWindow {
  /** First position. */
  readonly fromPosition: number;
  /** Last position (inclusive). */
  readonly toPosition: number;
  /** recordedAt of the first position, ISO; null when empty. */
  readonly fromTime: string | null;
  /** recordedAt of the last position, ISO; null when empty. */
  readonly toTime: string | null;
}

/** The `explain --chunk N --json` document (same field names as adapters/cli/commands/explain.ts). */
export interface ChunkStory {
  /** The window explained. */
  readonly window: StoryWindow;
  /** How the members came to agree at creation. */
  readonly origin: ProjectedState['set']['origin'];
  /** Copies started in the window, with their reasons and outcomes. */
  readonly copies: readonly ExplainedCopy[];
  /** Merges started in the window. */
  readonly merges: CopyJournal['merges'];
  /** The chunk's marks, per bitmap. */
  readonly chunk: ExplainedChunk;
}

/** Copies of the journal (of one member when given), in `explain --json`'s form. */
export function explainedCopies(journal: CopyJournal, member: string | undefined) {
  return journal.copies
    .filter((c) => member === undefined || c.member === member)
    .map((c) => ({
      member: c.member,
      kind: c.kind,
      reason: c.reason,
      policy: c.policy,
      source: c.source,
      startPosition: c.startPosition,
      startedAt: new Date(c.startedAt).toISOString(),
      chunksPlanned: c.chunksPlanned,
      bytesPlanned: c.bytesPlanned,
      chunksCopied: c.chunksDone,
      bytesCopied: c.bytesCopied,
      durationMs: c.durationMs,
      outcome: c.outcome,
      endReason: c.endReason,
    }));
}

/**
 * Which writes marked chunk `n` in which bitmap, up to the window's end. Folds from 0, through
 * the store's replay (write runs, no event object per write): the answer lists every bitmap
 * that ever marked the chunk with its first marks, and a snapshot holds neither which writes
 * marked a chunk nor the bitmaps that ended, so no later start would be exact.
 */
export async function explainChunk(
  store: EventStore,
  n: number,
  member: string | undefined,
  window: { readonly fromPosition: number; readonly toPosition: number },
): Promise<ExplainedChunk> {
  const history = new ChunkHistory(n);
  await replayRange(store, 0, window.toPosition + 1, {
    onWrites: (run) => history.applyWrites(run),
    onEvent: (recorded) => history.apply(recorded),
  });
  const bitmaps = history
    .result()
    .filter((b) => member === undefined || b.member === member)
    .map(({ marks, ...b }) => ({
      ...b,
      marks: marks
        .filter((m) => m.position >= window.fromPosition)
        .map(({ recordedAt, ...m }) => ({ ...m, time: new Date(recordedAt).toISOString() })),
    }));
  return { chunk: n, bitmaps };
}

/** The story of chunk `n` over `window`, with `state` the projections at the window's end. */
export async function chunkStory(
  store: EventStore,
  state: ProjectedState,
  n: number,
  window: StoryWindow,
): Promise<ChunkStory> {
  const inWindow = (p: number) => p >= window.fromPosition && p <= window.toPosition;
  return {
    window,
    origin: state.set.origin,
    copies: explainedCopies(state.journal, undefined).filter((c) => inWindow(c.startPosition)),
    merges: state.journal.merges.filter((m) => inWindow(m.startPosition)),
    chunk: await explainChunk(store, n, undefined, window),
  };
}
