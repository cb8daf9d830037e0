import type { LogEntry } from './types';

/**
 * What one server emitted as `committed`, for {@link InMemoryCluster.committed}: the events'
 * arrays are kept as they came (O(1) per event) and copied into one flat array only when it
 * is asked for, each entry once (amortized linear). The flat array is the same object on
 * every call and grows with later calls.
 */
export class CommittedLog<T> {
  readonly #batches: (readonly LogEntry<T>[])[] = [];
  readonly #flat: LogEntry<T>[] = [];

  /** Records one `committed` event's entries. */
  add(entries: readonly LogEntry<T>[]): void {
    if (entries.length > 0) this.#batches.push(entries);
  }

  /** Every entry recorded so far, in order, as one array (read-only: do not modify it). */
  view(): readonly LogEntry<T>[] {
    const flat = this.#flat;
    for (const batch of this.#batches) for (const entry of batch) flat.push(entry);
    this.#batches.length = 0;
    return flat;
  }
}
