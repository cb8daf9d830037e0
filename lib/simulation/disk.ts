import { InvalidArgumentError, describe } from '../errors';
import { InMemoryPersistentState, type IPersistentState, type NewEntry } from '../persistent-state';
import type { LogEntry, LogIndex, LogPosition, ServerId, Snapshot, Term } from '../types';
import type { SafetyChecker } from './invariants';

/** One write a {@link SimulatedDiskState} has taken but not yet made durable. */
type PendingWrite<T> =
  | { readonly kind: 'term'; readonly term: Term }
  | { readonly kind: 'vote'; readonly candidate: ServerId }
  | { readonly kind: 'append'; readonly entry: LogEntry<T> }
  | { readonly kind: 'truncate'; readonly finalIndex: LogIndex }
  | { readonly kind: 'snapshot'; readonly snapshot: Snapshot; readonly firstKept: LogIndex };

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
 * It holds snapshots (log compaction) with the semantics of {@link InMemoryPersistentState}:
 * `saveSnapshot` is a write like the others, pending until `sync()`; a crash that loses it
 * leaves the previous snapshot and the durable log it would have trimmed.
 *
 * Like {@link ObservedPersistentState}, it tells a {@link SafetyChecker} (when given one)
 * about every entry written and every truncation (a compaction is no truncation: entries a
 * snapshot covers are not reported; a snapshot that replaces a log which does not hold its
 * last entry reports the entries after the snapshot, which it drops, as truncated); {@link SimulatedDiskState.durableEntry}
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
  /** The durable image: only `#apply` changes it, by replaying the pending writes in order. */
  #durable = new InMemoryPersistentState<T>();
  #syncs = 0;
  #snapshotWrites = 0;

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

  /** How many times `saveSnapshot` was called (compactions and installed snapshots). */
  get snapshotWrites(): number {
    return this.#snapshotWrites;
  }

  /** The term in the durable image. */
  get durableTerm(): Term {
    return this.#durable.currentTerm;
  }

  /** The vote in the durable image. */
  get durableVote(): ServerId | undefined {
    return this.#durable.votedFor;
  }

  /** Index of the last entry of the durable image (its snapshot's when no entry follows it). */
  get durableLastIndex(): LogIndex {
    return this.#durable.currentLogIndex;
  }

  /** Index of the first entry the durable image holds (1 unless a durable snapshot compacted entries). */
  get durableFirstIndex(): LogIndex {
    return this.#durable.firstLogIndex;
  }

  /** The snapshot of the durable image, if any. */
  get durableSnapshot(): Snapshot | undefined {
    return this.#durable.getSnapshot();
  }

  /** The entry at `index` in the durable image, if any (none for indices its snapshot compacted). */
  durableEntry(index: LogIndex): LogEntry<T> | undefined {
    return this.#durable.getLogEntry(index);
  }

  /** Index of the first entry held (live image): 1 until a compaction drops entries. */
  get firstLogIndex(): LogIndex {
    return this.#live.firstLogIndex;
  }

  /** The latest snapshot (live image), if any. */
  getSnapshot(): Snapshot | undefined {
    return this.#live.getSnapshot();
  }

  /**
   * Stores `snapshot` and drops the log it makes unnecessary (buffered until `sync()`), as
   * {@link InMemoryPersistentState.saveSnapshot}. Compacted entries are not reported to the
   * checker; when the log does not hold the snapshot's last entry, the entries from its
   * index on are (a truncation to `lastIncluded.index - 1`).
   * @throws {@link InvalidArgumentError} as {@link InMemoryPersistentState.saveSnapshot}; nothing changes then.
   */
  saveSnapshot(snapshot: Snapshot, firstKept: LogIndex): void {
    const before = this.#live.currentLogIndex;
    const lastIncluded = (snapshot as Partial<Snapshot> | null)?.lastIncluded;
    const holdsLast = lastIncluded !== undefined && this.#live.getLogEntry(lastIncluded.index)?.term === lastIncluded.term;
    this.#live.saveSnapshot(snapshot, firstKept); // checks the arguments
    const saved = this.#live.getSnapshot() as Snapshot;
    this.#snapshotWrites++;
    if (!holdsLast && before >= saved.lastIncluded.index) this.#checker?.truncated(this.#server, saved.lastIncluded.index - 1);
    this.#pending.push({ kind: 'snapshot', snapshot: saved, firstKept });
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
  appendEntries(entries: readonly NewEntry<T>[]): void {
    const first = this.#live.currentLogIndex + 1;
    this.#live.appendEntries(entries);
    for (let index = first; index <= this.#live.currentLogIndex; index++) {
      const entry = this.#live.getLogEntry(index) as LogEntry<T>;
      this.#pending.push({ kind: 'append', entry });
      this.#checker?.entryStored(this.#server, entry, termBefore(this.#live, index));
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
    this.#live = copyStore(this.#durable);
    return { lost: total - kept, kept };
  }

  /** Applies the first `count` pending writes to the durable image and forgets every pending write. */
  #apply(count: number): void {
    // The pending writes replay the live image's history from the durable image, so each
    // one meets the state it met in the live image and is accepted there too.
    const durable = this.#durable;
    for (let k = 0; k < count; k++) {
      const write = this.#pending[k] as PendingWrite<T>;
      switch (write.kind) {
        case 'term':
          if (write.term > durable.currentTerm) durable.advanceToTerm(write.term);
          break;
        case 'vote':
          durable.vote(write.candidate);
          break;
        case 'append':
          durable.appendEntries([write.entry]); // index currentLogIndex + 1: the entry object is kept as is
          break;
        case 'truncate':
          durable.truncateLog(write.finalIndex);
          break;
        case 'snapshot':
          durable.saveSnapshot(write.snapshot, write.firstKept);
          break;
      }
    }
    this.#pending = [];
  }
}

