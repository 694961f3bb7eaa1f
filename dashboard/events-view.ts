import type { EventView } from './api.js';
import { el, fill } from './dom.js';
import { clock } from './format.js';

const SKIP = new Set(['position', 'time', 'type', 'fingerprint']);

/** An event's fields in one line, like `shadowlog events` (`LBN a-b (n)` for writes). */
export function eventText(e: EventView): string {
  if (typeof e.lbn === 'number' && typeof e.count === 'number') {
    return `LBN ${e.lbn}-${e.lbn + e.count - 1} (${e.count})`;
  }
  const parts: string[] = [];
  for (const [name, value] of Object.entries(e)) {
    if (SKIP.has(name) || value === undefined) continue;
    parts.push(`${name} ${typeof value === 'object' ? JSON.stringify(value) : String(value)}`);
  }
  return parts.join(', ');
}

/** The events around the cursor, the one at the cursor highlighted (`.current`, `aria-current`). */
export function renderEvents(target: Element, events: readonly EventView[], at: number): void {
  if (events.length === 0) {
    fill(target, el('p', { class: 'muted' }, 'no events'));
    return;
  }
  const rows = events.map((e) =>
    el(
      'tr',
      {
        'data-position': e.position,
        class: e.position === at ? 'current' : null,
        'aria-current': e.position === at,
      },
      el('td', { class: 'n' }, e.position),
      el('td', {}, clock(e.time, true)),
      el('td', {}, e.type),
      el('td', { class: 'details' }, eventText(e)),
    ),
  );
  fill(target, el('table', { class: 'events' }, el('tbody', {}, ...rows)));
}
