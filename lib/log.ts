import { InvalidArgumentError, describe } from './errors';
import type { AppendEntriesReply } from './messages';
import { holdsSnapshots, type IPersistentState } from './persistent-state';
import { EMPTY_LOG_POSITION, type LogEntry, type LogIndex, type LogPosition, type Snapshot, type Term } from './types';

/**
 * A server's view of its replicated log: the entries in its {@link IPersistentState}, plus
 * the two volatile indices that say how far they are settled (Figure 2): `commitIndex`
 * (known committed) and `lastApplied` (handed to the `committed` event).
 *
 * Every question about positions, terms and ranges goes through here, so the rest of the
 * server never assumes where the log starts or how the store reads.
 *
 * The log starts anywhere (Raft §7): entries up to {@link RaftLog.snapshot} may have been
 * compacted into a snapshot, and the store holds only `firstIndex..lastIndex`. The
 * snapshot's last entry still has a known term, so the consistency check, the up-to-date
 * check and the conflict hint work when that entry itself was compacted away.
 */
export class RaftLog<T> {
  /** Where the entries live. */
  readonly store: IPersistentState<T>;
  /** Highest index known to be committed (never below the snapshot). */
  commitIndex: LogIndex;
  /** Highest index handed to the `committed` event (or covered by the snapshot restored). */
  lastApplied: LogIndex;
  /** The last entry covered by the latest snapshot, `{0, 0}` when there is none. */
  #snapshot: LogPosition;
  /** Index of the first entry the store holds. */
  #firstIndex: LogIndex;

  /**
   * A view over `store` at a server's start: what its snapshot covers counts as committed and
   * applied, nothing after it yet.
   */
  constructor(store: IPersistentState<T>) {
    this.store = store;
    const snapshot = holdsSnapshots(store) ? store.getSnapshot() : undefined;
    this.#snapshot = snapshot === undefined ? EMPTY_LOG_POSITION : { index: snapshot.lastIncluded.index, term: snapshot.lastIncluded.term };
    this.#firstIndex = store.firstLogIndex ?? 1;
    this.commitIndex = this.#snapshot.index;
    this.lastApplied = this.#snapshot.index;
  }

  /** Index of the last entry (the snapshot's when nothing follows it), 0 when the log is empty. */
  get lastIndex(): LogIndex {
    return this.store.currentLogIndex;
  }

  /** Index of the first entry the store holds; those before it were compacted into the snapshot. */
  get firstIndex(): LogIndex {
    return this.#firstIndex;
  }

  /** The last entry covered by the latest snapshot, `{0, 0}` when there is none. */
  get snapshot(): LogPosition {
    return this.#snapshot;
  }

  /** How many entries the store holds. */
  get entryCount(): number {
    return this.lastIndex - this.#firstIndex + 1;
  }

