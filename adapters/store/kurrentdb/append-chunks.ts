import type { JSONEventData } from '@kurrent/kurrentdb-client';
import { toEventData } from './event-mapping.js';
import type { PendingServerAppend } from './server-append.js';

/**
 * Cutting a run of appends into server appends ("chunks"). A run is a sequence of queued
 * appends that go to consecutive positions; a chunk is what one `appendToStream` call carries,
 * below the server's MaxAppendSize and the writer's event bound. Group commits are taken from
 * the queue so that they fit one chunk; only a single append larger than that spans several,
 * and each later chunk remembers it (`continues`) so that a failure there can say which
 * append was left half written.
 */

/** One server append. */
export interface Chunk {
  /** Position of its first event. */
  readonly first: number;
  /** The KurrentDB events. */
  readonly data: JSONEventData[];
  /** Their size as the server counts it. */
  bytes: number;
  /** Appends whose last event is in this chunk, with that event's position. */
  readonly completes: { readonly append: PendingServerAppend; readonly last: number }[];
  /** An append that began in an earlier chunk (a split append), if any. */
  readonly continues: PendingServerAppend | undefined;
}

/** Cut `run`, starting at position `first`, into chunks within the bounds; every event gets `recordedAt`. */
export function cutIntoChunks(
  run: readonly PendingServerAppend[],
  first: number,
  recordedAt: number,
  limits: { readonly maxAppendBytes: number; readonly maxAppendEvents: number },
): Chunk[] {
  const chunks: Chunk[] = [];
  let position = first;
  let current: Chunk = { first, data: [], bytes: 0, completes: [], continues: undefined };
  for (const item of run) {
    for (let i = 0; i < item.eventCount; i++) {
      const size = item.prepared.sizes[i]!;
      if (
        current.data.length > 0 &&
        (current.bytes + size > limits.maxAppendBytes || current.data.length >= limits.maxAppendEvents)
      ) {
        chunks.push(current);
        current = { first: position, data: [], bytes: 0, completes: [], continues: i > 0 ? item : undefined };
      }
      current.data.push(toEventData(item.prepared.events[i]!, item.prepared.ids[i]!, recordedAt));
      current.bytes += size;
      position++;
    }
    current.completes.push({ append: item, last: position - 1 });
  }
  chunks.push(current);
  return chunks;
}
