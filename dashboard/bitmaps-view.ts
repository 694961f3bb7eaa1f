import type { BitmapRuns, ViewAnswer } from '../adapters/http/read-api.js';
import { el, fill } from './dom.js';
import { count } from './format.js';
import { Heatmap } from './heatmap.js';
import { runsCount, runsMinus } from './runs.js';

const MARKED_RGB = '220,38,38';
const SET_RGB = '22,163,74';
const CLEARED_RGB = '217,119,6';

/** A bitmap's identity across positions: its member and type (a minimerge bitmap restarts at every sync). */
function keyOf(b: BitmapRuns): string {
  return `${b.member}:${b.type}`;
}

/** What changed in one bitmap between A and B. */
export interface BitmapDiff {
  /** Member of the bitmap. */
  readonly member: string;
  /** Its type. */
  readonly type: BitmapRuns['type'];
  /** Chunks marked at B and not at A. */
  readonly set: number[];
  /** Chunks marked at A and not at B (a copy or a deletion cleared them). */
  readonly cleared: number[];
}

/** Per bitmap (member + type), the chunks set and cleared from `a` to `b`; a bitmap only at one side counts whole. */
export function diffBitmaps(a: readonly BitmapRuns[], b: readonly BitmapRuns[]): BitmapDiff[] {
  const before = new Map(a.map((x) => [keyOf(x), x]));
  const after = new Map(b.map((x) => [keyOf(x), x]));
  const keys = [...new Set([...before.keys(), ...after.keys()])].sort();
  return keys.map((key) => {
    const x = before.get(key);
    const y = after.get(key);
    const some = (x ?? y)!;
    return {
      member: some.member,
      type: some.type,
      set: runsMinus(y?.runs ?? [], x?.runs ?? []),
      cleared: runsMinus(x?.runs ?? [], y?.runs ?? []),
    };
  });
}

/** `*` is the set's own bitmap of chunks written since the last MembersSynced (what a crash merge visits). */
function minimergeTitle(member: string): string {
  return member === '*' ? 'written since the last sync (minimerge)' : `minimerge bitmap of ${member}`;
}

/**
 * One heatmap per bitmap live at the cursor, and one per bitmap of the A/B diff. Heatmaps are kept
 * by key so a slider move redraws them without losing their zoom.
 */
export class BitmapsView {
  private readonly maps = new Map<string, Heatmap>();
  private readonly diffs = new Map<string, Heatmap>();

  constructor(
    private readonly target: Element,
    private readonly diffTarget: Element,
    private readonly onChunk: (chunk: number) => void,
  ) {}

  /** The bitmaps of `view` over `chunks` chunks, `selected` outlined. */
  show(view: ViewAnswer, chunks: number, selected: number | null): void {
    if (view.bitmaps.length === 0) {
      fill(this.target, el('p', { class: 'muted', 'data-role': 'no-bitmap' }, 'no bitmap at this position'));
      return;
    }
    const nodes = view.bitmaps.map((b) => {
      const key = keyOf(b);
      let map = this.maps.get(key);
      if (map === undefined) {
        const title = b.type === 'minicopy' ? `write bitmap of ${b.member}` : minimergeTitle(b.member);
        map = new Heatmap(title, { 'data-member': b.member, 'data-type': b.type }, this.onChunk);
        this.maps.set(key, map);
      }
      map.root.dataset.since = String(b.sincePosition);
      map.show([{ runs: b.runs, rgb: MARKED_RGB, label: 'chunks marked' }], chunks, selected);
      return map.root;
    });
    fill(this.target, ...nodes);
  }

  /** The A/B diff; null clears it. */
  showDiff(
    diff: { a: number; b: number; bitmaps: BitmapDiff[] } | null,
    chunks: number,
    selected: number | null,
  ): void {
    if (diff === null) {
      fill(this.diffTarget, el('p', { class: 'muted' }, 'set cursors A and B to compare two positions'));
      return;
    }
    let set = 0;
    let cleared = 0;
    const nodes = diff.bitmaps.map((d) => {
      const key = `${d.member}:${d.type}`;
      const nSet = runsCount(d.set);
      const nCleared = runsCount(d.cleared);
      set += nSet;
      cleared += nCleared;
      if (nSet === 0 && nCleared === 0) {
        return el(
          'p',
          { class: 'muted unchanged', 'data-member': d.member },
          `${d.type} bitmap of ${d.member}: no change`,
        );
      }
      let map = this.diffs.get(key);
      if (map === undefined) {
        map = new Heatmap(
          `diff of ${d.member} (${d.type})`,
          { 'data-member': d.member, 'data-type': d.type },
          this.onChunk,
        );
        this.diffs.set(key, map);
      }
      Object.assign(map.root.dataset, { set: nSet, cleared: nCleared });
      const layers = [
        { runs: d.set, rgb: SET_RGB, label: 'set' },
        { runs: d.cleared, rgb: CLEARED_RGB, label: 'cleared' },
      ];
      map.show(layers, chunks, selected);
      return map.root;
    });
    const summary = el(
      'p',
      { class: 'diff-summary', 'data-set': set, 'data-cleared': cleared },
      `A #${diff.a} → B #${diff.b}: `,
      el('span', { class: 'set' }, `${count(set)} chunks set`),
      ', ',
      el('span', { class: 'cleared' }, `${count(cleared)} cleared`),
    );
    fill(this.diffTarget, summary, ...nodes);
  }
}
