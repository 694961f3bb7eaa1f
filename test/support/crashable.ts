import type { BlockDevice } from '../../domain/ports/block-device.js';
import type { EventStore, Subscription } from '../../domain/ports/event-store.js';
import type { MemberAccess } from '../../domain/ports/member-access.js';

/**
 * One "life" of an engine for simulated crashes: its store and member access go dead at
 * `crash()`. After that nothing the old engine does reaches the log or the members: appends
 * never resolve (they were not durable), device operations never complete, subscriptions
 * stop. A new life on the same store and disks is the engine after reboot.
 */
export class Life {
  private dead = false;
  private readonly never = new Promise<never>(() => undefined);
  private readonly subscriptions: Subscription[] = [];

  /** Device operations wait on this before they run (a scheduler may order them); default none. */
  gate: (label: string) => Promise<void> = async () => undefined;

  crash(): void {
    this.dead = true;
    for (const s of this.subscriptions) void s.unsubscribe();
  }

  get isDead(): boolean {
    return this.dead;
  }

  store(inner: EventStore): EventStore {
    return {
      append: (events, options) => (this.dead ? this.never : inner.append(events, options)),
      read: (from, to, options) => inner.read(from, to, options),
      subscribe: (from, onBatch) => {
        const s = inner.subscribe(from, (batch) => (this.dead ? undefined : onBatch(batch)));
        this.subscriptions.push(s);
        return s;
      },
      lastPosition: () => inner.lastPosition(),
      close: async () => undefined,
    };
  }

  access(inner: MemberAccess): MemberAccess {
    return {
      open: async (path, size) => this.device(await inner.open(path, size)),
      fingerprint: (path, device, geometry) => inner.fingerprint(path, device, geometry),
    };
  }

  private device(inner: BlockDevice): BlockDevice {
    const run = async <T>(label: string, op: () => Promise<T>): Promise<T> => {
      if (this.dead) return this.never;
      await this.gate(label);
      if (this.dead) return this.never;
      return op();
    };
    return {
      name: inner.name,
      size: () => inner.size(),
      read: (buffer, offset) => run(`read ${inner.name}@${offset}`, () => inner.read(buffer, offset)),
      write: (buffer, offset) => run(`write ${inner.name}@${offset}`, () => inner.write(buffer, offset)),
      flush: () => run(`flush ${inner.name}`, () => inner.flush()),
      close: () => inner.close(),
    };
  }
}
