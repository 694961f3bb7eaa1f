import type { Readable } from 'node:stream';
import type {
  AppendResult,
  AppendStreamState,
  Direction,
  JSONEventData,
  ReadRevision,
  ResolvedEvent,
} from '@kurrent/kurrentdb-client';

/**
 * The part of the official `KurrentDBClient` the store calls, and nothing more. Naming it
 * keeps the store honest about its dependencies and gives tests one seam: where no server can
 * run they pass a fake of exactly this surface. `KurrentDBClient` satisfies it as is (checked
 * by the compiler in open-kurrentdb-store.ts).
 */
export interface KurrentDbClientSurface {
  /**
   * Append `events` atomically; rejects with `WrongExpectedVersionError` when the stream is
   * not in `streamState`. An event whose id is already at the expected place is not written
   * twice (the server's idempotency check): retries rely on it.
   */
  appendToStream(
    streamName: string,
    events: JSONEventData[],
    options: { readonly streamState: AppendStreamState },
  ): Promise<AppendResult>;

  /** Read up to `maxCount` events from `fromRevision`; rejects with `StreamNotFoundError` for a missing stream. */
  readStream(
    streamName: string,
    options: {
      readonly fromRevision: ReadRevision;
      readonly maxCount: bigint;
      readonly direction: Direction;
      readonly requiresLeader: boolean;
    },
  ): AsyncIterable<ResolvedEvent>;

  /**
   * Catch-up subscription: events after `fromRevision` (from the first with START), then live.
   * The result is an object-mode Readable: its buffer holds at most `highWaterMark` events,
   * beyond which gRPC flow control holds the server back.
   */
  subscribeToStream(
    streamName: string,
    options: { readonly fromRevision: ReadRevision },
    readableOptions: { readonly highWaterMark: number },
  ): StreamSubscriptionSurface;

  /** Close every connection. */
  dispose(): Promise<void>;
}

/** A live subscription as the client returns it. */
export interface StreamSubscriptionSurface extends Readable {
  /** Cancel the server side of the subscription. */
  unsubscribe(): Promise<void>;
}

/** The stream holding the events of shadow set `setId`. */
export function streamNameFor(setId: string): string {
  return `shadowlog-${setId}`;
}
