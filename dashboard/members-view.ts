import type { ViewAnswer } from '../adapters/http/read-api.js';
import { el, fill } from './dom.js';
import { bytes, duration } from './format.js';
import type { ProgressRate, ProgressRates } from './progress-rate.js';

/**
 * Members with their state at the cursor and, live, their copy progress (rate and ETA from the
 * SSE progress updates). Rows carry `data-member` and `data-state`.
 */
export function renderMembers(target: Element, view: ViewAnswer, rates: ProgressRates, live: boolean): void {
  const rows = view.summary.members.map((m) => {
    const rate = live ? rates.copyOf(m.id) : undefined;
    return el(
      'tr',
      { 'data-member': m.id, 'data-state': m.state, class: `state-${m.state.replace(/\W+/g, '-')}` },
      el('td', {}, m.id),
      el('td', { class: 'state' }, m.state),
      el('td', { class: 'path' }, m.path),
      el('td', {}, `#${m.sincePosition}`),
      el('td', { class: 'progress' }, progressCell(m.copyPercent, rate)),
      el('td', { class: 'error' }, m.error ?? ''),
    );
  });
  fill(
    target,
    el(
      'table',
      { class: 'members' },
      el(
        'thead',
        {},
        el('tr', {}, ...['member', 'state', 'path', 'since', 'copy', 'error'].map((h) => el('th', {}, h))),
      ),
      el('tbody', {}, ...rows),
    ),
  );
}

function progressCell(copyPercent: number | null, rate: ProgressRate | undefined): Node | string {
  if (rate !== undefined && !rate.update.finished) {
    const speed = rate.bytesPerSecond === null ? '…' : `${bytes(rate.bytesPerSecond)}/s`;
    const eta = rate.etaSeconds === null ? '' : ` ETA ${duration(rate.etaSeconds)}`;
    return el(
      'span',
      { class: 'live-progress', 'data-percent': rate.percent.toFixed(1) },
      el('progress', { max: 100, value: rate.percent.toFixed(1) }),
      ` ${rate.percent.toFixed(1)}% ${speed}${eta}`,
    );
  }
  if (copyPercent === null) return '';
  return el('span', {}, el('progress', { max: 100, value: copyPercent }), ` ${copyPercent.toFixed(1)}%`);
}