/** The term of the entry before `index` in `store`: its snapshot's last term when the snapshot ends there, 0 at index 1. */
export function termBefore<T>(store: IPersistentState<T>, index: LogIndex): Term {
  const entry = store.getLogEntry(index - 1);
  if (entry !== undefined) return entry.term;
  const last: LogPosition | undefined = store.getSnapshot?.()?.lastIncluded;
  return last !== undefined && last.index === index - 1 ? last.term : 0;
}

/**
 * A new {@link InMemoryPersistentState} with the same term, vote, snapshot and log as
 * `source` (the entry objects are shared: they are immutable). O(log length).
 */
function copyStore<T>(source: InMemoryPersistentState<T>): InMemoryPersistentState<T> {
  const copy = new InMemoryPersistentState<T>();
  if (source.currentTerm > 0) copy.advanceToTerm(source.currentTerm);
  if (source.votedFor !== undefined) copy.vote(source.votedFor);
  const snapshot = source.getSnapshot();
  const first = source.firstLogIndex;
  const entries = source.getLogEntries(first, source.currentLogIndex);
  if (snapshot === undefined) {
    copy.appendEntries(entries);
    return copy;
  }
  const last = snapshot.lastIncluded;
  if (first > last.index) {
    // Nothing before the snapshot's last entry is kept: the snapshot, then the entries after it.
    copy.saveSnapshot(snapshot, last.index + 1);
    copy.appendEntries(entries);
  } else {
    // Trailing entries before the snapshot's end are kept: lay the log out from `first` (over
    // a placeholder snapshot just before it when `first > 1`), then save the real snapshot
    // keeping everything from `first`.
    const firstEntry = entries[0] as LogEntry<T>;
    if (first > 1) copy.saveSnapshot({ lastIncluded: { index: first - 1, term: firstEntry.term }, data: new Uint8Array(0) }, first);
    copy.appendEntries(entries);
    copy.saveSnapshot(snapshot, first);
  }
  return copy;
}
