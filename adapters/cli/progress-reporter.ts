import cliProgress from 'cli-progress';
import type { Output } from './output.js';

/**
 * Progress of long work (copy, merge, verify, replay): a bar when stderr is a terminal,
 * plain lines at most every 2 s otherwise, nothing with --json. Always on stderr.
 */
export class ProgressReporter {
  private bar: cliProgress.SingleBar | null = null;
  private lastLineMs = 0;
  private lastPercent = -1;

  constructor(
    private readonly output: Output,
    private readonly label: string,
    private readonly total: number,
    private readonly unit = 'chunks',
  ) {
    if (output.interactive && !output.json) {
      this.bar = new cliProgress.SingleBar(
        {
          format: `${label} [{bar}] {percentage}% | {value}/{total} ${unit} | {eta_formatted} left`,
          stream: process.stderr,
          hideCursor: true,
          clearOnComplete: false,
        },
        cliProgress.Presets.shades_classic,
      );
      this.bar.start(Math.max(total, 1), 0);
    }
  }

  /** Report `done` of the total. */
  update(done: number): void {
    if (this.bar) {
      this.bar.update(done);
      return;
    }
    if (this.output.json) return;
    const percent = this.total === 0 ? 100 : Math.floor((done / this.total) * 100);
    const now = performance.now();
    if (percent !== this.lastPercent && (now - this.lastLineMs >= 2000 || percent === 100)) {
      this.output.note(`${this.label}: ${percent}% (${done}/${this.total} ${this.unit})`);
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
}
