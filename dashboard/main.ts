import type {
  ChunkStoryAnswer,
  EventsAnswer,
  InfoAnswer,
  TimelineAnswer,
  ViewAnswer,
} from '../adapters/http/read-api.js';
import { type Api, ApiError, createApi, type EventView, type ProgressUpdate } from './api.js';
import { BitmapsView, diffBitmaps } from './bitmaps-view.js';
import { byId, el, fill } from './dom.js';
import { eventText, renderEvents } from './events-view.js';
import { clock, count } from './format.js';
import { renderJournal } from './journal-view.js';
import { debounce, Latest } from './latest.js';
import { renderMembers } from './members-view.js';
import { ProgressRates } from './progress-rate.js';
import { renderStory } from './story-view.js';
import { MARKER_COLOURS, Timeline } from './timeline.js';
import { fragmentOf, readUrlState, type UrlState } from './url-state.js';

/** Events shown around the cursor. */
const EVENTS_AROUND = 6;

/** The page: one instance, wired to the elements of index.html. */
class Dashboard {
  private at: number | null;
  private a: number | null;
  private b: number | null;
  private selected: number | null = null;
  private view: ViewAnswer | null = null;
  private readonly viewRequests = new Latest();
  private readonly diffRequests = new Latest();
  private readonly storyRequests = new Latest();
  private readonly timelineRequests = new Latest();
  private readonly rates = new ProgressRates();
  private readonly slider = byId<HTMLInputElement>('slider');
  private readonly timeline = new Timeline(byId<HTMLCanvasElement>('timeline'), (p) => this.moveTo(p));
  private readonly bitmaps = new BitmapsView(byId('bitmaps'), byId('diff'), (n) => this.pickChunk(n));
  private readonly scheduleView = debounce(() => void this.loadView(), 60);
  private readonly scheduleTimeline = debounce(() => void this.loadTimeline(), 300);
  private appended = 0;

  constructor(
    private readonly api: Api,
    private readonly token: string,
    private info: InfoAnswer,
    private timelineData: TimelineAnswer,
  ) {
    const url = readUrlState(location.hash);
    this.at = url.at;
    this.a = url.a;
    this.b = url.b;
  }

  /** The slider position: the end of the log while following. */
  private cursor(): number {
    const p = this.at ?? this.info.lastPosition;
    return Math.min(this.info.lastPosition, Math.max(this.info.firstPosition, p));
  }

  start(): void {
    fill(byId('set-name'), this.info.set);
    byId('mode').textContent = this.info.readOnly ? 'read-only (no engine)' : 'served';
    byId('geometry').textContent =
      `${count(this.info.chunks)} chunks of ${this.info.chunkBlocks} blocks (${count(this.info.blocks)} blocks of ${this.info.blockSize} B)`;
    fill(
      byId('legend'),
      ...Object.entries(MARKER_COLOURS).map(([kind, colour]) =>
        el('span', { class: 'key' }, el('i', { style: `background:${colour}` }), kind),
      ),
      el('span', { class: 'key' }, el('i', { style: 'background:#93c5fd' }), 'writes'),
    );
    this.slider.addEventListener('input', () => {
      const p = Number(this.slider.value);
      this.moveTo(p, false);
    });
    byId('follow').addEventListener('click', () => this.moveTo(this.info.lastPosition));
    byId('set-a').addEventListener('click', () => this.setDiff(this.cursor(), this.b));
    byId('set-b').addEventListener('click', () => this.setDiff(this.a, this.cursor()));
    byId('clear-ab').addEventListener('click', () => this.setDiff(null, null));
    this.bitmaps.showDiff(null, this.info.chunks, null);
    this.drawRange();
    void this.loadView();
    if (this.a !== null && this.b !== null) void this.loadDiff();
    this.follow();
  }

  /** Move the cursor to `p` (the end of the log means: follow it). */
  private moveTo(p: number, now = true): void {
    this.at = p >= this.info.lastPosition ? null : p;
    this.drawRange();
    if (now) void this.loadView();
    else this.scheduleView();
  }

  private setDiff(a: number | null, b: number | null): void {
    this.a = a;
    this.b = b;
    this.drawRange();
    void this.loadDiff();
  }

  /** Slider bounds, labels, the timeline cursors and the permalink. */
  private drawRange(): void {
    const p = this.cursor();
    this.slider.min = String(this.info.firstPosition);
    this.slider.max = String(Math.max(this.info.firstPosition, this.info.lastPosition));
    this.slider.value = String(p);
    byId('position').textContent = `#${p}${this.at === null ? ' (following the end)' : ''}`;
    byId('cursor-a').textContent = this.a === null ? 'A -' : `A #${this.a}`;
    byId('cursor-b').textContent = this.b === null ? 'B -' : `B #${this.b}`;
    byId('range').textContent =
      `positions ${this.info.firstPosition}–${this.info.lastPosition} · ${clock(this.info.firstTime, true)} – ${clock(this.info.lastTime, true)}`;
    this.timeline.moveCursors({ at: p, a: this.a, b: this.b });
    writeUrlState({ token: this.token, at: this.at, a: this.a, b: this.b });
  }

  private async loadView(): Promise<void> {
    const p = this.cursor();
    const from = Math.max(this.info.firstPosition, p - EVENTS_AROUND);
    try {
      const answer = await this.viewRequests.run((signal) =>
        Promise.all([
          this.api.get<ViewAnswer>(`/api/view?at=${p}`, signal),
          this.api.get<EventsAnswer>(`/api/events?from=${from}&limit=${2 * EVENTS_AROUND + 1}`, signal),
        ]),
      );
      if (answer === undefined) return;
      const [view, events] = answer;
      this.view = view;
      this.renderView(view, events.events);
      clearError();
      if (this.selected !== null) void this.loadStory();
    } catch (error) {
      showError(error);
    }
  }

