import type { ProgressUpdate } from './api.js';

/** What a progress bar shows: done, rate and time left. */
export interface ProgressRate {
  /** The last update. */
  readonly update: ProgressUpdate;
  /** Percent of the bytes planned. */
  readonly percent: number;
  /** Bytes per second, smoothed; null until two updates came. */
  readonly bytesPerSecond: number | null;
  /** Seconds left at that rate; null while the rate is unknown. */
  readonly etaSeconds: number | null;
}

interface Sample {
  readonly bytes: number;
  readonly atMs: number;
  readonly rate: number | null;
}

/**
 * Rates from the SSE `progress` updates, per copy (kind + member): the rate is an exponential
 * average of the byte deltas over the time between updates, so one slow tick does not swing the ETA.
 */
export class ProgressRates {
  private readonly samples = new Map<string, Sample>();
  private readonly latest = new Map<string, ProgressRate>();

  /** Fold one update received at `nowMs`. */
  update(u: ProgressUpdate, nowMs: number): void {
    const key = `${u.kind}:${u.member}`;
    const prev = this.samples.get(key);
    let rate: number | null = prev?.rate ?? null;
    if (prev !== undefined && nowMs > prev.atMs && u.bytesDone >= prev.bytes) {
      const now = ((u.bytesDone - prev.bytes) * 1000) / (nowMs - prev.atMs);
      rate = rate === null ? now : 0.7 * rate + 0.3 * now;
    }
    this.samples.set(key, { bytes: u.bytesDone, atMs: nowMs, rate });
    const left = Math.max(0, u.bytesPlanned - u.bytesDone);
    this.latest.set(key, {
      update: u,
      percent: u.bytesPlanned > 0 ? (100 * u.bytesDone) / u.bytesPlanned : 100,
      bytesPerSecond: rate,
      etaSeconds: u.finished ? 0 : rate !== null && rate > 0 ? left / rate : null,
    });
    if (u.finished) this.samples.delete(key);
  }

  /** The copy to `member`, if one reported. */
  copyOf(member: string): ProgressRate | undefined {
    return this.latest.get(`copy:${member}`);
  }

  /** Every merge that reported. */
  merges(): ProgressRate[] {
    return [...this.latest.values()].filter((r) => r.update.kind === 'merge');
  }
}
