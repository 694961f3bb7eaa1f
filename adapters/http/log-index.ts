import { ChunkBitmap } from '../../domain/chunk-bitmap.js';
import { assert } from '../../domain/errors.js';
import type { RecordedEvent } from '../../domain/events.js';
import type { ReplayVisitor, Subscription } from '../../domain/ports/event-store.js';
import type { WriteRun } from '../../domain/write-run.js';
import { replayRange } from '../../processes/queries/replay-range.js';
import { MinimergeBitmap, minimergeVisitor } from '../../projections/minimerge-bitmap.js';
import {
  initialProjectedState,
  type ProjectedState,
  project,
  projectWrites,
} from '../../projections/projected-state.js';
import { decodeProjectedState, encodeProjectedState } from '../../projections/state-snapshot.js';
import type { LogReader } from './log-reader.js';
import { type MemorySnapshot, type MemorySnapshotBounds, MemorySnapshots } from './memory-snapshots.js';
import { TimelineBins } from './timeline-bins.js';

/** The projections and the minimerge bitmap at one position. */
export interface IndexedState {
  /** Every projection right after the position. */
  readonly state: ProjectedState;
  /** Chunks written since the last sync (what a crash merge would visit), null before the set exists. */
  readonly minimerge: MinimergeBitmap | null;
}

/** Events per replay of the first pass: between two, it notices close(). */
const PASS_SLICE_EVENTS = 1 << 20;
/** Bounds of the in-memory snapshots: a slider move replays at most ~log/1024 events (8192 on 10M). */
const SNAPSHOT_BOUNDS = { everyEvents: 4096, maxCount: 2048, maxBytes: 256 * 1024 * 1024 } as const;

/**
 * Thrown out of a fold when the minimerge bitmap must take events `from .. to` again (the sync
 * point moved back over them): the fold is synchronous inside the store's replay, the refold
 * reads the log, so the first pass stops its replay there, refolds, and goes on after `to`.
 */
class MinimergeRefold {
  constructor(
    readonly from: number,
    readonly to: number,
  ) {}
}

/** Entries `start .. end - 1` of `run` as a run (views, no copy; the run itself when whole). */
function subRun(run: WriteRun, start: number, end: number): WriteRun {
  if (start === 0 && end === run.length) return run;
  return {
    firstPosition: run.firstPosition + start,
    length: end - start,
    kinds: run.kinds.subarray(start, end),
    lbns: run.lbns.subarray(start, end),
    counts: run.counts.subarray(start, end),
    recordedAts: run.recordedAts.subarray(start, end),
  };
}

/** First position whose writes the minimerge bitmap of `state` holds (as `show` computes it). */
function minimergeFrom(state: ProjectedState): number {
  const set = state.set;
  return set.merge ? set.merge.fromPosition : (set.synced?.position ?? -1) + 1;
}

/**
 * The read API's view of a log: one pass on open folds the whole log once (the timeline, the
 * projections, the minimerge bitmap, in-memory snapshots), then it follows the log (the
 * store's subscription: a running engine's appends, or another process's through the
 * embedded store's read-only follow) and folds each new event once. Every question of the
 * page is then answered from memory plus at most one snapshot interval of replay.
 */
export class LogIndex {
  private started: Promise<void> | null = null;
  private live: ProjectedState;
  private minimerge: MinimergeBitmap | null = null;
  private readonly snapshots: MemorySnapshots;
  private readonly timelineBins: TimelineBins;
  private readonly listeners = new Set<(batch: readonly RecordedEvent[]) => void>();
  private subscription: Subscription | null = null;
  private closed = false;
  private last = -1;
  private firstTimeMs = 0;
  private lastTimeMs = 0;

  /** @param bounds of the in-memory snapshots (tests make them small) */
  constructor(
    private readonly reader: LogReader,
    bounds: MemorySnapshotBounds = SNAPSHOT_BOUNDS,
  ) {
    this.snapshots = new MemorySnapshots(bounds);
    this.live = initialProjectedState();
    this.timelineBins = new TimelineBins(reader.firstPosition);
  }

  /**
   * Resolves when the first pass reached the end of the log as it was then. The pass starts
   * on the first question, not at open: a `serve` whose dashboard nobody opens never folds.
   */
  get ready(): Promise<void> {
    if (this.started === null) {
      this.started = this.firstPass();
      this.started.catch(() => undefined);
    }
    return this.started;
  }

