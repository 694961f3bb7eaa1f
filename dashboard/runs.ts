/**
 * Bitmaps as the read API sends them: runs `[first, count, first, count, ...]`, ascending and
 * non-adjacent (adapters/http/read-api.ts, BitmapRuns). Everything here is a walk over runs, never
 * over chunks: a 2 TiB set has 34M chunks.
 */
export type Runs = readonly number[];

/** Chunks in `runs`. */
export function runsCount(runs: Runs): number {
  let n = 0;
  for (let i = 1; i < runs.length; i += 2) n += runs[i]!;
  return n;
}

/** Whether `chunk` is in `runs` (binary search over run starts). */
export function runsContain(runs: Runs, chunk: number): boolean {
  let lo = 0;
  let hi = runs.length / 2 - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const first = runs[2 * mid]!;
    if (chunk < first) hi = mid - 1;
    else if (chunk >= first + runs[2 * mid + 1]!) lo = mid + 1;
    else return true;
  }
  return false;
}

/**
 * Marked chunks per bin: bin i counts chunks `from + i*binChunks` up to the next bin, for `bins`
 * bins. Each step finishes a run or a bin, so the walk is at most runs + bins steps.
 */
export function binCounts(runs: Runs, from: number, binChunks: number, bins: number): Uint32Array {
  const counts = new Uint32Array(bins);
  const end = from + binChunks * bins;
  for (let i = 0; i < runs.length; i += 2) {
    let s = Math.max(runs[i]!, from);
    const e = Math.min(runs[i]! + runs[i + 1]!, end);
    while (s < e) {
      const bin = Math.floor((s - from) / binChunks);
      const stop = Math.min(e, from + (bin + 1) * binChunks);
      counts[bin] += stop - s;
      s = stop;
    }
  }
  return counts;
}

/** Runs of chunks in `a` and not in `b` (both ascending): a sweep over both lists. */
export function runsMinus(a: Runs, b: Runs): number[] {
  const out: number[] = [];
  let j = 0;
  for (let i = 0; i < a.length; i += 2) {
    let s = a[i]!;
    const e = s + a[i + 1]!;
    while (j < b.length && b[j]! + b[j + 1]! <= s) j += 2;
    let k = j;
    while (s < e) {
      if (k >= b.length || b[k]! >= e) {
        push(out, s, e - s);
        break;
      }
      const bs = b[k]!;
      const be = bs + b[k + 1]!;
      if (bs > s) push(out, s, bs - s);
      s = Math.max(s, be);
      k += 2;
    }
  }
  return out;
}

function push(out: number[], first: number, count: number): void {
  const n = out.length;
  if (n > 0 && out[n - 2]! + out[n - 1]! === first) out[n - 1] += count;
  else out.push(first, count);
}
