import type { EventStore } from '../../domain/ports/event-store.js';

/**
 * The position of the last event recorded at or before `timeMs`, or -1 when the log starts
 * later. recordedAt never decreases along the log, so a binary search of single-event reads
 * finds it in O(log n) reads.
 */
export async function positionAtTime(store: EventStore, timeMs: number): Promise<number> {
  let low = firstPositionOf(store);
  let high = await store.lastPosition();
  let found = -1;
  // Bounded: the range halves on every pass, at most 64 passes for any safe integer.
  for (let pass = 0; pass < 64 && low <= high; pass++) {
    const mid = Math.floor((low + high) / 2);
    const at = await recordedAt(store, mid);
    if (at <= timeMs) {
      found = mid;
      low = mid + 1;
    } else {
      high = mid - 1;
    }
  }
  return found;
}

/**
 * Where the store's positions start: 0, or the `firstPosition` a store of an incident bundle
 * carries (adapters/composition-root/incident-bundle-store.ts): its log starts at its window.
 */
function firstPositionOf(store: EventStore): number {
  const first = (store as { readonly firstPosition?: unknown }).firstPosition;
  return typeof first === 'number' && Number.isSafeInteger(first) && first > 0 ? first : 0;
}

async function recordedAt(store: EventStore, position: number): Promise<number> {
  for await (const batch of store.read(position, position + 1, { batchSize: 1 })) {
    const first = batch[0];
    if (first) return first.recordedAt;
  }
  return Number.POSITIVE_INFINITY;
}
