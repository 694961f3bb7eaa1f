import type { Fingerprint } from './events.js';

/**
 * Why a member's fingerprint on return differs from the one taken when it left, or null when
 * they agree. A member written while away (restored from a backup, opened by another host)
 * holds data the bitmap knows nothing about, so a minicopy would leave it wrong.
 */
export function fingerprintDifference(before: Fingerprint, after: Fingerprint): string | null {
  if (before.sizeBytes !== after.sizeBytes) {
    return `size differs (${before.sizeBytes} bytes when dismounted, ${after.sizeBytes} now)`;
  }
  if (before.inode !== after.inode)
    return `inode differs (${before.inode} when dismounted, ${after.inode} now)`;
  if (before.mtimeMs !== after.mtimeMs) {
    return `mtime differs (${formatTime(before.mtimeMs)} when dismounted, ${formatTime(after.mtimeMs)} now)`;
  }
  const now = new Map<number, string>();
  for (const sample of after.samples) now.set(sample.chunk, sample.hash);
  for (const sample of before.samples) {
    const hash = now.get(sample.chunk);
    if (hash === undefined) return `content sample of chunk ${sample.chunk} is missing on return`;
    if (hash !== sample.hash) return `content differs in sampled chunk ${sample.chunk}`;
  }
  return null;
}

function formatTime(ms: number | null): string {
  return ms === null ? 'unknown' : new Date(ms).toISOString();
}
