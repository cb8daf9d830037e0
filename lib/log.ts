import type { IPersistentState } from './persistent-state';
import { EMPTY_LOG_POSITION, type LogEntry, type LogIndex, type LogPosition, type Term } from './types';

/**
 * A server's view of its replicated log: the entries in its {@link IPersistentState}, plus
 * the two volatile indices that say how far they are settled (Figure 2): `commitIndex`
 * (known committed) and `lastApplied` (handed to the `committed` event).
 *
 * Every question about positions, terms and ranges goes through here, so the rest of the
 * server never assumes where the log starts or how the store reads.
 */
export class RaftLog<T> {
  /** Where the entries live. */
  readonly store: IPersistentState<T>;
  /** Highest index known to be committed. */
  commitIndex: LogIndex = 0;
  /** Highest index handed to the `committed` event. */
  lastApplied: LogIndex = 0;

  /** A view over `store`, with nothing committed or applied yet (a server's start). */
  constructor(store: IPersistentState<T>) {
    this.store = store;
  }

  /** Index of the last entry, 0 when the log is empty. */
  get lastIndex(): LogIndex {
    return this.store.currentLogIndex;
  }

  /** The term of the entry at `index`: 0 for index 0, `undefined` past the end. */
  termAt(index: LogIndex): Term | undefined {
    if (index === 0) return 0;
    return this.store.getLogEntry(index)?.term;
  }

  /** The position of the last entry, `{0, 0}` for an empty log. */
  lastPosition(): LogPosition {
    const last = this.store.getLastLogEntry();
    return last === undefined ? EMPTY_LOG_POSITION : { index: last.index, term: last.term };
  }

  /** Whether the log holds an entry at `position.index` with `position.term` (index 0 always matches). */
  holds(position: LogPosition): boolean {
    return this.termAt(position.index) === position.term;
  }

  /**
   * Entries `from..to` (inclusive) that exist, in one store call when the store has
   * `getLogEntries`. The array may be the store's own: never change it.
   */
  entries(from: LogIndex, to: LogIndex): readonly LogEntry<T>[] {
    const store = this.store;
    if (store.getLogEntries) return store.getLogEntries(from, to);
    const entries: LogEntry<T>[] = [];
    for (let index = from; index <= to; index++) {
      const entry = store.getLogEntry(index);
      if (entry === undefined) break;
      entries.push(entry);
    }
    return entries;
  }

  /** Appends `items` as consecutive entries of `term` (one store call when the store can batch). */
  append(items: readonly T[], term: Term): void {
    const store = this.store;
    if (items.length === 1) {
      store.appendToLog(items[0] as T, term);
    } else if (store.appendEntries) {
      const first = store.currentLogIndex + 1;
      store.appendEntries(items.map((data, k): LogEntry<T> => ({ index: first + k, term, data })));
    } else {
      for (const data of items) store.appendToLog(data, term);
    }
  }

  /**
   * Stores a leader's entries after a position the log already holds (Figure 2,
   * AppendEntries steps 3 and 4): an existing entry whose term differs is deleted with all
   * that follow it; entries already present are kept, so a late or duplicated message never
   * removes anything. New entries are appended in one batch when the store can batch.
   *
   * @returns whether the store was written.
   */
  storeFromLeader(entries: readonly LogEntry<T>[]): boolean {
    const store = this.store;
    let k = 0;
    const lastIndex = store.currentLogIndex;
    while (k < entries.length) {
      const entry = entries[k] as LogEntry<T>;
      if (entry.index > lastIndex) break;
      if (this.termAt(entry.index) !== entry.term) {
        store.truncateLog(entry.index - 1);
        break;
      }
      k++;
    }
    if (k === entries.length) return false;
    const rest = k === 0 ? entries : entries.slice(k);
    if (store.appendEntries) {
      store.appendEntries(rest); // LogEntry objects: a store may keep them as they are
    } else {
      for (const entry of rest) store.appendToLog(entry.data, entry.term);
    }
    return true;
  }

  /**
   * Where a leader should resume after this log failed the consistency check at `prev`: the
   * largest index `i <= prev.index` that can still match, skipping in one step
   *  - everything past the end of a shorter log,
   *  - the whole run of the conflicting term at `prev.index` (its entries cannot all match), and
   *  - entries whose term is above `prev.term` (the leader has no entry of such a term at or
   *    before `prev.index`, as terms never decrease along a log).
   * Never below `commitIndex`: committed entries are in every later leader's log (§5.4).
   * So a leader needs one round trip per divergent term, not one per entry.
   */
  conflictHint(prev: LogPosition): LogIndex {
    const commitIndex = this.commitIndex;
    let i = Math.min(prev.index, this.lastIndex);
    if (i === prev.index) {
      const conflictingTerm = this.termAt(i);
      while (i > commitIndex && this.termAt(i) === conflictingTerm) i--;
    }
    while (i > commitIndex && (this.termAt(i) ?? 0) > prev.term) i--;
    return Math.min(i, Math.max(prev.index - 1, 0));
  }
}

/**
 * Cuts `entries` (in place) to the longest prefix whose data sizes add up to at most
 * `maxBytes`, but keeps at least one entry, so that replication always advances.
 * Returns the same array.
 */
export function trimToByteBudget<T>(entries: LogEntry<T>[], maxBytes: number, entrySize: (data: T) => number): LogEntry<T>[] {
  if (maxBytes === Infinity) return entries;
  let bytes = 0;
  for (let k = 0; k < entries.length; k++) {
    bytes += entrySize((entries[k] as LogEntry<T>).data);
    if (bytes > maxBytes && k > 0) {
      entries.length = k;
      break;
    }
  }
  return entries;
}
