import type { IPersistentState } from './persistent-state';
import { EMPTY_LOG_POSITION, type LogEntry, type LogIndex, type LogPosition, type Term } from './types';

/**
 * Log operations a server needs on top of {@link IPersistentState}: reading terms and
 * positions, the follower side of AppendEntries (§5.3), and the hint a follower sends back
 * when the consistency check fails. Pure functions over the store, so they are easy to test.
 */

/** The term of the entry at `index`: 0 for index 0, `undefined` past the end. */
export function termAt<T>(state: IPersistentState<T>, index: LogIndex): Term | undefined {
  if (index === 0) return 0;
  return state.getLogEntry(index)?.term;
}

/** The position of the last entry, `{0, 0}` for an empty log. */
export function lastPosition<T>(state: IPersistentState<T>): LogPosition {
  const last = state.getLastLogEntry();
  return last === undefined ? EMPTY_LOG_POSITION : { index: last.index, term: last.term };
}

/** Whether the log holds an entry at `position.index` with `position.term` (index 0 always matches). */
export function holds<T>(state: IPersistentState<T>, position: LogPosition): boolean {
  return termAt(state, position.index) === position.term;
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
export function conflictHint<T>(state: IPersistentState<T>, prev: LogPosition, commitIndex: LogIndex): LogIndex {
  let i = Math.min(prev.index, state.currentLogIndex);
  if (i === prev.index) {
    const conflictingTerm = termAt(state, i);
    while (i > commitIndex && termAt(state, i) === conflictingTerm) i--;
  }
  while (i > commitIndex && (termAt(state, i) ?? 0) > prev.term) i--;
  return Math.min(i, Math.max(prev.index - 1, 0));
}

/**
 * Stores a leader's entries after `prevIndex`, which the log already holds (Figure 2,
 * AppendEntries steps 3 and 4): an existing entry whose term differs is deleted with all
 * that follow it; entries already present are kept, so a late or duplicated message never
 * removes anything. New entries are appended in one batch when the store can batch.
 *
 * @returns whether the store was written.
 */
export function storeEntries<T>(state: IPersistentState<T>, entries: readonly LogEntry<T>[]): boolean {
  let k = 0;
  const lastIndex = state.currentLogIndex;
  while (k < entries.length) {
    const entry = entries[k] as LogEntry<T>;
    if (entry.index > lastIndex) break;
    if (termAt(state, entry.index) !== entry.term) {
      state.truncateLog(entry.index - 1);
      break;
    }
    k++;
  }
  if (k === entries.length) return false;
  const rest = k === 0 ? entries : entries.slice(k);
  if (state.appendEntries) {
    state.appendEntries(rest); // LogEntry objects: a store may keep them as they are
  } else {
    for (const entry of rest) state.appendToLog(entry.data, entry.term);
  }
  return true;
}

/** Reads entries `from..to` (inclusive) from the store, in one call when the store has `getLogEntries`. */
export function readEntries<T>(state: IPersistentState<T>, from: LogIndex, to: LogIndex): LogEntry<T>[] {
  if (state.getLogEntries) return state.getLogEntries(from, to);
  const entries: LogEntry<T>[] = [];
  for (let index = from; index <= to; index++) {
    const entry = state.getLogEntry(index);
    if (entry === undefined) break;
    entries.push(entry);
  }
  return entries;
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
