import type { InMemoryCluster } from '../cluster';
import type { IPersistentState } from '../persistent-state';
import { InMemoryPersistentState, type NewEntry } from '../persistent-state';
import type { Server } from '../server';
import type { LogEntry, LogIndex, ServerId, Snapshot, Term } from '../types';
import { termBefore } from './disk';
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
    const previousTerm = termBefore(this, this.currentLogIndex + 1);
    super.appendToLog(data, term);
    this.#checker.entryStored(this.#server, this.getLastLogEntry() as LogEntry<T>, previousTerm);
  }

  /** Appends the batch, then reports each entry. */
  override appendEntries(entries: readonly NewEntry<T>[]): void {
    const first = this.currentLogIndex + 1;
    super.appendEntries(entries);
    for (let index = first; index <= this.currentLogIndex; index++) {
      this.#checker.entryStored(this.#server, this.getLogEntry(index) as LogEntry<T>, termBefore(this, index));
    }
  }

  /**
   * Saves the snapshot. Compacted entries are not reported; when the log does not hold the
   * snapshot's last entry, the entries from its index on, which it drops, are reported as a
   * truncation (after the store accepted the snapshot).
   */
  override saveSnapshot(snapshot: Snapshot, firstKept: LogIndex): void {
    const before = this.currentLogIndex;
    const lastIncluded = (snapshot as Partial<Snapshot> | null)?.lastIncluded;
    const holdsLast = lastIncluded !== undefined && this.getLogEntry(lastIncluded.index)?.term === lastIncluded.term;
    super.saveSnapshot(snapshot, firstKept);
    const index = (this.getSnapshot() as Snapshot).lastIncluded.index;
    if (!holdsLast && before >= index) this.#checker.truncated(this.#server, index - 1);
  }

  /** Reports, then truncates. */
  override truncateLog(finalIndex: LogIndex): void {
    if (finalIndex < this.currentLogIndex) this.#checker.truncated(this.#server, finalIndex);
    super.truncateLog(finalIndex);
  }
}

/** A {@link LogReader} over a persistent state. */
export function logReader<T>(state: IPersistentState<T>): LogReader<T> {
  const snapshot = state.getSnapshot?.()?.lastIncluded;
  return { lastIndex: state.currentLogIndex, entry: (index) => state.getLogEntry(index), ...(snapshot === undefined ? {} : { snapshot }) };
}

/**
 * Subscribes a checker to one server's events: a new leader is checked for completeness,
 * committed entries for State Machine Safety (with the no-ops the event skipped before them,
 * read from the server's log). Call it for every server, and again for the
 * new `Server` after each restart.
 */
export function observeServer<T>(server: Server<T>, checker: SafetyChecker<T>): void {
  checker.serverStarted(server, server.id, server.volatileState.lastApplied);
  server.on('roleChange', (role, term) => {
    if (role === 'leader') checker.leaderElected(server.id, term, logReader(server.persistentState));
  });
  const entryAt = (index: LogIndex): LogEntry<T> | undefined => server.persistentState.getLogEntry(index);
  server.on('committed', (entries) => {
    // The event skips no-ops, before the batch and inside it: the gaps are read from the log.
    let start = 0;
    for (let k = 1; k <= entries.length; k++) {
      const previous = entries[k - 1] as LogEntry<T>;
      const next = entries[k];
      if (next !== undefined && next.index === previous.index + 1) continue;
      checker.noopsApplied(server, server.id, (entries[start] as LogEntry<T>).index - 1, entryAt);
      checker.entriesCommitted(server, server.id, start === 0 && k === entries.length ? entries : entries.slice(start, k));
      start = k;
    }
  });
  server.on('snapshotInstalled', (snapshot) => checker.snapshotInstalled(server, server.id, snapshot.lastIncluded));
}

/**
 * Checks every running server's lastApplied against its previous value (appliedNeverBackwards)
 * and, for each server with a machine in `machines`, that machine against the committed
 * prefix up to that lastApplied (stateMachineMatchesLog). O(servers).
 */
export function checkAppliedState<T>(cluster: InMemoryCluster<T>, checker: SafetyChecker<T>, machines: readonly (AppliedDigest | undefined)[]): void {
  for (const server of cluster.servers) {
    if (!cluster.isRunning(server.id)) continue;
    const lastApplied = server.volatileState.lastApplied;
    checker.noopsApplied(server, server.id, lastApplied, (index) => (server.persistentState as IPersistentState<T> | undefined)?.getLogEntry(index)); // the no-ops applied since the last committed event
    checker.lastAppliedObserved(server, server.id, lastApplied);
    const machine = machines[server.id];
    if (machine !== undefined) checker.stateMachineObserved(server.id, lastApplied, machine.applied, machine.digest);
  }
}

/** What {@link checkAppliedState} reads of a state machine: how far it applied, and its digest. */
export interface AppliedDigest {
  /** Index of the last entry the machine applied (or its restored snapshot covers), 0 at first. */
  readonly applied: LogIndex;
  /** The digest of every entry applied, in order (see {@link SafetyChecker.prefixDigest}). */
  readonly digest: number;
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
