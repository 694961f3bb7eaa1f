import { MemoryEventStore } from '../../adapters/store/memory/memory-event-store.js';
import { IoError } from '../../domain/errors.js';
import type { RecordedEvent, ShadowEvent } from '../../domain/events.js';
import type { AppendOptions, EventStore, ReadOptions, Subscription } from '../../domain/ports/event-store.js';

/** How a {@link ScriptedStore} answers appends. */
export type AppendMode = 'pass' | 'hold' | 'full';

interface Held {
  readonly events: readonly ShadowEvent[];
  readonly options: AppendOptions | undefined;
  readonly resolve: (position: number) => void;
  readonly reject: (error: unknown) => void;
}

/** The error the embedded log gives when its disk is full (path and cause in the message). */
export function diskFullError(): IoError {
  const error = new IoError('append to /srv/sets/DSA1/log/00000000.seg: no space left on device');
  return Object.assign(error, { cause: Object.assign(new Error('ENOSPC'), { code: 'ENOSPC' }) });
}

/**
 * A memory store whose appends a test scripts, as the embedded log behaves when its disk fills
 * (ENOSPC is recoverable there): `pass` appends at once; `hold` keeps appends pending until
 * `settle`; `full` rejects every append with {@link diskFullError} without taking a position.
 */
export class ScriptedStore implements EventStore {
  readonly inner = new MemoryEventStore();
  mode: AppendMode = 'pass';
  /** Appends rejected so far. */
  rejected = 0;
  private readonly held: Held[] = [];

  /** Appends waiting in `hold` mode. */
  get pending(): number {
    return this.held.length;
  }

  append(events: readonly ShadowEvent[], options?: AppendOptions): Promise<number> {
    if (this.mode === 'full') {
      this.rejected++;
      return Promise.reject(diskFullError());
    }
    if (this.mode === 'pass') return this.inner.append(events, options);
    return new Promise((resolve, reject) => this.held.push({ events, options, resolve, reject }));
  }

  /**
   * Answer the held appends in order, one outcome each: 'reject' fails it with the disk-full
   * error; 'accept' appends it now (at the position the log is at, whatever the appender predicted).
   */
  async settle(outcomes: readonly ('accept' | 'reject')[]): Promise<void> {
    // Bounded by the held appends.
    for (const outcome of outcomes) {
      const item = this.held.shift();
      if (!item) throw new Error('no append is held');
      if (outcome === 'reject') {
        this.rejected++;
        item.reject(diskFullError());
      } else {
        item.resolve(await this.inner.append(item.events, item.options));
      }
    }
  }

  read(from: number, to?: number, options?: ReadOptions): AsyncIterable<readonly RecordedEvent[]> {
    return this.inner.read(from, to, options);
  }

  subscribe(from: number, onBatch: (batch: readonly RecordedEvent[]) => void | Promise<void>): Subscription {
    return this.inner.subscribe(from, onBatch);
  }

  lastPosition(): Promise<number> {
    return this.inner.lastPosition();
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
