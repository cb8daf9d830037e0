import { InvalidArgumentError, describe } from '../errors';
import { InMemoryPersistentState, type IPersistentState } from '../persistent-state';
import type { LogEntry, LogIndex, ServerId, Term } from '../types';
import type { SafetyChecker } from './invariants';

/** One write a {@link SimulatedDiskState} has taken but not yet made durable. */
type PendingWrite<T> =
  | { readonly kind: 'term'; readonly term: Term }
  | { readonly kind: 'vote'; readonly candidate: ServerId }
  | { readonly kind: 'append'; readonly entry: LogEntry<T> }
  | { readonly kind: 'truncate'; readonly finalIndex: LogIndex };

/** What a crash did to a {@link SimulatedDiskState}: how many unsynced writes it lost and kept. */
export interface CrashLoss {
  /** Unsynced writes that did not survive. */
  readonly lost: number;
  /** Unsynced writes that survived (a prefix of them: a torn write). */
  readonly kept: number;
}

/**
 * A persistent state that models a disk, for the simulator: every write goes to a live
 * image that the `Server` reads, and to a list of pending writes; only {@link SimulatedDiskState.sync}
 * makes them durable, by applying them to a second, durable image. {@link SimulatedDiskState.crash}
 * loses the pending writes (all of them, or all but a prefix: a torn write) and puts the
 * live image back to the durable one, so a server restarted over the store goes on from
 * what was synced. A `Server` calls `sync()` before any message or reply that depends on
 * its writes; a server that forgets to, or writes after replying, is caught when a crash
 * loses what its reply promised.
 *
 * Like {@link ObservedPersistentState}, it tells a {@link SafetyChecker} (when given one)
 * about every entry written and every truncation; {@link SimulatedDiskState.durableEntry}
 * lets the checker count the stores that durably hold an entry. Each write costs O(1);
 * `sync()` is O(writes since the last one); a crash is O(log length).
 *
 * @example
 * ```ts
 * const disk = new SimulatedDiskState<string>(0);
 * disk.appendToLog('a', 1);
 * disk.sync();
 * disk.appendToLog('b', 1);
 * disk.crash();            // { lost: 1, kept: 0 }
 * disk.currentLogIndex;    // 1
 * ```
 */
export class SimulatedDiskState<T> implements IPersistentState<T> {
  readonly #server: ServerId;
  readonly #checker: SafetyChecker<T> | undefined;
  #live = new InMemoryPersistentState<T>();
  #pending: PendingWrite<T>[] = [];
  #durableTerm: Term = 0;
  #durableVote: ServerId | undefined = undefined;
  readonly #durableLog: LogEntry<T>[] = [];
  #syncs = 0;

  /** A store for server `server`, reporting to `checker` if given. */
  constructor(server: ServerId, checker?: SafetyChecker<T>) {
    this.#server = server;
    this.#checker = checker;
  }

  /** The latest term (live image). */
  get currentTerm(): Term {
    return this.#live.currentTerm;
  }

  /** The vote of `currentTerm` (live image). */
  get votedFor(): ServerId | undefined {
    return this.#live.votedFor;
  }

  /** Index of the last entry (live image). */
  get currentLogIndex(): LogIndex {
    return this.#live.currentLogIndex;
  }

  /** Writes taken since the last `sync()`: what a crash now would lose. */
  get unsyncedWrites(): number {
    return this.#pending.length;
  }

  /** How many times `sync()` was called. */
  get syncCount(): number {
    return this.#syncs;
  }

  /** The term in the durable image. */
  get durableTerm(): Term {
    return this.#durableTerm;
  }

  /** The vote in the durable image. */
  get durableVote(): ServerId | undefined {
    return this.#durableVote;
  }

  /** Index of the last entry of the durable image. */
  get durableLastIndex(): LogIndex {
    return this.#durableLog.length;
  }

  /** The entry at `index` in the durable image, if any. */
  durableEntry(index: LogIndex): LogEntry<T> | undefined {
    return index >= 1 ? this.#durableLog[index - 1] : undefined;
  }

  /** Moves to a later term (buffered until `sync()`). @throws {@link InvalidArgumentError} as {@link InMemoryPersistentState.advanceToTerm}. */
  advanceToTerm(term: Term): void {
    this.#live.advanceToTerm(term);
    this.#pending.push({ kind: 'term', term });
  }