  private renderView(view: ViewAnswer, events: readonly EventView[]): void {
    const page = document.body;
    page.dataset.position = String(view.position);
    const e = view.event;
    fill(
      byId('current-event'),
      e === null
        ? 'before the first event'
        : `#${e.position} ${clock(e.time, true)} ${e.type} ${eventText(e)}`,
    );
    renderMembers(byId('members'), view, this.rates, this.at === null);
    this.bitmaps.show(view, this.info.chunks, this.selected);
    renderJournal(byId('journal'), view);
    renderEvents(byId('events'), events, view.position);
  }

  private async loadDiff(): Promise<void> {
    const { a, b } = this;
    if (a === null || b === null) {
      this.bitmaps.showDiff(null, this.info.chunks, this.selected);
      return;
    }
    try {
      const answer = await this.diffRequests.run((signal) =>
        Promise.all([
          this.api.get<ViewAnswer>(`/api/view?at=${a}`, signal),
          this.api.get<ViewAnswer>(`/api/view?at=${b}`, signal),
        ]),
      );
      if (answer === undefined) return;
      const bitmaps = diffBitmaps(answer[0].bitmaps, answer[1].bitmaps);
      this.bitmaps.showDiff({ a, b, bitmaps }, this.info.chunks, this.selected);
    } catch (error) {
      showError(error);
    }
  }

  private pickChunk(n: number): void {
    this.selected = n;
    if (this.view !== null) this.bitmaps.show(this.view, this.info.chunks, n);
    void this.loadStory();
  }

  private async loadStory(): Promise<void> {
    const n = this.selected;
    if (n === null) return;
    const p = this.cursor();
    try {
      const story = await this.storyRequests.run((signal) =>
        this.api.get<ChunkStoryAnswer>(`/api/chunk/${n}?at=${p}`, signal),
      );
      if (story !== undefined) renderStory(byId('story'), n, p, story);
    } catch (error) {
      showError(error);
    }
  }

  private async loadTimeline(): Promise<void> {
    try {
      const data = await this.timelineRequests.run((signal) =>
        this.api.get<TimelineAnswer>(`/api/timeline?bins=${this.timeline.bins()}`, signal),
      );
      if (data === undefined) return;
      this.timelineData = data;
      this.redrawTimeline();
    } catch (error) {
      showError(error);
    }
  }

  /** Draw the timeline with the data in hand. */
  redrawTimeline(): void {
    this.timeline.show(this.timelineData, { at: this.cursor(), a: this.a, b: this.b });
  }

  /** Live mode: follow /api/stream. */
  private follow(): void {
    const status = byId('live-status');
    const source = this.api.stream();
    source.addEventListener('open', () => {
      status.textContent = 'live';
      status.dataset.live = 'on';
    });
    source.addEventListener('error', () => {
      status.textContent = 'live: reconnecting…';
      status.dataset.live = 'off';
    });
    source.addEventListener('appended', (m) => this.onAppended(JSON.parse((m as MessageEvent<string>).data)));
    source.addEventListener('progress', (m) => {
      this.rates.update(JSON.parse((m as MessageEvent<string>).data) as ProgressUpdate, Date.now());
      if (this.view !== null) renderMembers(byId('members'), this.view, this.rates, this.at === null);
    });
    source.addEventListener('lagged', () => {
      void this.refreshInfo();
    });
  }

  private onAppended(events: readonly EventView[]): void {
    const last = events.at(-1);
    if (last === undefined) return;
    this.appended += events.length;
    this.info = {
      ...this.info,
      lastPosition: Math.max(this.info.lastPosition, last.position),
      lastTime: last.time,
    };
    const status = byId('live-status');
    status.textContent = `live: ${count(this.appended)} new events, last #${last.position} ${last.type}`;
    status.dataset.lastPosition = String(last.position);
    this.drawRange();
    this.scheduleTimeline();
    if (this.at === null) this.scheduleView();
  }

  private async refreshInfo(): Promise<void> {
    try {
      this.info = await this.api.get<InfoAnswer>('/api/info');
      this.drawRange();
      this.scheduleTimeline();
      this.scheduleView();
    } catch (error) {
      showError(error);
    }
  }
}

/** Replace the fragment without a history entry per slider move. */
function writeUrlState(state: UrlState): void {
  const url = `${location.pathname}${location.search}${fragmentOf(state)}`;
  if (url !== `${location.pathname}${location.search}${location.hash}`) history.replaceState(null, '', url);
}

/** Show an API error in the page (its code and message), not only in the console. */
function showError(error: unknown): void {
  const box = byId('error');
  const code = error instanceof ApiError ? error.code : 'PAGE';
  box.dataset.code = code;
  box.textContent = `${code}: ${(error as Error).message}`;
  box.hidden = false;
}

function clearError(): void {
  byId('error').hidden = true;
}

async function main(): Promise<void> {
  const { token } = readUrlState(location.hash);
  if (token === null) {
    showError(
      new ApiError(
        'NO_TOKEN',
        'no token in the URL: open the address `shadowlog dashboard` printed (…/#token=…)',
        0,
      ),
    );
    return;
  }
  const api = createApi(token);
  try {
    const info = await api.get<InfoAnswer>('/api/info');
    const bins = Math.min(4096, Math.max(16, byId('timeline').clientWidth || 800));
    const timeline = await api.get<TimelineAnswer>(`/api/timeline?bins=${bins}`);
    const page = new Dashboard(api, token, info, timeline);
    page.redrawTimeline();
    page.start();
    addEventListener(
      'resize',
      debounce(() => page.redrawTimeline(), 100),
    );
  } catch (error) {
    showError(error);
  }
}

void main();
