import type { InMemoryCluster } from '../cluster';
import type { IPersistentState } from '../persistent-state';
import { InMemoryPersistentState } from '../persistent-state';
import type { Server } from '../server';
import type { LogEntry, LogIndex, ServerId, Term } from '../types';
import type { LogReader, SafetyChecker } from './invariants';

/**
 * An {@link InMemoryPersistentState} that tells a {@link SafetyChecker} about every entry it
 * stores and every truncation, so Log Matching and durable commits are checked at the moment
 * of each write. Pass `(id) => new ObservedPersistentState(id, checker)` as an
 * `InMemoryCluster`'s `persistentState` option.
 */
export class ObservedPersistentState<T> extends InMemoryPersistentState<T> {
  readonly #server: ServerId;
  readonly #checker: SafetyChecker<T>;

  /** A store for server `server` that reports to `checker`. */
  constructor(server: ServerId, checker: SafetyChecker<T>) {
    super();
    this.#server = server;
    this.#checker = checker;
  }

  /** Appends, then reports the entry. */
  override appendToLog(data: T, term: Term): void {
    const previousTerm = this.getLastLogEntry()?.term ?? 0;
    super.appendToLog(data, term);
    this.#checker.entryStored(this.#server, this.getLastLogEntry() as LogEntry<T>, previousTerm);
  }

  /** Appends the batch, then reports each entry. */
  override appendEntries(entries: readonly { data: T; term: Term }[]): void {
    const first = this.currentLogIndex + 1;
    super.appendEntries(entries);
    for (let index = first; index <= this.currentLogIndex; index++) {
      this.#checker.entryStored(this.#server, this.getLogEntry(index) as LogEntry<T>, this.getLogEntry(index - 1)?.term ?? 0);
    }
  }

  /** Reports, then truncates. */
  override truncateLog(finalIndex: LogIndex): void {
    if (finalIndex < this.currentLogIndex) this.#checker.truncated(this.#server, finalIndex);
    super.truncateLog(finalIndex);
  }
}

/** A {@link LogReader} over a persistent state. */
export function logReader<T>(state: IPersistentState<T>): LogReader<T> {
  return { lastIndex: state.currentLogIndex, entry: (index) => state.getLogEntry(index) };
}

/**
 * Subscribes a checker to one server's events: a new leader is checked for completeness,
 * committed entries for State Machine Safety. Call it for every server, and again for the
 * new `Server` after each restart.
 */
export function observeServer<T>(server: Server<T>, checker: SafetyChecker<T>): void {
  server.on('roleChange', (role, term) => {
    if (role === 'leader') checker.leaderElected(server.id, term, logReader(server.persistentState));
  });
  server.on('committed', (entries) => checker.entriesCommitted(server, server.id, entries));
}

/** Checks every running server's commitIndex against its previous value. */
export function checkCommitIndexes<T>(cluster: InMemoryCluster<T>, checker: SafetyChecker<T>): void {
  for (const server of cluster.servers) {
    if (cluster.isRunning(server.id)) checker.commitIndexObserved(server, server.id, server.volatileState.commitIndex);
  }
}

/**
 * Checks the matchIndex bound (see {@link SafetyChecker.matchIndexObserved}) of server `id`,
 * if it runs and leads: its `matchIndex` for every other server against that server's store.
 * O(servers).
 */
export function checkMatchIndexes<T>(cluster: InMemoryCluster<T>, checker: SafetyChecker<T>, id: ServerId): void {
  const leader = cluster.servers[id];
  if (leader === undefined || leader.role !== 'leader' || !cluster.isRunning(id)) return;
  const matchIndex = leader.leaderState?.matchIndex;
  if (matchIndex === undefined) return;
  const leaderLog = logReader(leader.persistentState);
  for (const follower of cluster.servers) {
    if (follower.id === id) continue;
    const store = follower.persistentState;
    checker.matchIndexObserved(id, leader.currentTerm, leaderLog, follower.id, store.currentTerm, logReader(store), matchIndex[follower.id] ?? 0);
  }
}
