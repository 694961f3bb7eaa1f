import cliProgress from 'cli-progress';
import { formatMiBps, formatNumber } from './number-format.js';
import type { Output } from './output.js';

/** Plain (non-terminal) progress lines are at most this often. */
const LINE_INTERVAL_MS = 2000;

/**
 * Progress of long work (copy, merge, verify, replay): a bar when stderr is a terminal,
 * plain lines otherwise (the first at once, then at most every 2 s, and 100%), nothing with
 * --json. Always on stderr.
 *
 * With `bytesPerUnit` the rate is shown in MiB/s. The time left is shown only once some work
 * is done: before that any estimate is made up (cli-progress printed "NFs left").
 */
export class ProgressReporter {
  private bar: cliProgress.SingleBar | null = null;
  /** The first plain line is printed at once: a pipe sees that work started. */
  private lastLineMs = Number.NEGATIVE_INFINITY;
  private lastPercent = -1;
  private readonly startMs = performance.now();

  constructor(
    private readonly output: Output,
    private readonly label: string,
    private readonly total: number,
    private readonly unit = 'chunks',
    /** Bytes of one unit of work (a chunk's bytes); 0: no rate shown (events, records). */
    private readonly bytesPerUnit = 0,
    /**
     * Units already done when this reporter starts (a bar drawn for work running elsewhere,
     * first seen part-way): rate and time left count only the work done since.
     */
    private readonly firstDone = 0,
  ) {
    if (output.interactive && !output.json) {
      this.bar = new cliProgress.SingleBar(
        {
          format: `${label} [{bar}] {percentage}% | {doneText}/{totalText} ${unit}{rateText}{etaText}`,
          stream: process.stderr,
          hideCursor: true,
          clearOnComplete: false,
        },
        cliProgress.Presets.shades_classic,
      );
      this.bar.start(Math.max(total, 1), firstDone, this.payload(firstDone));
    }
  }

  /** Report `done` of the total. */
  update(done: number): void {
    if (this.bar) {
      this.bar.update(done, this.payload(done));
      return;
    }
    if (this.output.json) return;
    const percent = this.total === 0 ? 100 : Math.floor((done / this.total) * 100);
    const now = performance.now();
    if (percent !== this.lastPercent && (now - this.lastLineMs >= LINE_INTERVAL_MS || percent === 100)) {
      const p = this.payload(done);
      this.output.note(
        `${this.label}: ${percent}% (${p.doneText}/${p.totalText} ${this.unit}${p.rateText}${p.etaText})`,
      );
      this.lastLineMs = now;
      this.lastPercent = percent;
    }
  }

  /** Finish the bar. */
  stop(done = this.total): void {
    this.update(done);
    this.bar?.stop();
    this.bar = null;
  }

  /** The bar's fields: counts with separators, the rate and the time left once work is done. */
  private payload(done: number): { doneText: string; totalText: string; rateText: string; etaText: string } {
    const elapsedS = (performance.now() - this.startMs) / 1000;
    const since = done - this.firstDone;
    const started = since > 0 && elapsedS > 0;
    const rateText =
      this.bytesPerUnit > 0 && started ? `, ${formatMiBps((since * this.bytesPerUnit) / elapsedS)}` : '';
    const left = this.total - done;
    const etaText = started && left > 0 ? `, ${formatSeconds((left * elapsedS) / since)} left` : '';
    return { doneText: formatNumber(done), totalText: formatNumber(this.total), rateText, etaText };
  }
}

/** A duration for humans: "42s", "3m 05s", "1h 02m". */
function formatSeconds(seconds: number): string {
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}
