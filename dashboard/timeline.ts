import type { TimelineAnswer, TimelineMarker } from '../adapters/http/read-api.js';
import { clock } from './format.js';

/** Marker kinds, each with its colour (the legend in index.html uses the same names). */
export const MARKER_COLOURS: Readonly<Record<string, string>> = {
  dismount: '#d97706',
  mount: '#16a34a',
  copy: '#2563eb',
  merge: '#9333ea',
  checkpoint: '#0d9488',
  failure: '#dc2626',
  refused: '#7f1d1d',
  other: '#6b7280',
};

/** Which kind an event type is drawn as. */
export function markerKind(type: string): string {
  if (type.endsWith('Refused')) return 'refused';
  if (type === 'MemberFailed' || type === 'CopyAborted') return 'failure';
  if (type.startsWith('MemberDismount')) return 'dismount';
  if (type === 'MemberMountRequested') return 'mount';
  if (type.startsWith('Copy')) return 'copy';
  if (type.startsWith('Merge')) return 'merge';
  if (type.startsWith('Checkpoint')) return 'checkpoint';
  return 'other';
}

/** The cursors drawn over the timeline. */
export interface Cursors {
  /** The slider position. */
  readonly at: number;
  /** Diff cursor A. */
  readonly a: number | null;
  /** Diff cursor B. */
  readonly b: number | null;
}

const HEIGHT = 96;
const BAND = 40;

/**
 * The log on a canvas: x = position (wall-clock labels under it), write density as a band (bin
 * height = writes in the bin against the busiest bin), a tick per marker, the cursors as lines.
 * A click picks the position under it; hovering names the nearest marker in the title.
 */
export class Timeline {
  private data: TimelineAnswer | null = null;
  private cursors: Cursors = { at: 0, a: null, b: null };

  constructor(
    private readonly canvas: HTMLCanvasElement,
    onPick: (position: number) => void,
  ) {
    canvas.addEventListener('click', (e) => {
      if (this.data !== null) onPick(this.positionAt(this.canvasX(e)));
    });
    canvas.addEventListener('mousemove', (e) => {
      const m = this.markerNear(this.canvasX(e));
      canvas.title = m === null ? '' : `${m.position}  ${m.time}  ${m.type}  ${m.text}`;
    });
  }

  /** Bins a request should ask for: one per pixel column, at most 4096 (the API's bound). */
  bins(): number {
    return Math.min(4096, Math.max(16, this.canvas.clientWidth || 800));
  }

  /** Draw `data` with `cursors`. */
  show(data: TimelineAnswer, cursors: Cursors): void {
    this.data = data;
    this.cursors = cursors;
    this.draw();
  }

  /** Move the cursors only. */
  moveCursors(cursors: Cursors): void {
    this.cursors = cursors;
    this.draw();
  }

  private canvasX(e: MouseEvent): number {
    const rect = this.canvas.getBoundingClientRect();
    return ((e.clientX - rect.left) * this.canvas.width) / rect.width;
  }

  private xOf(position: number): number {
    const d = this.data!;
    const span = Math.max(1, d.lastPosition - d.firstPosition);
    return ((position - d.firstPosition) / span) * (this.canvas.width - 1);
  }

  private positionAt(x: number): number {
    const d = this.data!;
    const span = Math.max(1, d.lastPosition - d.firstPosition);
    const p = Math.round(d.firstPosition + (x / Math.max(1, this.canvas.width - 1)) * span);
    return Math.min(d.lastPosition, Math.max(d.firstPosition, p));
  }

  private markerNear(x: number): TimelineMarker | null {
    if (this.data === null) return null;
    let best: TimelineMarker | null = null;
    let bestDx = 5;
    for (const m of this.data.markers) {
      const dx = Math.abs(this.xOf(m.position) - x);
      if (dx < bestDx) {
        bestDx = dx;
        best = m;
      }
    }
    return best;
  }

  private draw(): void {
    const c = this.canvas;
    c.width = Math.max(16, c.clientWidth || 800);
    c.height = HEIGHT;
    const g = c.getContext('2d');
    if (g === null || this.data === null) return;
    g.clearRect(0, 0, c.width, c.height);
    this.drawBand(g);
    // The positions drawn, per kind, also as data-markers (the first 50 of each) for tests.
    const drawn: Record<string, number[]> = {};
    for (const m of this.data.markers) {
      const kind = markerKind(m.type);
      g.fillStyle = MARKER_COLOURS[kind]!;
      g.fillRect(Math.round(this.xOf(m.position)) - 1, 4, 3, 18);
      const list = drawn[kind] ?? [];
      drawn[kind] = list;
      if (list.length < 50) list.push(m.position);
    }
    c.dataset.markers = JSON.stringify(drawn);
    this.drawLabels(g);
    const { at, a, b } = this.cursors;
    if (a !== null) this.line(g, a, '#0891b2', 'A');
    if (b !== null) this.line(g, b, '#be185d', 'B');
    this.line(g, at, '#111827', '');
  }

  private drawBand(g: CanvasRenderingContext2D): void {
    const bins = this.data!.bins;
    let max = 1;
    for (const bin of bins) max = Math.max(max, bin.writes);
    g.fillStyle = '#93c5fd';
    for (const bin of bins) {
      if (bin.writes === 0) continue;
      const x0 = this.xOf(bin.from);
      const w = Math.max(1, this.xOf(bin.to + 1) - x0);
      const h = Math.max(2, (bin.writes / max) * BAND);
      g.fillRect(x0, 26 + BAND - h, w, h);
    }
  }

  private drawLabels(g: CanvasRenderingContext2D): void {
    const bins = this.data!.bins;
    if (bins.length === 0) return;
    const first = bins[0]!.time;
    const last = bins.at(-1)!.time;
    const withDate = first.slice(0, 10) !== last.slice(0, 10);
    g.fillStyle = '#374151';
    g.font = '11px system-ui, sans-serif';
    const labels = Math.min(6, bins.length);
    for (let k = 0; k < labels; k++) {
      const bin = bins[Math.round((k * (bins.length - 1)) / Math.max(1, labels - 1))]!;
      const x = this.xOf(bin.from);
      const text = `${clock(bin.time, withDate)} #${bin.from}`;
      g.textAlign = k === 0 ? 'left' : k === labels - 1 ? 'right' : 'center';
      g.fillText(text, x, HEIGHT - 8);
    }
  }

  private line(g: CanvasRenderingContext2D, position: number, colour: string, label: string): void {
    const x = Math.round(this.xOf(position));
    g.fillStyle = colour;
    g.fillRect(x - 1, 0, 2, HEIGHT - 22);
    if (label !== '') g.fillText(label, x + 3, 12);
  }
}