  /** Last position folded, -1 when the log is empty. */
  get lastPosition(): number {
    return this.last;
  }

  /** recordedAt of the first and last events folded (ms), 0 when empty. */
  get times(): { readonly first: number; readonly last: number } {
    return { first: this.firstTimeMs, last: this.lastTimeMs };
  }

  /** The projections at the end of what is folded (do not mutate). */
  get current(): ProjectedState {
    return this.live;
  }

  /** The timeline (see timeline-bins.ts). */
  timeline(bins: number): ReturnType<TimelineBins['answer']> {
    return this.timelineBins.answer(bins);
  }

  /** Bytes and count of the in-memory snapshots. */
  snapshotStats(): ReturnType<MemorySnapshots['stats']> {
    return this.snapshots.stats();
  }

  /** Call `listener` with every batch of new events once folded; returns the unsubscribe. */
  onAppended(listener: (batch: readonly RecordedEvent[]) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The projections and minimerge bitmap right after `position` (firstPosition..lastPosition). */
  async stateAt(position: number): Promise<IndexedState> {
    await this.ready;
    assert(
      position >= this.reader.firstPosition && position <= this.last,
      `position ${position} not indexed`,
    );
    const snapshot = this.snapshots.latest(position);
    const base = snapshot ? this.restore(snapshot) : await this.seed();
    const { state } = base;
    let minimerge = base.minimerge;
    const mm = minimerge;
    await replayRange(this.reader.store, state.set.position + 1, position + 1, {
      onWrites: (run) => {
        projectWrites(state, run);
        mm?.applyWrites(run);
      },
      onEvent: (recorded) => {
        project(state, recorded);
        mm?.apply(recorded);
      },
    });
    const from = minimergeFrom(state);
    if (state.set.geometry !== null && (minimerge === null || minimerge.fromPosition !== from)) {
      // The sync point moved inside the replayed stretch (or before any snapshot): fold anew.
      minimerge = new MinimergeBitmap(state.set.geometry, from);
      await this.foldMinimerge(minimerge, from, position);
    }
    return { state, minimerge };
  }

  /** Stop following the log. */
  async close(): Promise<void> {
    this.closed = true;
    await this.started?.catch(() => undefined);
    await this.subscription?.unsubscribe();
    this.listeners.clear();
  }

  private restore(snapshot: MemorySnapshot): IndexedState {
    const state = decodeProjectedState(snapshot.state);
    const g = state.set.geometry;
    if (g === null || snapshot.minimerge === null) return { state, minimerge: null };
    const minimerge = new MinimergeBitmap(g, snapshot.minimergeFrom);
    minimerge.chunks.union(ChunkBitmap.deserialise(snapshot.minimerge, g.chunks));
    return { state, minimerge };
  }

  /** The state the fold starts from when no snapshot is below the position. */
  private async seed(): Promise<IndexedState> {
    const first = this.reader.firstPosition;
    if (first === 0) return { state: initialProjectedState(), minimerge: null };
    return { state: await this.reader.projectionsAt(first), minimerge: null };
  }

  private async foldMinimerge(minimerge: MinimergeBitmap, from: number, to: number): Promise<void> {
    const start = Math.max(from, this.reader.firstPosition);
    await replayRange(this.reader.store, start, to + 1, minimergeVisitor(minimerge));
  }

  private async firstPass(): Promise<void> {
    const store = this.reader.store;
    const first = this.reader.firstPosition;
    const end = await store.lastPosition();
    if (first > 0) {
      // A bundle's log starts in a window: the state before it is the bundle's snapshot.
      assert(this.reader.startState !== undefined, 'a log that starts after 0 needs its start state');
      this.live = await this.reader.startState();
    }
    // The store's replay: write runs folded as columns, no event object per write.
    const visitor: ReplayVisitor = {
      onWrites: (run) => this.foldWrites(run),
      onEvent: (recorded) => this.foldEvent(recorded),
    };
    // Bounded: every round folds at least one event (a refold ends at an event folded).
    for (let next = first; next <= end; ) {
      if (this.closed) return;
      const to = Math.min(end + 1, next + PASS_SLICE_EVENTS);
      try {
        await replayRange(store, next, to, visitor);
        next = to;
      } catch (error) {
        if (!(error instanceof MinimergeRefold)) throw error;
        await this.refold(error);
        next = error.to + 1;
      }
      assert(this.last === next - 1, `first pass folded to ${this.last}, expected ${next - 1}`);
    }
    if (this.closed) return;
    this.subscription = store.subscribe(this.last + 1, async (batch) => {
      if (this.closed) return;
      await this.fold(batch);
      for (const listener of this.listeners) listener(batch);
    });
    this.subscription.done.catch(() => undefined);
  }

  /** Fold a batch of the live subscription, event by event. */
  private async fold(batch: readonly RecordedEvent[]): Promise<void> {
    for (const r of batch) {
      if (r.position <= this.last) continue; // A subscription may redeliver the boundary.
      try {
        this.foldEvent(r);
      } catch (error) {
        if (!(error instanceof MinimergeRefold)) throw error;
        await this.refold(error);
      }
    }
  }

  /**
   * Fold one event into the timeline, the live projections, the minimerge bitmap and the
   * snapshots. Throws {@link MinimergeRefold} when the sync point moved back over folded events.
   */
  private foldEvent(r: RecordedEvent): void {
    this.timelineBins.apply(r);
    if (this.last < 0) this.firstTimeMs = r.recordedAt;
    this.last = r.position;
    this.lastTimeMs = r.recordedAt;
    // A bundle's first event is already in the seeded state.
    if (r.position > this.live.set.position) project(this.live, r);
    this.liveMinimerge(r.position)?.apply(r);
    this.snapshotIfDue(r.position);
  }

  /**
   * {@link foldEvent} for a run of writes: cut where a snapshot is due, each piece folded as
   * columns (timeline, projections, minimerge bitmap), then the snapshot taken.
   */
  private foldWrites(run: WriteRun): void {
    const first = this.reader.firstPosition;
    // Bounded: each round folds at least one entry.
    for (let i = 0; i < run.length; ) {
      const position = run.firstPosition + i;
      const stop = Math.min(run.length, i + this.snapshots.nextDue(position, first) - position + 1);
      this.timelineBins.applyWrites(run, i, stop);
      if (this.last < 0) this.firstTimeMs = run.recordedAts[i]!;
      this.last = run.firstPosition + stop - 1;
      this.lastTimeMs = run.recordedAts[stop - 1]!;
      // Entries already in a bundle's seeded state are not folded again.
      const skip = Math.max(0, this.live.set.position + 1 - position);
      if (i + skip < stop) projectWrites(this.live, subRun(run, i + skip, stop));
      this.liveMinimerge(this.last)?.applyWrites(subRun(run, i, stop));
      this.snapshotIfDue(this.last);
      i = stop;
    }
  }

  /**
   * The minimerge bitmap that follows the live state's sync point after the event at
   * `position`, or null before the set exists. When the sync point moved, a new bitmap
   * starts; if it starts at or before `position`, the events since are folded into it again
   * (they are already past): {@link MinimergeRefold} asks the caller to, since that reads the log.
   */
  private liveMinimerge(position: number): MinimergeBitmap | null {
    const g = this.live.set.geometry;
    if (g === null) return null;
    const from = minimergeFrom(this.live);
    if (this.minimerge !== null && this.minimerge.fromPosition === from) return this.minimerge;
    this.minimerge = new MinimergeBitmap(g, from);
    if (from <= position) throw new MinimergeRefold(from, position);
    return this.minimerge;
  }

  /** Fold the events a {@link MinimergeRefold} names into the new bitmap, then the snapshot due there. */
  private async refold(refold: MinimergeRefold): Promise<void> {
    assert(this.minimerge !== null && this.last === refold.to, 'minimerge refold out of step');
    await this.foldMinimerge(this.minimerge, refold.from, refold.to);
    this.snapshotIfDue(refold.to);
  }

  private snapshotIfDue(position: number): void {
    if (this.snapshots.due(position, this.reader.firstPosition)) this.snapshots.add(this.snapshotOfLive());
  }

  private snapshotOfLive(): MemorySnapshot {
    return {
      position: this.live.set.position,
      state: encodeProjectedState(this.live),
      minimergeFrom: this.minimerge?.fromPosition ?? -1,
      minimerge: this.minimerge?.chunks.serialise() ?? null,
    };
  }
}
