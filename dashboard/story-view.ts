import type { ChunkStoryAnswer } from '../adapters/http/read-api.js';
import { el, fill } from './dom.js';
import { clock, count } from './format.js';

/** One write that marked the chunk (explain --chunk --json, `chunk.bitmaps[].marks[]`). */
interface Mark {
  position: number;
  time: string;
  type: string;
  lbn: number;
  count: number;
}

/** One bitmap the chunk was marked in. */
interface StoryBitmap {
  member: string;
  sincePosition: number;
  endPosition: number | null;
  endedBy: string | null;
  marks: Mark[];
  marksNotKept: number;
}

/** One copy of the `copies` list. */
interface StoryCopy {
  member: string;
  kind: string;
  reason: string;
  source: string;
  startPosition: number;
  outcome: string;
  endReason: string | null;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null;
}

/**
 * The story of one chunk: the API answers with the `explain --chunk --json` document, typed there
 * as an open record, so the page reads it defensively and names what it could not read.
 */
export function renderStory(target: Element, chunk: number, at: number, answer: ChunkStoryAnswer): void {
  const story = answer.chunk;
  if (!isObject(story) || !Array.isArray(story.bitmaps)) {
    fill(target, el('p', { class: 'error' }, `chunk ${chunk}: the answer has no chunk.bitmaps`));
    return;
  }
  const bitmaps = story.bitmaps.filter(isObject) as unknown as StoryBitmap[];
  const copies = (Array.isArray(answer.copies)
    ? answer.copies.filter(isObject)
    : []) as unknown as StoryCopy[];
  fill(
    target,
    el('h3', {}, `chunk ${count(chunk)} up to position ${at}`),
    bitmaps.length === 0 ? el('p', {}, `chunk ${chunk} was never marked in a bitmap`) : null,
    ...bitmaps.map((b) => bitmapStory(b, copies)),
  );
  target.setAttribute('data-chunk', String(chunk));
}

function bitmapStory(b: StoryBitmap, copies: readonly StoryCopy[]): HTMLElement {
  const ended =
    b.endPosition === null
      ? '(live)'
      : `ended at position ${b.endPosition} by ${b.endedBy ?? 'an unknown event'}`;
  const copy = copies.find((c) => c.member === b.member && c.startPosition >= b.sincePosition);
  return el(
    'div',
    { class: 'story-bitmap', 'data-member': b.member },
    el(
      'p',
      {},
      `bitmap of ${b.member} since position ${b.sincePosition} ${ended}: ${b.marks.length + b.marksNotKept} writes`,
    ),
    el('table', { class: 'marks' }, el('tbody', {}, ...b.marks.map((m) => markRow(m)))),
    b.marksNotKept > 0 ? el('p', {}, `… and ${count(b.marksNotKept)} more`) : null,
    copy === undefined
      ? null
      : el(
          'p',
          { class: 'cleared-by' },
          `${copy.kind === 'mini' ? 'minicopy' : 'full copy'} to ${copy.member} from ${copy.source} at position ${copy.startPosition}: ${copy.outcome}${copy.endReason ? ` (${copy.endReason})` : ''} — why: ${copy.reason}`,
        ),
  );
}

function markRow(m: Mark): HTMLElement {
  return el(
    'tr',
    { 'data-position': m.position },
    el('td', {}, `#${m.position}`),
    el('td', {}, clock(m.time, true)),
    el('td', {}, m.type),
    el('td', {}, `LBN ${m.lbn}-${m.lbn + m.count - 1} (${m.count})`),
  );
}
