import { InvalidArgumentError } from './errors';
import type { LogEntry, LogIndex, LogPosition, ServerId, Snapshot, Term } from './types';

/**
 * Everything a server must keep across a crash: its current term, the vote it cast in
 * that term, and its log (Figure 2, "Persistent state on all servers").
 *
 * A `Server` keeps all durable state here and nothing else, so a new `Server` built over
 * the same object is that server restarted. Implement it to store the state wherever you
 * like; {@link InMemoryPersistentState} is the reference implementation.
 *
 * Two optional methods let a store batch its work: {@link IPersistentState.appendEntries}
 * and {@link IPersistentState.sync}. A `Server` uses them when present.
 *
 * Three more, optional together, let a store hold a snapshot and drop the log it covers
 * (log compaction, Raft §7): {@link IPersistentState.firstLogIndex},
 * {@link IPersistentState.getSnapshot} and {@link IPersistentState.saveSnapshot}. A store
 * without them still works, without compaction: the log then starts at index 1 and grows.
 * A store with them never drops an entry unless `saveSnapshot` tells it to, and then only
 * entries the snapshot covers.
 */
export interface IPersistentState<T> {
  /** The latest term this server has seen, 0 at first. */
  readonly currentTerm: Term;
  /** The candidate this server voted for in `currentTerm`, if any. */
  readonly votedFor: ServerId | undefined;
  /** Moves to a later term (`term > currentTerm`) and clears `votedFor`. */
  advanceToTerm(term: Term): void;
  /** Moves to `currentTerm + 1` and clears `votedFor`. */
  incrementTerm(): void;
  /** Records this server's vote in `currentTerm`. */
  vote(candidate: ServerId): void;
  /** Index of the last entry of the log, 0 when the log is empty. */
  readonly currentLogIndex: LogIndex;
  /** The entry at `index`, or `undefined` outside `1..currentLogIndex`. */
  getLogEntry(index: LogIndex): LogEntry<T> | undefined;
  /** The last entry, or `undefined` when the log is empty. */
  getLastLogEntry(): LogEntry<T> | undefined;
  /** Appends one entry at `currentLogIndex + 1`. */
  appendToLog(data: T, term: Term): void;
  /** Keeps entries `1..finalIndex` and drops the rest. */
  truncateLog(finalIndex: LogIndex): void;
  /**
   * Optional batch form of {@link IPersistentState.appendToLog}: appends each entry in order.
   * The objects handed in may be {@link LogEntry} objects with the right `index` already
   * (the server passes them so); a store may keep such objects as they are, since entries
   * are never mutated. An entry may have `kind: 'noop'` (an entry the library writes for
   * itself, with no data): the store keeps the kind, and gives it back from `getLogEntry`.
   * Only through this method does a server write no-ops: a store without it never holds one.
   */
  appendEntries?(entries: readonly NewEntry<T>[]): void;
  /** Optional batch form of {@link IPersistentState.getLogEntry}: the entries `from..to` (inclusive) that exist, in order. */
  getLogEntries?(from: LogIndex, to: LogIndex): LogEntry<T>[];
  /**
   * Optional: makes every earlier write durable. When a store has it, its writes may be
   * buffered until it is called; the `Server` calls it before handing out any message or
   * reply that depends on them.
   */
  sync?(): void;
  /**
   * Optional (compaction): the index of the first entry the log holds. Entries before it
   * were compacted into the snapshot, and `getLogEntry` answers `undefined` for them. 1 when
   * nothing was compacted; `currentLogIndex + 1` when the log is empty after a snapshot.
   */
  readonly firstLogIndex?: LogIndex;
  /** Optional (compaction): the latest snapshot saved, or `undefined` when there is none. */
  getSnapshot?(): Snapshot | undefined;
  /**
   * Optional (compaction): makes `snapshot` the latest snapshot (its `lastIncluded.index` is
   * above the previous snapshot's) and drops the log it makes unnecessary:
   * - when the log holds the entry `snapshot.lastIncluded` (same index and term), entries
   *   before `firstKept` are dropped and the rest stay, `currentLogIndex` unchanged
   *   (`firstLogIndex <= firstKept <= lastIncluded.index + 1`);
   * - otherwise every entry is dropped: the log is empty after the snapshot,
   *   `currentLogIndex` is `lastIncluded.index` and the next append goes right after it.
   *
   * Later appends need a term at least `lastIncluded.term`; `truncateLog` never goes below
   * `lastIncluded.index`. Durable like any other write: on return, or at the next `sync()`
   * when the store buffers. A crash leaves either the old snapshot and log or the new ones.
   */
  saveSnapshot?(snapshot: Snapshot, firstKept: LogIndex): void;
}

