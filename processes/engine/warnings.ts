/** Most warnings kept: a protocol that keeps failing must not fill memory. */
const MAX_WARNINGS = 100;

/** Problems background work ran into and will retry, the latest first to go when full. */
export class Warnings {
  /** The latest warnings, oldest first (the array `VirtualUnit.warnings` exposes). */
  readonly latest: string[] = [];

  /** Record a warning, dropping the oldest beyond the bound. */
  add(message: string): void {
    this.latest.push(message);
    if (this.latest.length > MAX_WARNINGS) this.latest.shift();
  }
}
