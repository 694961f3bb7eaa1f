/** Per member: the first progress seen of its running copy (bytes, wall time), for the rate. */
export type CopyRates = Map<string, { readonly bytes: number; readonly atMs: number }>;

const MIB = 2 ** 20;

/**
 * `42.0% 12.5 MiB/s ETA 8s` for a running copy: the rate is measured since `show --watch` first
 * saw the copy, so no rate or ETA is shown before it has made progress under watch.
 */
export function copyRateText(
  rates: CopyRates,
  member: string,
  bytesCopied: number,
  bytesPlanned: number,
  nowMs: number,
): string {
  const percent = bytesPlanned > 0 ? ((100 * bytesCopied) / bytesPlanned).toFixed(1) : '0.0';
  const first = rates.get(member);
  if (first === undefined) rates.set(member, { bytes: bytesCopied, atMs: nowMs });
  const elapsedMs = first === undefined ? 0 : nowMs - first.atMs;
  const done = first === undefined ? 0 : bytesCopied - first.bytes;
  if (elapsedMs <= 0 || done <= 0) return `copying ${percent}%`;
  const bytesPerSecond = (done * 1000) / elapsedMs;
  const etaSeconds = Math.ceil(Math.max(0, bytesPlanned - bytesCopied) / bytesPerSecond);
  return `copying ${percent}% ${(bytesPerSecond / MIB).toFixed(1)} MiB/s ETA ${etaSeconds}s`;
}
