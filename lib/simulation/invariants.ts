import type { LogEntry, LogIndex, ServerId, Term } from '../types';

/** The properties a {@link SafetyChecker} watches, named after §5.2–§5.4 of the Raft paper. */
export type InvariantName =
  | 'electionSafety'
  | 'logMatching'
  | 'leaderCompleteness'
  | 'stateMachineSafety'
  | 'commitIndexMonotonic'
  | 'durableCommits'
  | 'durableMajority'
  | 'matchIndexBound'
  | 'noException'
  | 'liveness';

/** A broken invariant: which one, and what was seen. */
export interface Violation {
  /** The invariant that failed. */
  readonly invariant: InvariantName;
  /** What was observed, in words, with server ids, terms and indices. */
  readonly message: string;
}

/** Reads the durable image of every store (see {@link SafetyChecker.watchStores}). */
export interface DurableStores<T> {
  /** Number of servers in the cluster. */
  readonly servers: number;
  /** The entry server `server`'s store holds durably (synced) at `index`, if any. */
  durableEntry(server: ServerId, index: LogIndex): LogEntry<T> | undefined;
}

/** Reads one server's log, for checks that look at a whole prefix. */
export interface LogReader<T> {
  /** Index of the last entry. */
  readonly lastIndex: LogIndex;
  /** The entry at `index`, or `undefined`. */
  entry(index: LogIndex): LogEntry<T> | undefined;
}

/**
 * Checks Raft's safety properties from a stream of observations, each in O(1) (or
 * O(committed entries) for a new leader). Feed it by hand (its own tests do, with histories
 * built to break each property) or let {@link runSchedule} attach it to a cluster (with {@link ObservedPersistentState} and {@link observeServer}).
 * The first violation is kept in {@link SafetyChecker.violation}; later ones are ignored.
 *
 * - Election Safety: at most one leader per term, over the whole run.
 * - Log Matching: every store holding an entry with a given index and term holds the same
 *   data there and the same term just before it (so, by induction, the same prefix).
 * - Leader Completeness: a new leader's log holds every entry committed so far.
 * - State Machine Safety: no index is committed with two different entries, and each
 *   Server object commits indices once, in order, from 1.
 * - commitIndex never decreases within one Server object.
 * - Durable commits: a store never drops an entry that a server over it had committed,
 *   by truncation or across a restart.
 * - Durable majority (once {@link SafetyChecker.watchStores} is called): at its first
 *   commit, an entry is held durably (synced) by the stores of a majority of the servers.
 * - matchIndex bound (fed by {@link runSchedule} after every AppendEntries reply a leader receives): a
 *   leader's `matchIndex` for a follower that has not moved past the leader's term never
 *   exceeds the prefix the follower's store really shares with the leader's log (by Log
 *   Matching, the two logs hold an entry of the same term at `matchIndex`). It may lag,
 *   never lead: a leader that counts a success reply of an earlier leadership, whose log was
 *   rewritten since, is caught here at once, before it commits anything on that count.
 * - No exception (reported by {@link runSchedule}): no call into the cluster throws.
 *
 * @example
 * ```ts
 * const checker = new SafetyChecker<string>();
 * checker.leaderElected(0, 1, emptyLog);
 * checker.leaderElected(1, 1, emptyLog);
 * checker.violation; // { invariant: 'electionSafety', message: 'servers 0 and 1 are both leader of term 1' }
 * ```
 */
export class SafetyChecker<T> {
  readonly #key: (data: T) => string;
  readonly #leaders = new Map<Term, ServerId>();
  readonly #created = new Map<string, { readonly key: string; readonly previousTerm: Term; readonly server: ServerId }>();
  readonly #committed: { term: Term; key: string }[] = [];
  readonly #nextCommit = new WeakMap<object, LogIndex>();
  readonly #commitIndex = new WeakMap<object, LogIndex>();
  readonly #durableCommit: LogIndex[] = [];
  #stores: DurableStores<T> | undefined;
  #violation: Violation | undefined;