/** An entry handed to {@link IPersistentState.appendEntries}: data and term, and the kind of a library-written entry. */
export interface NewEntry<T> {
  /** The data (`undefined` for a no-op). */
  readonly data: T;
  /** The term of the leader that appended it. */
  readonly term: Term;
  /** `'noop'` for an entry the library wrote for itself; absent for data. */
  readonly kind?: 'noop';
}

/** Whether `store` implements the three optional methods of compaction. */
export function holdsSnapshots<T>(store: IPersistentState<T>): store is IPersistentState<T> & Required<Pick<IPersistentState<T>, 'firstLogIndex' | 'getSnapshot' | 'saveSnapshot'>> {
  return typeof store.saveSnapshot === 'function' && typeof store.getSnapshot === 'function' && typeof store.firstLogIndex === 'number';
}

/**
 * An {@link IPersistentState} held in memory: for tests, simulations and examples. It
 * survives the loss of a `Server` object (build a new `Server` over it to "restart"), not
 * the loss of the process. It holds snapshots: after a compaction it keeps only the log
 * after the snapshot (and the trailing entries the server keeps), so its memory follows the
 * log it holds, not the history.
 *
 * Every operation is O(1) per entry: the log is a plain array, and truncation shortens
 * it in place. Arguments are checked, and a refused call changes nothing.
 *
 * @example
 * ```ts
 * const state = new InMemoryPersistentState<string>();
 * const server = new Server({ id: 0, clusterSize: 3, messageChannel, persistentState: state });
 * // ... later, the same server restarted:
 * const again = new Server({ id: 0, clusterSize: 3, messageChannel, persistentState: state });
 * ```
 */
export class InMemoryPersistentState<T> implements IPersistentState<T> {
  #currentTerm: Term = 0;
  #votedFor: ServerId | undefined = undefined;
  /** The entries held: `#log[k]` has index `#offset + k + 1`. */
  #log: LogEntry<T>[] = [];
  /** How many entries before the first held one were compacted away. */
  #offset = 0;
  #snapshot: Snapshot | undefined = undefined;

  /** Creates an empty state: term 0, no vote, empty log, no snapshot. */
  constructor() {}

  /** The latest term this server has seen. */
  get currentTerm(): Term {
    return this.#currentTerm;
  }

  /** The vote cast in `currentTerm`, if any. */
  get votedFor(): ServerId | undefined {
    return this.#votedFor;
  }

  /** Index of the last entry (the snapshot's when the log after it is empty), 0 when empty. */
  get currentLogIndex(): LogIndex {
    return this.#offset + this.#log.length;
  }

  /** Index of the first entry held: 1 until a compaction drops entries. */
  get firstLogIndex(): LogIndex {
    return this.#offset + 1;
  }

  /** @throws {@link InvalidArgumentError} unless `term` is an integer above `currentTerm`. */
  advanceToTerm(term: Term): void {
    if (!Number.isSafeInteger(term) || term <= this.#currentTerm) {
      throw new InvalidArgumentError(`advanceToTerm expects an integer term above ${this.#currentTerm}, got ${term}`);
    }
    this.#currentTerm = term;
    this.#votedFor = undefined;
  }

  /** Moves to `currentTerm + 1` and clears the vote. */
  incrementTerm(): void {
    this.#currentTerm += 1;
    this.#votedFor = undefined;
  }

  /** @throws {@link InvalidArgumentError} unless `candidate` is an integer `>= 0`. */
  vote(candidate: ServerId): void {
    if (!Number.isSafeInteger(candidate) || candidate < 0) {
      throw new InvalidArgumentError(`vote expects a server id (an integer >= 0), got ${candidate}`);
    }
    this.#votedFor = candidate;
  }

  /** The entry at `index`, or `undefined` outside `firstLogIndex..currentLogIndex`. */
  getLogEntry(index: LogIndex): LogEntry<T> | undefined {
    return index > this.#offset ? this.#log[index - this.#offset - 1] : undefined;
  }

  /** The last entry, or `undefined` when the log holds none. */
  getLastLogEntry(): LogEntry<T> | undefined {
    return this.#log[this.#log.length - 1];
  }

  /** @throws {@link InvalidArgumentError} unless `term` is an integer `>= 1`, not below the last entry's (or the snapshot's) term. */
  appendToLog(data: T, term: Term): void {
    this.#checkTerm(term, this.#lastTerm());
    this.#log.push({ index: this.currentLogIndex + 1, term, data });
  }

