import { PassThrough } from 'node:stream';
import {
  type AppendResult,
  type AppendStreamState,
  type Direction,
  type JSONEventData,
  MaxAppendSizeExceededError,
  type ReadRevision,
  type ResolvedEvent,
  StreamNotFoundError,
  UnavailableError,
  WrongExpectedVersionError,
} from '@kurrent/kurrentdb-client';
import type {
  KurrentDbClientSurface,
  StreamSubscriptionSurface,
} from '../../../../adapters/store/kurrentdb/client-surface.js';

/**
 * A fake KurrentDB server with clients of exactly the surface the store calls -- for the tests
 * that run where no Docker engine (so no real server) exists. It models only what the store
 * relies on, the way the server does it:
 *
 * - appends are atomic, checked against an explicit expected revision, and idempotent: events
 *   whose ids already sit at the expected place are acknowledged, not written again;
 * - `any` is refused outright: the store must always say where it appends;
 * - MaxAppendSize is counted as the server counts it (data + metadata + 2 × type length);
 * - data and metadata travel as JSON text, as on the wire;
 * - catch-up subscriptions start *after* the revision given, buffer at most `highWaterMark`
 *   events per Readable side and wait for the reader (flow control);
 * - faults can be scripted: a lost connection before or after an append commits, failed reads,
 *   dropped subscriptions.
 *
 * Every call takes a turn of the event loop, like a network round trip, so concurrent appends
 * pile up behind the one in flight as they would against a server.
 */

interface StoredRecord {
  readonly id: string;
  readonly type: string;
  readonly data: string;
  readonly metadata: string;
  readonly revision: bigint;
  readonly created: Date;
}

/** What the next appendToStream call does wrong. */
export type AppendFault =
  /** The connection is lost before the server sees the call. */
  | 'unavailable'
  /** The server commits, then the connection is lost before the answer arrives. */
  | 'lost-response';

/** One appendToStream call as the server saw it. */
export interface AppendCall {
  readonly streamName: string;
  readonly events: number;
  readonly bytes: number;
  readonly streamState: AppendStreamState;
  readonly ids: readonly string[];
}

const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

/** The fake server: streams, fault scripts and call log. */
export class FakeKurrentDbServer {
  /** Streams by name. */
  readonly streams = new Map<string, StoredRecord[]>();
  /** Faults of the next appends, in order. */
  readonly appendFaults: AppendFault[] = [];
  /** Every append call, faulty ones included. */
  readonly appendCalls: AppendCall[] = [];
  /** Reads left to fail with UnavailableError. */
  failingReads = 0;
  /** Subscriptions left to fail with UnavailableError when opened. */
  failingSubscribes = 0;
  /** The server's MaxAppendSize. */
  maxAppendSize = 1024 * 1024;
  /** Most events per subscription Readable seen buffered at once (flow control check). */
  peakSubscriptionBuffer = 0;
  private readonly subscriptions = new Set<FakeSubscription>();

  /** A new client connected to this server. */
  client(): FakeKurrentDbClient {
    return new FakeKurrentDbClient(this);
  }

  /** Lose the connection of every live subscription. */
  dropSubscriptions(): void {
    for (const subscription of [...this.subscriptions]) {
      this.subscriptions.delete(subscription);
      subscription.destroy(new UnavailableError(undefined, 'fake: subscription connection lost'));
    }
  }

  /** Live subscriptions. */
  get subscriptionCount(): number {
    return this.subscriptions.size;
  }

  /** Events of a stream as the store wrote them (parsed back from JSON). */
  eventsOf(streamName: string): { id: string; type: string; data: unknown; metadata: unknown }[] {
    return (this.streams.get(streamName) ?? []).map((r) => ({
      id: r.id,
      type: r.type,
      data: JSON.parse(r.data),
      metadata: JSON.parse(r.metadata),
    }));
  }

  /** @internal */
  async append(
    streamName: string,
    events: JSONEventData[],
    streamState: AppendStreamState,
  ): Promise<AppendResult> {
    await tick();
    const encoded = events.map((e) => ({
      id: e.id,
      type: e.type,
      data: JSON.stringify(e.data),
      metadata: e.metadata === undefined ? '' : JSON.stringify(e.metadata),
    }));
    const bytes = encoded.reduce(
      (sum, e) => sum + Buffer.byteLength(e.data) + Buffer.byteLength(e.metadata) + 2 * e.type.length,
      0,
    );
    this.appendCalls.push({
      streamName,
      events: events.length,
      bytes,
      streamState,
      ids: events.map((e) => e.id),
    });
    const fault = this.appendFaults.shift();
    if (fault === 'unavailable')
      throw new UnavailableError(undefined, 'fake: connection lost before the append');
    if (streamState !== 'no_stream' && typeof streamState !== 'bigint') {
      throw new Error(`fake: appends must carry an exact expected revision, got ${String(streamState)}`);
    }
    if (bytes > this.maxAppendSize) throw new MaxAppendSizeExceededError(undefined, this.maxAppendSize);
    const records = this.streams.get(streamName) ?? [];
    const expectedEnd = streamState === 'no_stream' ? 0 : Number(streamState) + 1;
    if (records.length !== expectedEnd) {
      // The server's idempotency check: the same ids already where this append expected to go.
      const there = records.slice(expectedEnd, expectedEnd + events.length);
      if (there.length === events.length && there.every((r, i) => r.id === events[i]!.id)) {
        return { success: true, nextExpectedRevision: BigInt(expectedEnd + events.length - 1) };
      }
      throw new WrongExpectedVersionError(undefined, {
        streamName,
        expected: streamState,
        current: records.length === 0 ? 'no_stream' : BigInt(records.length - 1),
      });
    }
    const created = new Date();
    for (const e of encoded) {
      records.push({ ...e, revision: BigInt(records.length), created });
    }
    this.streams.set(streamName, records);
    for (const subscription of this.subscriptions) subscription.pump();
    if (fault === 'lost-response')
      throw new UnavailableError(undefined, 'fake: connection lost after the commit');
    return { success: true, nextExpectedRevision: BigInt(records.length - 1) };
  }

