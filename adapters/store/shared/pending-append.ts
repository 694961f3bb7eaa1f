/**
 * An append a store's writer accepted and has not settled yet: what the shared append queue
 * (append-queue.ts) holds, for the embedded group-commit writer and the KurrentDB writer
 * alike. What each store works out from the events at acceptance (encoded records, event ids,
 * sizes) is its `prepared` part; the rest is what the queue and the settling need.
 *
 * An append is settled exactly once: {@link resolveAppend} and {@link rejectAppend} do
 * nothing for an append already settled, so a writer that fails after resolving part of a
 * batch can reject "the whole batch" without touching the appends already acknowledged.
 */

/** An accepted, unsettled append; `P` is what the store prepared from its events. */
export interface PendingAppend<P> {
  /** The store's preparation of the events (validated, measured, encoded or given ids). */
  readonly prepared: P;
  /** Number of events. */
  readonly eventCount: number;
  /** Size of the append as the store counts it (encoded bytes, or bytes as the server counts them). */
  readonly bytes: number;
  /** The position its first event must get, if the caller said. */
  readonly expectedPosition: number | undefined;
  /** True once resolved or rejected. */
  settled: boolean;
  /** Settles the caller's promise with the position of the last event. */
  readonly resolve: (lastPosition: number) => void;
  /** Settles the caller's promise with an error. */
  readonly reject: (error: unknown) => void;
}

/** Resolve `append` with the position of its last event, unless it is settled already. */
export function resolveAppend(append: PendingAppend<unknown>, lastPosition: number): void {
  if (append.settled) return;
  append.settled = true;
  append.resolve(lastPosition);
}

/** Reject `append` with `error`, unless it is settled already. */
export function rejectAppend(append: PendingAppend<unknown>, error: unknown): void {
  if (append.settled) return;
  append.settled = true;
  append.reject(error);
}
