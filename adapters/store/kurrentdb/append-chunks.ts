import type { JSONEventData } from '@kurrent/kurrentdb-client';
import type { ShadowEvent } from '../../../domain/events.js';
import { toEventData } from './event-mapping.js';

/**
 * Cutting a run of appends into server appends ("chunks"). A run is a sequence of queued
 * appends that go to consecutive positions; a chunk is what one `appendToStream` call carries,
 * below the server's MaxAppendSize and the writer's event bound. Group commits are taken from
 * the queue so that they fit one chunk; only a single append larger than that spans several,
 * and each later chunk remembers it (`continues`) so that a failure there can say which
 * append was left half written.
 */

/** An append accepted by the writer and not yet settled. */
export interface PendingAppend {
  /** Its events, validated. */
  readonly events: readonly ShadowEvent[];
  /** `events.length`. */
  readonly eventCount: number;
  /** Event ids, fixed at acceptance and reused by every retry. */
  readonly ids: readonly string[];
  /** Size of each event as the server counts it. */
  readonly sizes: readonly number[];
  /** Sum of `sizes`. */
  readonly bytes: number;
  /** The position its first event must get, if the caller said. */
  readonly expectedPosition: number | undefined;
  /** Order of the call among all appends of the writer. */
  readonly ticket: number;
  /** True once resolved or rejected. */
  settled: boolean;
  /** Settles the caller's promise with the position of the last event. */
  readonly resolve: (lastPosition: number) => void;
  /** Settles the caller's promise with an error. */
  readonly reject: (error: unknown) => void;
}

/** One server append. */
export interface Chunk {
  /** Position of its first event. */
  readonly first: number;
  /** The KurrentDB events. */
  readonly data: JSONEventData[];
  /** Their size as the server counts it. */
  bytes: number;
  /** Appends whose last event is in this chunk, with that event's position. */
  readonly completes: { readonly append: PendingAppend; readonly last: number }[];
  /** An append that began in an earlier chunk (a split append), if any. */
  readonly continues: PendingAppend | undefined;
}

/** Cut `run`, starting at position `first`, into chunks within the bounds; every event gets `recordedAt`. */
export function cutIntoChunks(
  run: readonly PendingAppend[],
  first: number,
  recordedAt: number,
  limits: { readonly maxAppendBytes: number; readonly maxAppendEvents: number },
): Chunk[] {
  const chunks: Chunk[] = [];
  let position = first;
  let current: Chunk = { first, data: [], bytes: 0, completes: [], continues: undefined };
  for (const item of run) {
    for (let i = 0; i < item.eventCount; i++) {
      const size = item.sizes[i]!;
      if (
        current.data.length > 0 &&
        (current.bytes + size > limits.maxAppendBytes || current.data.length >= limits.maxAppendEvents)
      ) {
        chunks.push(current);
        current = { first: position, data: [], bytes: 0, completes: [], continues: i > 0 ? item : undefined };
      }
      current.data.push(toEventData(item.events[i]!, item.ids[i]!, recordedAt));
      current.bytes += size;
      position++;
    }
    current.completes.push({ append: item, last: position - 1 });
  }
  chunks.push(current);
  return chunks;
}