  /** @internal */
  async *read(
    streamName: string,
    fromRevision: ReadRevision,
    maxCount: bigint,
    direction: Direction,
  ): AsyncGenerator<ResolvedEvent> {
    await tick();
    if (this.failingReads > 0) {
      this.failingReads--;
      throw new UnavailableError(undefined, 'fake: connection lost during a read');
    }
    const records = this.streams.get(streamName);
    if (records === undefined) throw new StreamNotFoundError(undefined, streamName);
    const count = Number(maxCount);
    if (direction === 'forwards') {
      const start =
        fromRevision === 'start' ? 0 : fromRevision === 'end' ? records.length : Number(fromRevision);
      for (let i = start; i < Math.min(records.length, start + count); i++) yield resolved(records[i]!);
    } else {
      const start =
        fromRevision === 'end' ? records.length - 1 : fromRevision === 'start' ? 0 : Number(fromRevision);
      for (let i = Math.min(start, records.length - 1); i >= 0 && start - i < count; i--)
        yield resolved(records[i]!);
    }
  }

  /** @internal */
  subscribe(streamName: string, fromRevision: ReadRevision, highWaterMark: number): FakeSubscription {
    const next = fromRevision === 'start' ? 0 : fromRevision === 'end' ? -1 : Number(fromRevision) + 1;
    const subscription = new FakeSubscription(this, streamName, next, highWaterMark);
    if (this.failingSubscribes > 0) {
      this.failingSubscribes--;
      setImmediate(() => subscription.destroy(new UnavailableError(undefined, 'fake: cannot subscribe')));
      return subscription;
    }
    this.subscriptions.add(subscription);
    setImmediate(() => subscription.pump());
    return subscription;
  }

  /** @internal */
  forget(subscription: FakeSubscription): void {
    this.subscriptions.delete(subscription);
  }
}

function resolved(record: StoredRecord): ResolvedEvent {
  return {
    event: {
      streamId: '',
      id: record.id,
      isJson: true,
      revision: record.revision,
      type: record.type,
      created: record.created,
      data: JSON.parse(record.data),
      metadata: record.metadata === '' ? undefined : JSON.parse(record.metadata),
    },
  } as ResolvedEvent;
}

/** A catch-up subscription: an object-mode stream the server writes into as far as flow control lets it. */
class FakeSubscription extends PassThrough implements StreamSubscriptionSurface {
  private readonly server: FakeKurrentDbServer;
  private readonly streamName: string;
  private next: number;
  private waitingForDrain = false;

  constructor(server: FakeKurrentDbServer, streamName: string, next: number, highWaterMark: number) {
    super({ objectMode: true, highWaterMark });
    this.server = server;
    this.streamName = streamName;
    this.next = next;
  }

  /** Send what the reader has room for. */
  pump(): void {
    if (this.destroyed || this.waitingForDrain) return;
    const records = this.server.streams.get(this.streamName) ?? [];
    if (this.next < 0) this.next = records.length;
    while (this.next < records.length) {
      const ok = this.write(resolved(records[this.next++]!));
      const buffered = this.readableLength + this.writableLength;
      this.server.peakSubscriptionBuffer = Math.max(this.server.peakSubscriptionBuffer, buffered);
      if (!ok) {
        this.waitingForDrain = true;
        this.once('drain', () => {
          this.waitingForDrain = false;
          this.pump();
        });
        return;
      }
    }
  }

  async unsubscribe(): Promise<void> {
    this.server.forget(this);
  }
}

/** A client of the fake server: the surface the store calls. */
export class FakeKurrentDbClient implements KurrentDbClientSurface {
  /** True after dispose. */
  disposed = false;
  private readonly server: FakeKurrentDbServer;
  private readonly opened = new Set<FakeSubscription>();

  constructor(server: FakeKurrentDbServer) {
    this.server = server;
  }

  appendToStream(
    streamName: string,
    events: JSONEventData[],
    options: { readonly streamState: AppendStreamState },
  ): Promise<AppendResult> {
    if (this.disposed) return Promise.reject(new Error('fake: client disposed'));
    return this.server.append(streamName, events, options.streamState);
  }

  readStream(
    streamName: string,
    options: {
      readonly fromRevision: ReadRevision;
      readonly maxCount: bigint;
      readonly direction: Direction;
    },
  ): AsyncIterable<ResolvedEvent> {
    if (this.disposed) throw new Error('fake: client disposed');
    return this.server.read(streamName, options.fromRevision, options.maxCount, options.direction);
  }

  subscribeToStream(
    streamName: string,
    options: { readonly fromRevision: ReadRevision },
    readableOptions: { readonly highWaterMark: number },
  ): StreamSubscriptionSurface {
    if (this.disposed) throw new Error('fake: client disposed');
    const subscription = this.server.subscribe(
      streamName,
      options.fromRevision,
      readableOptions.highWaterMark,
    );
    this.opened.add(subscription);
    return subscription;
  }

  async dispose(): Promise<void> {
    this.disposed = true;
    for (const subscription of this.opened) {
      this.server.forget(subscription);
      subscription.destroy();
    }
  }
}
