import { InvalidArgumentError } from './errors';
import type { LogEntry, LogIndex, ServerId, Term } from './types';

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
   * are never mutated.
   */
  appendEntries?(entries: readonly { data: T; term: Term }[]): void;
  /** Optional batch form of {@link IPersistentState.getLogEntry}: the entries `from..to` (inclusive) that exist, in order. */
  getLogEntries?(from: LogIndex, to: LogIndex): LogEntry<T>[];
  /**
   * Optional: makes every earlier write durable. When a store has it, its writes may be
   * buffered until it is called; the `Server` calls it before handing out any message or
   * reply that depends on them.
   */
  sync?(): void;
}

/**
 * An {@link IPersistentState} held in memory: for tests, simulations and examples. It
 * survives the loss of a `Server` object (build a new `Server` over it to "restart"), not
 * the loss of the process.
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
  readonly #log: LogEntry<T>[] = [];

  /** Creates an empty state: term 0, no vote, empty log. */
  constructor() {}

  /** The latest term this server has seen. */
  get currentTerm(): Term {
    return this.#currentTerm;
  }

  /** The vote cast in `currentTerm`, if any. */
  get votedFor(): ServerId | undefined {
    return this.#votedFor;
  }

  /** Index of the last entry, 0 when empty. */
  get currentLogIndex(): LogIndex {
    return this.#log.length;
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

  /** The entry at `index`, or `undefined` outside `1..currentLogIndex`. */
  getLogEntry(index: LogIndex): LogEntry<T> | undefined {
    return index >= 1 ? this.#log[index - 1] : undefined;
  }

  /** The last entry, or `undefined` when the log is empty. */
  getLastLogEntry(): LogEntry<T> | undefined {
    return this.#log[this.#log.length - 1];
  }

  /** @throws {@link InvalidArgumentError} unless `term` is an integer `>= 1`, not below the last entry's term. */
  appendToLog(data: T, term: Term): void {
    this.#checkTerm(term, this.getLastLogEntry()?.term ?? 1);
    this.#log.push({ index: this.#log.length + 1, term, data });
  }

  /**
   * Appends every entry in order; checks them all first, so a refused batch appends nothing.
   * An object that is already a {@link LogEntry} with the right index is stored as it is
   * (no copy): entries are immutable, so replicas may share them.
   */
  appendEntries(entries: readonly { data: T; term: Term }[]): void {
    let previousTerm = this.getLastLogEntry()?.term ?? 1;
    for (const entry of entries) {
      this.#checkTerm(entry.term, previousTerm);
      previousTerm = entry.term;
    }
    const log = this.#log;
    for (const entry of entries) {
      const index = log.length + 1;
      log.push((entry as Partial<LogEntry<T>>).index === index ? (entry as LogEntry<T>) : { index, term: entry.term, data: entry.data });
    }
  }

  /** The entries `from..to` (inclusive) that exist, as a new array. */
  getLogEntries(from: LogIndex, to: LogIndex): LogEntry<T>[] {
    return this.#log.slice(Math.max(from, 1) - 1, Math.max(to, 0));
  }

  /** @throws {@link InvalidArgumentError} unless `0 <= finalIndex` is an integer. */
  truncateLog(finalIndex: LogIndex): void {
    if (!Number.isSafeInteger(finalIndex) || finalIndex < 0) {
      throw new InvalidArgumentError(`truncateLog expects an integer index >= 0, got ${finalIndex}`);
    }
    if (finalIndex < this.#log.length) this.#log.length = finalIndex;
  }

  #checkTerm(term: Term, atLeast: Term): void {
    if (!Number.isSafeInteger(term) || term < atLeast) {
      throw new InvalidArgumentError(`log entries need an integer term >= ${atLeast} (terms never decrease along the log), got ${term}`);
    }
  }
}
