import { el } from './dom.js';
import { count } from './format.js';
import { binCounts, type Runs, runsCount } from './runs.js';

/** One layer of a heatmap: chunks drawn in one colour. */
export interface HeatLayer {
  /** Chunks, as runs. */
  readonly runs: Runs;
  /** `r,g,b` of the layer; the alpha says how full the bin is. */
  readonly rgb: string;
  /** What its chunks are, for the caption (`marked`, `set`, `cleared`). */
  readonly label: string;
}

/** Cells across; a bin is a cell. */
const COLUMNS = 64;
/** At most this many bins: beyond, chunks aggregate into bins of several chunks. */
const MAX_BINS = 1024;
const CELL_PX = 9;

/**
 * A canvas heatmap of chunk bitmaps: cell = chunk, or a bin of chunks (the count of marked chunks
 * in it sets the colour's strength) when the view holds more than {@link MAX_BINS}. A click on a
 * bin zooms into it; a click on a single chunk calls `onChunk`. The canvas carries its layout as
 * data attributes (`data-from`, `data-bin-chunks`, `data-columns`, `data-cell-px`) for tests.
 */
export class Heatmap {
  /** The element to insert. */
  readonly root: HTMLElement;
  private readonly canvas = el('canvas', { class: 'heat' });
  private readonly caption = el('span', { class: 'caption' });
  private readonly back = el('button', { type: 'button', class: 'zoom-out', hidden: true }, 'zoom out');
  private layers: readonly HeatLayer[] = [];
  private chunks = 0;
  private zoom: { from: number; to: number }[] = [];
  private selected: number | null = null;

  constructor(
    title: string,
    attrs: Readonly<Record<string, string>>,
    private readonly onChunk: (chunk: number) => void,
  ) {
    this.root = el(
      'section',
      { class: 'heatmap', ...attrs },
      el('h3', {}, title),
      this.caption,
      this.back,
      this.canvas,
    );
    this.canvas.addEventListener('click', (e) => this.click(e));
    this.back.addEventListener('click', () => {
      this.zoom.pop();
      this.draw();
    });
  }

  /** Show `layers` over a volume of `chunks` chunks (keeps the zoom if it still fits). */
  show(layers: readonly HeatLayer[], chunks: number, selected: number | null): void {
    if (chunks !== this.chunks) this.zoom = [];
    this.layers = layers;
    this.chunks = chunks;
    this.selected = selected;
    this.draw();
  }

  private range(): { from: number; to: number } {
    return this.zoom.at(-1) ?? { from: 0, to: this.chunks };
  }

  private layout(): { from: number; binChunks: number; bins: number } {
    const { from, to } = this.range();
    const binChunks = Math.max(1, Math.ceil((to - from) / MAX_BINS));
    return { from, binChunks, bins: Math.ceil((to - from) / binChunks) };
  }

  private draw(): void {
    const { from, binChunks, bins } = this.layout();
    const rows = Math.max(1, Math.ceil(bins / COLUMNS));
    const c = this.canvas;
    c.width = COLUMNS * CELL_PX;
    c.height = rows * CELL_PX;
    Object.assign(c.dataset, { from, binChunks, columns: COLUMNS, cellPx: CELL_PX, bins });
    const g = c.getContext('2d');
    if (g === null) return;
    const counts = this.layers.map((l) => binCounts(l.runs, from, binChunks, bins));
    for (let i = 0; i < bins; i++) {
      const size = Math.min(binChunks, this.chunks - (from + i * binChunks));
      g.fillStyle = cellColour(this.layers, counts, i, size);
      g.fillRect((i % COLUMNS) * CELL_PX, Math.floor(i / COLUMNS) * CELL_PX, CELL_PX - 1, CELL_PX - 1);
    }
    this.outlineSelected(g, from, binChunks, bins);
    const marked = this.layers.map((l) => runsCount(l.runs));
    const to = this.range().to;
    this.root.dataset.marked = marked.join(',');
    const totals = marked.map((n, l) => `${count(n)} ${this.layers[l]!.label}`).join(', ');
    this.caption.textContent = `${totals} · view ${count(from)}–${count(to - 1)}, ${binChunks === 1 ? '1 chunk' : `${count(binChunks)} chunks`} per cell`;
    this.back.hidden = this.zoom.length === 0;
  }

  private outlineSelected(g: CanvasRenderingContext2D, from: number, binChunks: number, bins: number): void {
    if (this.selected === null) return;
    const i = Math.floor((this.selected - from) / binChunks);
    if (i < 0 || i >= bins) return;
    g.strokeStyle = '#111';
    g.lineWidth = 2;
    g.strokeRect(
      (i % COLUMNS) * CELL_PX + 1,
      Math.floor(i / COLUMNS) * CELL_PX + 1,
      CELL_PX - 3,
      CELL_PX - 3,
    );
  }

  private click(e: MouseEvent): void {
    const { from, binChunks, bins } = this.layout();
    const rect = this.canvas.getBoundingClientRect();
    const x = ((e.clientX - rect.left) * this.canvas.width) / rect.width;
    const y = ((e.clientY - rect.top) * this.canvas.height) / rect.height;
    const i = Math.floor(y / CELL_PX) * COLUMNS + Math.floor(x / CELL_PX);
    if (i < 0 || i >= bins) return;
    const first = from + i * binChunks;
    if (binChunks === 1) {
      this.onChunk(first);
      return;
    }
    this.zoom.push({ from: first, to: Math.min(first + binChunks, this.chunks) });
    this.draw();
  }
}

/** The strongest layer of bin `i` decides its colour; empty bins are grey. */
function cellColour(
  layers: readonly HeatLayer[],
  counts: readonly Uint32Array[],
  i: number,
  size: number,
): string {
  let best = -1;
  let bestCount = 0;
  for (let l = 0; l < layers.length; l++) {
    if (counts[l]![i]! > bestCount) {
      bestCount = counts[l]![i]!;
      best = l;
    }
  }
  if (best < 0) return '#e6e8eb';
  const alpha = 0.45 + (0.55 * bestCount) / Math.max(1, size);
  return `rgba(${layers[best]!.rgb},${alpha.toFixed(2)})`;
}