  /** Moves to `currentTerm + 1` (buffered until `sync()`). */
  incrementTerm(): void {
    this.#live.incrementTerm();
    this.#pending.push({ kind: 'term', term: this.#live.currentTerm });
  }

  /** Records the vote of `currentTerm` (buffered until `sync()`). @throws {@link InvalidArgumentError} as {@link InMemoryPersistentState.vote}. */
  vote(candidate: ServerId): void {
    this.#live.vote(candidate);
    this.#pending.push({ kind: 'vote', candidate });
  }

  /** The entry at `index` (live image). */
  getLogEntry(index: LogIndex): LogEntry<T> | undefined {
    return this.#live.getLogEntry(index);
  }

  /** The last entry (live image). */
  getLastLogEntry(): LogEntry<T> | undefined {
    return this.#live.getLastLogEntry();
  }

  /** The entries `from..to` that exist (live image). */
  getLogEntries(from: LogIndex, to: LogIndex): LogEntry<T>[] {
    return this.#live.getLogEntries(from, to);
  }

  /** Appends one entry (buffered until `sync()`) and reports it. @throws {@link InvalidArgumentError} as {@link InMemoryPersistentState.appendToLog}. */
  appendToLog(data: T, term: Term): void {
    this.appendEntries([{ data, term }]);
  }

  /** Appends the batch (buffered until `sync()`) and reports each entry; a refused batch appends nothing. */
  appendEntries(entries: readonly { data: T; term: Term }[]): void {
    const first = this.#live.currentLogIndex + 1;
    this.#live.appendEntries(entries);
    for (let index = first; index <= this.#live.currentLogIndex; index++) {
      const entry = this.#live.getLogEntry(index) as LogEntry<T>;
      this.#pending.push({ kind: 'append', entry });
      this.#checker?.entryStored(this.#server, entry, this.#live.getLogEntry(index - 1)?.term ?? 0);
    }
  }

  /** Keeps entries `1..finalIndex` (buffered until `sync()`), reporting a real truncation first. */
  truncateLog(finalIndex: LogIndex): void {
    const before = this.#live.currentLogIndex;
    this.#live.truncateLog(finalIndex); // checks the argument
    if (finalIndex < before) {
      this.#checker?.truncated(this.#server, finalIndex);
      this.#pending.push({ kind: 'truncate', finalIndex });
    }
  }

  /** Makes every earlier write durable. */
  sync(): void {
    this.#syncs++;
    this.#apply(this.#pending.length);
  }

  /**
   * The process died: the writes since the last `sync()` are lost, except, when `keep > 0`,
   * the first `floor(keep × (n + 1))` of the n of them (capped at n), as a write torn by the
   * crash leaves a prefix. The live image goes back to the durable one.
   * @throws {@link InvalidArgumentError} unless `keep` is a number in `[0, 1]`.
   */
  crash(keep = 0): CrashLoss {
    if (typeof keep !== 'number' || !(keep >= 0 && keep <= 1)) throw new InvalidArgumentError(`Expected keep to be a number in [0, 1], got ${describe(keep)}`);
    const total = this.#pending.length;
    const kept = Math.min(total, Math.floor(keep * (total + 1)));
    this.#apply(kept);
    const live = new InMemoryPersistentState<T>();
    if (this.#durableTerm > 0) live.advanceToTerm(this.#durableTerm);
    if (this.#durableVote !== undefined) live.vote(this.#durableVote);
    live.appendEntries(this.#durableLog);
    this.#live = live;
    return { lost: total - kept, kept };
  }

  /** Applies the first `count` pending writes to the durable image and forgets every pending write. */
  #apply(count: number): void {
    const log = this.#durableLog;
    for (let k = 0; k < count; k++) {
      const write = this.#pending[k] as PendingWrite<T>;
      switch (write.kind) {
        case 'term':
          this.#durableTerm = write.term;
          this.#durableVote = undefined;
          break;
        case 'vote':
          this.#durableVote = write.candidate;
          break;
        case 'append':
          log.push(write.entry); // pending writes replay the live image's history, so this is index log.length + 1
          break;
        case 'truncate':
          if (write.finalIndex < log.length) log.length = write.finalIndex;
          break;
      }
    }
    this.#pending = [];
  }
}
