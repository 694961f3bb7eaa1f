/** Numbers with thousands separators, as the CLI prints them. */
export function count(n: number): string {
  return n.toLocaleString('en-US');
}

/** Bytes in B, KiB, MiB, GiB, TiB. */
export function bytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${u === 0 ? v : v.toFixed(1)} ${units[u]}`;
}

/** A duration in seconds as `8s`, `3m 20s`, `2h 5m`. */
export function duration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '-';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${s % 60}s`;
  return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
}

/** An ISO time as `HH:MM:SS` (UTC), with the date when `withDate`. */
export function clock(iso: string | null, withDate = false): string {
  if (iso === null) return '-';
  return withDate ? iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z') : iso.slice(11, 19);
}
