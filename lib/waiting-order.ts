import type { InMemoryNetwork } from './network';

/**
 * Every waiting message of a `'manual'` {@link InMemoryNetwork} in sending (id) order,
 * with O(1) amortized access to the oldest and O(log n) access to the k-th: a Fenwick tree counts the occupied
 * slots, so that removing a message from the middle leaves no hole to step over. Slots are
 * handed out in sending order and renumbered (compacted) when they run out, which costs
 * O(n) once per n insertions.
 */
export class WaitingOrder<E extends { slot: number }> {
  #slots: (E | undefined)[] = [];
  #tree = new Int32Array(1);
  #used = 0;
  #head = 0;
  #size = 0;

  /** Number of waiting messages. */
  get size(): number {
    return this.#size;
  }

  /** Adds `envelope` after every other (it has the highest id so far). */
  push(envelope: E): void {
    if (this.#used === this.#slots.length) this.#renumber();
    envelope.slot = this.#used;
    this.#slots[this.#used] = envelope;
    this.#add(this.#used, 1);
    this.#used++;
    this.#size++;
  }

  /** Removes `envelope`, which must be in the order. */
  remove(envelope: E): void {
    this.#slots[envelope.slot] = undefined;
    this.#add(envelope.slot, -1);
    envelope.slot = -1;
    this.#size--;
  }

  /** The oldest waiting message, in O(1) amortized. */
  first(): E | undefined {
    while (this.#head < this.#used && this.#slots[this.#head] === undefined) this.#head++;
    return this.#slots[this.#head];
  }

  /** The `position`-th waiting message (0 = oldest), in O(log n). */
  at(position: number): E | undefined {
    if (position < 0 || position >= this.#size) return undefined;
    if (position === 0) return this.first();
    // Binary lifting over the Fenwick tree: the largest prefix holding `position` messages.
    const tree = this.#tree;
    let index = 0;
    let remaining = position + 1;
    for (let step = highestPowerOfTwo(tree.length - 1); step > 0; step >>= 1) {
      const next = index + step;
      if (next < tree.length && (tree[next] as number) < remaining) {
        index = next;
        remaining -= tree[next] as number;
      }
    }
    return this.#slots[index]; // tree index `index + 1` is slot `index`
  }

  /** Every waiting message, oldest first. */
  *values(): IterableIterator<E> {
    for (let slot = this.#head; slot < this.#used; slot++) {
      const envelope = this.#slots[slot];
      if (envelope !== undefined) yield envelope;
    }
  }

  #add(slot: number, delta: number): void {
    const tree = this.#tree;
    for (let index = slot + 1; index < tree.length; index += index & -index) tree[index] = (tree[index] as number) + delta;
  }

  /** Compacts the waiting messages into slots 0..size-1, with room for as many again, and rebuilds the tree in O(n). */
  #renumber(): void {
    const live = [...this.values()];
    const capacity = Math.max(16, live.length * 2);
    this.#slots = new Array<E | undefined>(capacity).fill(undefined);
    const tree = new Int32Array(capacity + 1);
    live.forEach((envelope, slot) => {
      envelope.slot = slot;
      this.#slots[slot] = envelope;
      tree[slot + 1] = 1;
    });
    for (let index = 1; index <= capacity; index++) {
      const parent = index + (index & -index);
      if (parent <= capacity) tree[parent] = (tree[parent] as number) + (tree[index] as number);
    }
    this.#tree = tree;
    this.#used = live.length;
    this.#head = 0;
  }
}

/** The largest power of two at most `n` (0 for n < 1). */
function highestPowerOfTwo(n: number): number {
  let power = 1;
  while (power * 2 <= n) power *= 2;
  return n < 1 ? 0 : power;
}