  /**
   * The term of the entry at `index`: 0 for index 0, the snapshot's term at its last index,
   * `undefined` past the end or for an entry compacted away.
   */
  termAt(index: LogIndex): Term | undefined {
    if (index === 0) return 0;
    if (index === this.#snapshot.index) return this.#snapshot.term;
    if (index < this.#firstIndex) return undefined;
    return this.store.getLogEntry(index)?.term;
  }

  /** Whether the entry at `index` was compacted into the snapshot (its term may be unknown). */
  isCompacted(index: LogIndex): boolean {
    return index > 0 && index <= this.#snapshot.index;
  }

  /**
   * Whether AppendEntries can carry the log from `nextIndex` on: the entries from there are
   * held, and so is the term of the entry before (what the follower checks). When not, a
   * follower that needs them gets the snapshot.
   */
  canReplicateFrom(nextIndex: LogIndex): boolean {
    return nextIndex >= this.#firstIndex && this.termAt(nextIndex - 1) !== undefined;
  }

  /** The position of the last entry (the snapshot's when nothing follows it), `{0, 0}` for an empty log. */
  lastPosition(): LogPosition {
    const last = this.store.getLastLogEntry();
    if (last !== undefined) return { index: last.index, term: last.term };
    return this.#snapshot;
  }

  /**
   * Whether the log holds an entry at `position.index` with `position.term` (index 0 always
   * matches). A position the snapshot covers counts as held: it is committed, and every
   * leader of this term or a later one has the same entry there (§5.4.1).
   */
  holds(position: LogPosition): boolean {
    const term = this.termAt(position.index);
    if (term === undefined) return this.isCompacted(position.index);
    return term === position.term;
  }

  /**
   * Stores `snapshot` as the latest and drops the log it covers, keeping entries from
   * `firstKept` on when the log holds its last entry (every entry otherwise). The store must
   * hold snapshots. Commit and applied indices are the caller's to move.
   */
  saveSnapshot(snapshot: Snapshot, firstKept: LogIndex): void {
    const store = this.store;
    if (!holdsSnapshots(store)) throw new InvalidArgumentError('this server\'s persistentState cannot hold snapshots (it lacks firstLogIndex, getSnapshot or saveSnapshot)');
    store.saveSnapshot(snapshot, firstKept);
    this.#snapshot = { index: snapshot.lastIncluded.index, term: snapshot.lastIncluded.term };
    this.#firstIndex = store.firstLogIndex;
  }

  /**
   * Entries `from..to` (inclusive) that exist, in one store call when the store has
   * `getLogEntries`. The array may be the store's own: never change it.
   * @throws Error when `from` is compacted away: a caller that asks for such entries has a
   * bug (it should have sent the snapshot, or applied it), and an empty answer would hide it.
   */
  entries(from: LogIndex, to: LogIndex): readonly LogEntry<T>[] {
    if (from < this.#firstIndex && from <= to) throw new Error(`internal error: entries from ${from} were asked for, but the log starts at ${this.#firstIndex}`);
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
   * @returns the first index written (replaced or added), or 0 when the log was not written.
   */
  storeFromLeader(entries: readonly LogEntry<T>[]): LogIndex {
    const store = this.store;
    if (entries.length === 0) return 0;
    // Entries compacted here are committed: they match, and are skipped.
    let k = Math.min(Math.max(0, this.#firstIndex - (entries[0] as LogEntry<T>).index), entries.length);
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
    if (k === entries.length) return 0;
    const rest = k === 0 ? entries : entries.slice(k);
    if (store.appendEntries) {
      store.appendEntries(rest); // LogEntry objects: a store may keep them as they are
    } else {
      // appendToLog cannot say an entry is a no-op: storing one as data would apply it.
      if (rest.some((entry) => entry.kind !== undefined)) {
        throw new InvalidArgumentError('persistentState needs appendEntries to hold the no-op entries a leader writes for readIndex; nothing was stored');
      }
      for (const entry of rest) store.appendToLog(entry.data, entry.term);
    }
    return (rest[0] as LogEntry<T>).index;
  }

  /**
   * The largest index `i <= index`, and not below `floor`, whose entry's term is at most
   * `term` (etcd's findConflictByTerm). Terms never decrease along a log, so every entry
   * above `i` up to `index` has a later term than `term`. The search stops at an entry
   * compacted away (its term is unknown): from there on, only the snapshot can help.
   */
  lastIndexWithTermAtMost(index: LogIndex, term: Term, floor: LogIndex): LogIndex {
    let i = index;
    while (i > floor) {
      const here = this.termAt(i);
      if (here === undefined ? this.isCompacted(i) : here <= term) break; // a compacted entry's term is unknown: stop there
      i--;
    }
    return i;
  }

  /**
   * The hint a follower sends when its log fails the consistency check at `prev`: the
   * largest index below `prev.index` (and within this log) whose term is at most `prev.term`,
   * with that term. Entries above it cannot match the leader's log (their terms are later
   * than any the leader has there), so the leader resumes at or below it; with the term it
   * also skips its own entries of later terms (see {@link AppendEntriesReply.hintTerm}).
   * So a divergent stretch costs a round trip per term, and the matching prefix is never
   * resent. Never below `commitIndex`: committed entries are in every later leader's log.
   */
  rejectionHint(prev: LogPosition): LogPosition {
    const start = Math.min(prev.index - 1, this.lastIndex);
    const index = this.lastIndexWithTermAtMost(start, prev.term, Math.min(this.commitIndex, start));
    return { index, term: this.termAt(index) ?? 0 };
  }
}

/**
 * The longest prefix of `entries` whose data sizes add up to at most `maxBytes`, but at least
 * one entry, so that replication always advances. Never changes `entries` (it may be a
 * store's own array): returns it as it is when it fits, a shorter copy otherwise. An entry
 * whose size cannot be measured (`entrySize` throws, or answers no finite size >= 0) counts
 * as too large: it is sent alone.
 */
export function trimToByteBudget<T>(entries: readonly LogEntry<T>[], maxBytes: number, entrySize: (data: T) => number): readonly LogEntry<T>[] {
  if (maxBytes === Infinity) return entries;
  let bytes = 0;
  for (let k = 0; k < entries.length; k++) {
    let size: number;
    try {
      size = entrySize((entries[k] as LogEntry<T>).data);
    } catch {
      size = Infinity; // an entry that cannot be measured goes alone: replication never stalls on it
    }
    bytes += Number.isFinite(size) && size >= 0 ? size : Infinity;
    if (bytes > maxBytes && k > 0) return entries.slice(0, k);
  }
  return entries;
}

/**
 * The total size of `items` by `entrySize`, for a leader that bounds bytes.
 * @throws {@link InvalidArgumentError} when `entrySize` throws or answers no finite number >= 0
 * for an item; the proposal is then refused whole.
 */
export function measureProposal<T>(items: readonly T[], entrySize: (data: T) => number): number {
  let bytes = 0;
  for (let k = 0; k < items.length; k++) {
    let size: unknown;
    try {
      size = entrySize(items[k] as T);
    } catch (error) {
      throw new InvalidArgumentError(`entrySize threw for item ${k} of the proposal (${error instanceof Error ? error.message : describe(error)}); nothing was appended`);
    }
    if (typeof size !== 'number' || !Number.isFinite(size) || size < 0) {
      throw new InvalidArgumentError(`entrySize must answer a finite number >= 0, got ${describe(size)} for item ${k} of the proposal; nothing was appended`);
    }
    bytes += size;
  }
  return bytes;
}