  /** @param key - how to compare entry data; by default its JSON text. */
  constructor(key: (data: T) => string = (data) => JSON.stringify(data) ?? 'undefined') {
    this.#key = key;
  }

  /** The first violation seen, if any. */
  get violation(): Violation | undefined {
    return this.#violation;
  }

  /** Entries known committed, by index (index 1 first). */
  get committedCount(): number {
    return this.#committed.length;
  }

  /** Number of terms that had a leader. */
  get leaderTerms(): number {
    return this.#leaders.size;
  }

  /**
   * Turns on the Durable Majority check: from now on, each index committed for the first
   * time must be held, with the same term and data, by the durable image of a majority of
   * `stores` (O(servers) per committed entry).
   */
  watchStores(stores: DurableStores<T>): void {
    this.#stores = stores;
  }

  /** Records a violation found elsewhere (such as liveness), unless one is already kept. */
  report(invariant: InvariantName, message: string): void {
    this.#violation ??= { invariant, message };
  }

  /** Server `server` became leader of `term`, with this log. */
  leaderElected(server: ServerId, term: Term, log: LogReader<T>): void {
    const other = this.#leaders.get(term);
    if (other !== undefined && other !== server) {
      this.report('electionSafety', `servers ${Math.min(other, server)} and ${Math.max(other, server)} are both leader of term ${term}`);
      return;
    }
    this.#leaders.set(term, server);
    for (let index = 1; index <= this.#committed.length; index++) {
      const committed = this.#committed[index - 1] as { term: Term; key: string };
      const entry = log.entry(index);
      if (entry === undefined || entry.term !== committed.term || this.#key(entry.data) !== committed.key) {
        this.report(
          'leaderCompleteness',
          `server ${server}, leader of term ${term}, lacks committed entry ${index} (term ${committed.term}, ${committed.key}); it has ${entry === undefined ? 'nothing' : `term ${entry.term}, ${this.#key(entry.data)}`} there`,
        );
        return;
      }
    }
  }

  /** Server `server`'s store now holds `entry`, right after an entry of `previousTerm` (0 at index 1). */
  entryStored(server: ServerId, entry: LogEntry<T>, previousTerm: Term): void {
    const id = `${entry.index}:${entry.term}`;
    const key = this.#key(entry.data);
    const first = this.#created.get(id);
    if (first === undefined) {
      this.#created.set(id, { key, previousTerm, server });
    } else if (first.key !== key || first.previousTerm !== previousTerm) {
      this.report(
        'logMatching',
        `entry ${entry.index} of term ${entry.term} is ${first.key} after a term-${first.previousTerm} entry on server ${first.server}, but ${key} after a term-${previousTerm} entry on server ${server}`,
      );
    }
  }

  /** Server `server`'s store dropped every entry after `finalIndex`. */
  truncated(server: ServerId, finalIndex: LogIndex): void {
    const durable = this.#durableCommit[server] ?? 0;
    if (finalIndex < durable) {
      this.report('durableCommits', `server ${server} truncated its log to ${finalIndex}, below the ${durable} entries it had committed`);
    }
  }

  /** The Server object `serverObject` (server `server`) emitted these entries as committed. */
  entriesCommitted(serverObject: object, server: ServerId, entries: readonly LogEntry<T>[]): void {
    let expected = this.#nextCommit.get(serverObject) ?? 1;
    for (const entry of entries) {
      if (entry.index !== expected) {
        this.report('stateMachineSafety', `server ${server} committed index ${entry.index} where index ${expected} was next`);
        return;
      }
      expected++;
      const key = this.#key(entry.data);
      const known = this.#committed[entry.index - 1];
      if (known === undefined) {
        this.#committed.push({ term: entry.term, key });
        if (!this.#heldByMajority(entry, key, server)) return;
      } else if (known.term !== entry.term || known.key !== key) {
        this.report(
          'stateMachineSafety',
          `index ${entry.index} committed as term ${known.term}, ${known.key} and as term ${entry.term}, ${key} (server ${server})`,
        );
        return;
      }
    }
    this.#nextCommit.set(serverObject, expected);
    this.#durableCommit[server] = Math.max(this.#durableCommit[server] ?? 0, expected - 1);
  }

  /** The Server object `serverObject` (server `server`) has this commitIndex now. */
  commitIndexObserved(serverObject: object, server: ServerId, commitIndex: LogIndex): void {
    const before = this.#commitIndex.get(serverObject) ?? 0;
    if (commitIndex < before) {
      this.report('commitIndexMonotonic', `server ${server}'s commitIndex went down from ${before} to ${commitIndex}`);
      return;
    }
    this.#commitIndex.set(serverObject, commitIndex);
  }

  /**
   * Server `leader`, leader of `leaderTerm` with log `leaderLog`, believes follower
   * `follower` holds its log up to `matchIndex`; the follower is in `followerTerm` with log
   * `followerLog`. Unless the follower has moved to a later term (a later leader may then
   * have rewritten its log, and this leader is merely deposed without knowing it), both logs
   * must hold an entry of the same term at `matchIndex` (O(1)).
   */
  matchIndexObserved(
    leader: ServerId,
    leaderTerm: Term,
    leaderLog: LogReader<T>,
    follower: ServerId,
    followerTerm: Term,
    followerLog: LogReader<T>,
    matchIndex: LogIndex,
  ): void {
    if (matchIndex <= 0 || followerTerm > leaderTerm) return;
    const mine = leaderLog.entry(matchIndex);
    const theirs = followerLog.entry(matchIndex);
    if (mine !== undefined && theirs !== undefined && mine.term === theirs.term) return;
    const show = (entry: LogEntry<T> | undefined): string => (entry === undefined ? 'nothing' : `term ${entry.term}`);
    this.report(
      'matchIndexBound',
      `server ${leader}, leader of term ${leaderTerm}, has matchIndex ${matchIndex} for server ${follower} (term ${followerTerm}), but at index ${matchIndex} its log has ${show(mine)} and server ${follower}'s store has ${show(theirs)} (last index ${followerLog.lastIndex})`,
    );
  }

  /** Durable Majority for an entry committed for the first time; false (and reported) when it fails. */
  #heldByMajority(entry: LogEntry<T>, key: string, committer: ServerId): boolean {
    const stores = this.#stores;
    if (stores === undefined) return true;
    const holders: ServerId[] = [];
    for (let server = 0; server < stores.servers; server++) {
      const held = stores.durableEntry(server, entry.index);
      if (held !== undefined && held.term === entry.term && this.#key(held.data) === key) holders.push(server);
    }
    const majority = Math.floor(stores.servers / 2) + 1;
    if (holders.length >= majority) return true;
    this.report(
      'durableMajority',
      `server ${committer} committed entry ${entry.index} (term ${entry.term}, ${key}) while only ${holders.length} of ${stores.servers} stores held it durably (${holders.length === 0 ? 'none' : `servers ${holders.join(', ')}`}); a majority is ${majority}`,
    );
    return false;
  }

  /** Server `server` restarted over a store with this log: it must still hold what it had committed. */
  restarted(server: ServerId, log: LogReader<T>): void {
    const durable = this.#durableCommit[server] ?? 0;
    for (let index = 1; index <= durable; index++) {
      const committed = this.#committed[index - 1] as { term: Term; key: string };
      const entry = log.entry(index);
      if (entry === undefined || entry.term !== committed.term || this.#key(entry.data) !== committed.key) {
        this.report('durableCommits', `server ${server} restarted without committed entry ${index} (term ${committed.term}, ${committed.key})`);
        return;
      }
    }
  }
}
