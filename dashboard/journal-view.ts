import type { ViewAnswer } from '../adapters/http/read-api.js';
import { el, fill } from './dom.js';
import { bytes, count } from './format.js';

/** The copy journal at the cursor: every copy and merge, with its decision and outcome. */
export function renderJournal(target: Element, view: ViewAnswer): void {
  const { copies, merges } = view.journal;
  if (copies.length === 0 && merges.length === 0) {
    fill(target, el('p', { class: 'muted' }, 'no copies or merges yet at this position'));
    return;
  }
  const head = ['start', 'kind', 'to', 'from', 'planned', 'done', 'outcome', 'why'];
  const rows = copies.map((c) =>
    el(
      'tr',
      { 'data-start': c.startPosition, class: c.startPosition === view.position ? 'current' : null },
      el('td', {}, `#${c.startPosition}`),
      el('td', {}, c.kind === 'mini' ? 'minicopy' : 'full copy'),
      el('td', {}, c.member),
      el('td', {}, c.source),
      el('td', {}, `${count(c.chunksPlanned)} chunks, ${bytes(c.bytesPlanned)}`),
      el('td', {}, `${count(c.chunksDone)} chunks, ${bytes(c.bytesCopied)}`),
      el('td', {}, c.outcome + (c.endReason ? ` (${c.endReason})` : '')),
      el('td', {}, c.reason),
    ),
  );
  const mergeRows = merges.map((m) =>
    el(
      'tr',
      { 'data-start': m.startPosition },
      el('td', {}, `#${m.startPosition}`),
      el('td', {}, 'merge'),
      el('td', {}, '*'),
      el('td', {}, m.source),
      el('td', {}, `${count(m.chunks)} chunks since #${m.fromPosition}`),
      el('td', {}, ''),
      el('td', {}, m.outcome),
      el('td', {}, 'crash minimerge'),
    ),
  );
  fill(
    target,
    el(
      'table',
      { class: 'journal' },
      el('thead', {}, el('tr', {}, ...head.map((h) => el('th', {}, h)))),
      el('tbody', {}, ...rows, ...mergeRows),
    ),
  );
}