  /**
   * Appends every entry in order; checks them all first, so a refused batch appends nothing.
   * An object that is already a {@link LogEntry} with the right index is stored as it is
   * (no copy): entries are immutable, so replicas may share them.
   */
  appendEntries(entries: readonly NewEntry<T>[]): void {
    let previousTerm = this.#lastTerm();
    for (const entry of entries) {
      this.#checkTerm(entry.term, previousTerm);
      previousTerm = entry.term;
    }
    const log = this.#log;
    for (const entry of entries) {
      const index = this.#offset + log.length + 1;
      if ((entry as Partial<LogEntry<T>>).index === index) log.push(entry as LogEntry<T>);
      else log.push(entry.kind === undefined ? { index, term: entry.term, data: entry.data } : { index, term: entry.term, data: entry.data, kind: entry.kind });
    }
  }

  /** The entries `from..to` (inclusive) that the log holds, as a new array. */
  getLogEntries(from: LogIndex, to: LogIndex): LogEntry<T>[] {
    const offset = this.#offset;
    return this.#log.slice(Math.max(from - offset, 1) - 1, Math.max(to - offset, 0));
  }

  /** @throws {@link InvalidArgumentError} unless `finalIndex` is an integer, at least 0 and at least the snapshot's index. */
  truncateLog(finalIndex: LogIndex): void {
    const floor = this.#snapshot?.lastIncluded.index ?? 0;
    if (!Number.isSafeInteger(finalIndex) || finalIndex < floor) {
      throw new InvalidArgumentError(`truncateLog expects an integer index >= ${floor}${floor > 0 ? ' (the snapshot covers the entries up to it)' : ''}, got ${finalIndex}`);
    }
    const keep = finalIndex - this.#offset;
    if (keep < this.#log.length) this.#log.length = Math.max(keep, 0);
  }

  /** The latest snapshot saved, or `undefined`. */
  getSnapshot(): Snapshot | undefined {
    return this.#snapshot;
  }

  /**
   * Keeps `snapshot` (its data by reference: do not change it afterwards) and drops the log
   * it makes unnecessary, as {@link IPersistentState.saveSnapshot} says.
   * @throws {@link InvalidArgumentError} when the snapshot is not above the current one, is
   * malformed, or `firstKept` is out of range; nothing changes then.
   */
  saveSnapshot(snapshot: Snapshot, firstKept: LogIndex): void {
    const last = checkSnapshot(snapshot, this.#snapshot?.lastIncluded);
    const holdsLast = this.getLogEntry(last.index)?.term === last.term;
    if (holdsLast && (!Number.isSafeInteger(firstKept) || firstKept < this.firstLogIndex || firstKept > last.index + 1)) {
      throw new InvalidArgumentError(`saveSnapshot expects firstKept in [${this.firstLogIndex}, ${last.index + 1}], got ${firstKept}`);
    }
    this.#snapshot = { lastIncluded: last, data: snapshot.data };
    if (holdsLast) {
      this.#log = this.#log.slice(firstKept - this.#offset - 1);
      this.#offset = firstKept - 1;
    } else {
      this.#log = [];
      this.#offset = last.index;
    }
  }

  #lastTerm(): Term {
    return this.getLastLogEntry()?.term ?? this.#snapshot?.lastIncluded.term ?? 1;
  }

  #checkTerm(term: Term, atLeast: Term): void {
    if (!Number.isSafeInteger(term) || term < atLeast) {
      throw new InvalidArgumentError(`log entries need an integer term >= ${atLeast} (terms never decrease along the log), got ${term}`);
    }
  }
}

/**
 * Checks a snapshot handed to `saveSnapshot`: a position with index and term >= 1, above
 * `previous` (the store's current snapshot), and data that is a `Uint8Array`.
 * @returns a copy of its `lastIncluded`.
 * @throws {@link InvalidArgumentError} naming what is wrong.
 */
export function checkSnapshot(snapshot: Snapshot, previous: LogPosition | undefined): LogPosition {
  if (typeof snapshot !== 'object' || snapshot === null) throw new InvalidArgumentError('saveSnapshot expects a snapshot object');
  const lastIncluded: unknown = snapshot.lastIncluded;
  const index: unknown = (lastIncluded as LogPosition | undefined)?.index;
  const term: unknown = (lastIncluded as LogPosition | undefined)?.term;
  if (typeof index !== 'number' || !Number.isSafeInteger(index) || index < 1 || typeof term !== 'number' || !Number.isSafeInteger(term) || term < 1) {
    throw new InvalidArgumentError('saveSnapshot expects lastIncluded with an integer index and term, both >= 1');
  }
  if (previous !== undefined && index <= previous.index) {
    throw new InvalidArgumentError(`saveSnapshot expects a snapshot after the current one (index ${previous.index}), got index ${index}`);
  }
  if (!(snapshot.data instanceof Uint8Array)) throw new InvalidArgumentError('saveSnapshot expects data to be a Uint8Array');
  return { index, term };
}
