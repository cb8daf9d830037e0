import type { LogEntry } from './types';

/**
 * What one server emitted as `committed`, for {@link InMemoryCluster.committed}: each event's
 * entries are appended to a pending array as they come (the events' own arrays are not kept,
 * so they die young), and moved into one flat array only when it is asked for, each entry
 * once (amortized linear). The flat array is the same object on every call and grows with
 * later calls, never in between.
 */
export class CommittedLog<T> {
  /** Entries recorded since the last {@link CommittedLog.view}, in order; reused (emptied in place). */
  readonly #pending: LogEntry<T>[] = [];
  readonly #flat: LogEntry<T>[] = [];

  /** Records one `committed` event's entries. */
  add(entries: readonly LogEntry<T>[]): void {
    const pending = this.#pending;
    for (let k = 0; k < entries.length; k++) pending.push(entries[k] as LogEntry<T>);
  }

  /** Every entry recorded so far, in order, as one array (read-only: do not modify it). */
  view(): readonly LogEntry<T>[] {
    const flat = this.#flat;
    const pending = this.#pending;
    for (let k = 0; k < pending.length; k++) flat.push(pending[k] as LogEntry<T>);
    pending.length = 0;
    return flat;
  }
}
