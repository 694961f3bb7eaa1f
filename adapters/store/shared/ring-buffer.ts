import { assert } from '../../../domain/errors.js';

/**
 * A FIFO over a power-of-two array used as a ring: push at the back and shift from the front
 * in O(1), with no copying of the rest (as `Array.shift` and `splice(0, n)` do: with a
 * quarter of a million queued appends, each batch taken would copy the whole backlog).
 *
 * The ring grows by doubling when full (amortised O(1) per push) and drops back to its
 * initial size when it empties from a large size, so a burst does not pin its memory.
 * How many items it holds is bounded by its users (the append queue admits by event and byte
 * bounds), not here.
 */

/** Slots of a new ring, and what an emptied large ring shrinks back to. */
const INITIAL_CAPACITY = 16;
/** An empty ring larger than this shrinks back to {@link INITIAL_CAPACITY}. */
const SHRINK_ABOVE_CAPACITY = 4096;

/** FIFO ring; see the file comment. */
export class RingBuffer<T> {
  private slots: (T | undefined)[] = new Array(INITIAL_CAPACITY);
  /** `slots.length - 1`; the length is a power of two. */
  private mask = INITIAL_CAPACITY - 1;
  /** Slot of the front item. */
  private head = 0;
  private count = 0;

  /** Items held. */
  get length(): number {
    return this.count;
  }

  /** Add `item` at the back. */
  push(item: T): void {
    if (this.count === this.slots.length) this.grow();
    this.slots[(this.head + this.count) & this.mask] = item;
    this.count++;
  }

  /** The front item, left in place. Call only when not empty. */
  peek(): T {
    assert(this.count > 0, 'peek of an empty ring');
    return this.slots[this.head] as T;
  }

  /** Remove and return the front item. Call only when not empty. */
  shift(): T {
    assert(this.count > 0, 'shift of an empty ring');
    const item = this.slots[this.head] as T;
    // Clear the slot: a taken item must not stay reachable from the ring.
    this.slots[this.head] = undefined;
    this.head = (this.head + 1) & this.mask;
    this.count--;
    if (this.count === 0) this.reset();
    return item;
  }

  private reset(): void {
    this.head = 0;
    if (this.slots.length > SHRINK_ABOVE_CAPACITY) {
      this.slots = new Array(INITIAL_CAPACITY);
      this.mask = INITIAL_CAPACITY - 1;
    }
  }

  private grow(): void {
    const old = this.slots;
    const next: (T | undefined)[] = new Array(old.length * 2);
    // Unroll the ring into the front of the new array, oldest first.
    for (let i = 0; i < this.count; i++) next[i] = old[(this.head + i) & this.mask];
    this.slots = next;
    this.mask = next.length - 1;
    this.head = 0;
  }
}
