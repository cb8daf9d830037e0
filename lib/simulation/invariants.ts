import type { LogEntry, LogIndex, LogPosition, ServerId, Term } from '../types';

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
  | 'stateMachineMatchesLog'
  | 'appliedNeverBackwards'
  | 'noException'
  | 'liveness'
  | 'linearizable';

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
  /**
   * Optional: whether server `server`'s store durably holds a snapshot that covers `index`
   * (its last index is at least `index`). Such a store counts as holding a committed entry:
   * a snapshot holds only committed state, and a server may compact an entry in the very
   * call that commits it, before its `committed` event is seen.
   */
  durablyCovered?(server: ServerId, index: LogIndex): boolean;
}

/** Reads one server's log, for checks that look at a whole prefix. */
export interface LogReader<T> {
  /** Index of the last entry. */
  readonly lastIndex: LogIndex;
  /** The entry at `index`, or `undefined` (also for an index the snapshot compacted). */
  entry(index: LogIndex): LogEntry<T> | undefined;
  /**
   * The last entry covered by the store's snapshot, when it holds one: the entries up to it
   * may be missing from the log (compacted); they count as held, and the snapshot's own last
   * entry as held with this term.
   */
  readonly snapshot?: LogPosition;
}

/** The key the checker gives a no-op entry (`kind: 'noop'`), which has no data: no proposal's key can be it. */
export const NOOP_KEY = '\u0000noop';

/** The digest of an empty state machine (nothing applied). */
export const EMPTY_DIGEST = 0x811c9dc5;

/**
 * The digest after applying, to a state of digest `previous`, the entry at `index` of `term`
 * whose data has key `key`: 32-bit FNV-1a over the previous digest and the entry. A state
 * machine that keeps this digest of what it applied equals, in O(1), the one built from the
 * committed prefix (see {@link SafetyChecker.prefixDigest}).
 */
export function digestStep(previous: number, index: LogIndex, term: Term, key: string): number {
  let hash = previous >>> 0;
  const text = `${index}:${term}:${key};`;
  for (let k = 0; k < text.length; k++) {
    hash ^= text.charCodeAt(k);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
}

/** The term a reader holds at `index`: its entry's, or its snapshot's at the snapshot's last index. */
function termIn<T>(log: LogReader<T>, index: LogIndex): Term | undefined {
  const entry = log.entry(index);
  if (entry !== undefined) return entry.term;
  return log.snapshot !== undefined && log.snapshot.index === index ? log.snapshot.term : undefined;
}

/** Whether the reader's snapshot covers `index` without its term being known (before its last entry). */
function compactedIn<T>(log: LogReader<T>, index: LogIndex): boolean {
  return log.snapshot !== undefined && index < log.snapshot.index && log.entry(index) === undefined;
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
 * - Leader Completeness: a new leader's log holds every entry committed so far (entries
 *   its snapshot covers count as held; the snapshot's last entry must have the committed term).
 * - State Machine Safety: no index is committed with two different entries, and each
 *   Server object commits indices once, in order, from the index after its snapshot (1
 *   without one; see {@link SafetyChecker.serverStarted}), and after a leader's snapshot it
 *   installed, which must end at a committed entry of the same term.
 * - commitIndex never decreases within one Server object.
 * - Durable commits: a store never drops an entry that a server over it had committed,
 *   by truncation or across a restart (a compaction is no drop: the snapshot covers it).
 * - Durable majority (once {@link SafetyChecker.watchStores} is called): at its first
 *   commit, an entry is held durably (synced) by the stores of a majority of the servers
 *   (a store whose durable snapshot covers the entry counts as holding it).
 * - matchIndex bound (fed by {@link runSchedule} after every AppendEntries reply a leader receives): a
 *   leader's `matchIndex` for a follower that has not moved past the leader's term never
 *   exceeds the prefix the follower's store really shares with the leader's log (by Log
 *   Matching, the two logs hold an entry of the same term at `matchIndex`). It may lag,
 *   never lead: a leader that counts a success reply of an earlier leadership, whose log was
 *   rewritten since, is caught here at once, before it commits anything on that count.
 * - State machine matches log (fed by {@link runSchedule} at every step, with
 *   {@link SafetyChecker.stateMachineObserved}): every running server's state machine has
 *   applied exactly up to the server's `lastApplied`, and its state is the one built by
 *   applying the committed entries `1..lastApplied` in order (compared by digest, see
 *   {@link digestStep}), whether it got there by applying entries, by restoring its own
 *   snapshot at a restart, or by installing a leader's.
 * - Applied never backwards: within one Server object, `lastApplied` never decreases, and a
 *   leader's snapshot is never installed below it. A Server object starts with `lastApplied`
 *   equal to the index of its store's durable snapshot (0 without one); across the restarts
 *   of one server that index never decreases (a durable snapshot is only replaced by a later
 *   one) and never exceeds the highest `lastApplied` the server had reached (a snapshot only
 *   holds applied state).
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
  /** Committed entries by index; `term` is `undefined` for a no-op inferred from a gap whose entry was compacted before it was seen. */
  readonly #committed: { term: Term | undefined; key: string }[] = [];
  readonly #nextCommit = new WeakMap<object, LogIndex>();
  readonly #commitIndex = new WeakMap<object, LogIndex>();
  readonly #durableCommit: LogIndex[] = [];
  /** `#digests[i]`: the digest of the committed entries `1..i`. */
  readonly #digests: number[] = [EMPTY_DIGEST];
  readonly #lastApplied = new WeakMap<object, LogIndex>();
  /** Per server: the highest lastApplied any of its Server objects reached. */
  readonly #maxApplied: LogIndex[] = [];
  /** Per server: the snapshot index its latest Server object started from. */
  readonly #startSnapshot: LogIndex[] = [];
  #stores: DurableStores<T> | undefined;
  #violation: Violation | undefined;

  /** The key of an entry: its data's, or {@link NOOP_KEY} for a no-op (whose data is undefined). */
  #entryKey(entry: LogEntry<T>): string {
    return entry.kind === 'noop' ? NOOP_KEY : this.#key(entry.data);
  }

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
      const committed = this.#committed[index - 1] as { term: Term | undefined; key: string };
      if (committed.term === undefined) continue; // a no-op seen only as a gap
      if (compactedIn(log, index)) continue; // covered by the snapshot; its last entry is checked by term
      if (log.entry(index) === undefined && log.snapshot?.index === index) {
        if (log.snapshot.term === committed.term) continue;
        this.report('leaderCompleteness', `server ${server}, leader of term ${term}, has a snapshot ending at committed entry ${index} (term ${committed.term}) with term ${log.snapshot.term}`);
        return;
      }
      const entry = log.entry(index);
      if (entry === undefined || entry.term !== committed.term || this.#entryKey(entry) !== committed.key) {
        this.report(
          'leaderCompleteness',
          `server ${server}, leader of term ${term}, lacks committed entry ${index} (term ${committed.term}, ${committed.key}); it has ${entry === undefined ? 'nothing' : `term ${entry.term}, ${this.#entryKey(entry)}`} there`,
        );
        return;
      }
    }
  }

  /** Server `server`'s store now holds `entry`, right after an entry of `previousTerm` (0 at index 1). */
  entryStored(server: ServerId, entry: LogEntry<T>, previousTerm: Term): void {
    const id = `${entry.index}:${entry.term}`;
    const key = this.#entryKey(entry);
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

  /**
   * The Server object `serverObject` (server `server`) emitted these entries as committed.
   * No-op entries (`kind: 'noop'`) may be among them; the `committed` event skips them, so
   * call {@link SafetyChecker.noopsApplied} first for the indices before the batch.
   */
  entriesCommitted(serverObject: object, server: ServerId, entries: readonly LogEntry<T>[]): void {
    let expected = this.#nextCommit.get(serverObject) ?? 1;
    for (const entry of entries) {
      if (entry.index !== expected) {
        this.report('stateMachineSafety', `server ${server} committed index ${entry.index} where index ${expected} was next`);
        return;
      }
      expected++;
      if (!this.#commitOne(server, entry.index, entry.term, this.#entryKey(entry), entry)) return;
    }
    this.#nextCommit.set(serverObject, expected);
    this.#durableCommit[server] = Math.max(this.#durableCommit[server] ?? 0, expected - 1);
    this.#maxApplied[server] = Math.max(this.#maxApplied[server] ?? 0, expected - 1);
  }

  /**
   * The Server object `serverObject` (server `server`) has applied every index up to
   * `through`, but its `committed` event, which skips no-ops, did not show those after the
   * last one it reported: each of them must be a no-op. `entryAt` reads the server's log
   * (an entry already compacted away reads `undefined` and counts as a no-op of unknown
   * term: the event skipped it). A non-no-op entry there is a `stateMachineSafety`
   * violation (an entry applied without being reported).
   */
  noopsApplied(serverObject: object, server: ServerId, through: LogIndex, entryAt: (index: LogIndex) => LogEntry<T> | undefined): void {
    let expected = this.#nextCommit.get(serverObject) ?? 1;
    if (through < expected) return;
    for (; expected <= through; expected++) {
      const entry = entryAt(expected);
      if (entry !== undefined && entry.kind !== 'noop') {
        this.report('stateMachineSafety', `server ${server} applied index ${expected} (term ${entry.term}, ${this.#entryKey(entry)}) without reporting it as committed`);
        return;
      }
      if (!this.#commitOne(server, expected, entry?.term, NOOP_KEY, entry)) return;
    }
    this.#nextCommit.set(serverObject, expected);
    this.#durableCommit[server] = Math.max(this.#durableCommit[server] ?? 0, expected - 1);
    this.#maxApplied[server] = Math.max(this.#maxApplied[server] ?? 0, expected - 1);
  }

  /** Records index `index` as committed with this term (undefined: unknown) and key; false (and reported) on a conflict. */
  #commitOne(server: ServerId, index: LogIndex, term: Term | undefined, key: string, entry: LogEntry<T> | undefined): boolean {
    const known = this.#committed[index - 1];
    if (known === undefined) {
      if (index !== this.#committed.length + 1) {
        this.report('stateMachineSafety', `server ${server} committed index ${index} while only ${this.#committed.length} entries are known committed`);
        return false;
      }
      this.#committed.push({ term, key });
      const previous = this.#digests[index - 1] as number;
      this.#digests.push(key === NOOP_KEY ? previous : digestStep(previous, index, term as Term, key));
      if (entry !== undefined && !this.#heldByMajority(entry, key, server)) return false;
    } else if ((known.term !== undefined && term !== undefined && known.term !== term) || known.key !== key) {
      this.report('stateMachineSafety', `index ${index} committed as term ${known.term ?? '?'}, ${known.key} and as term ${term ?? '?'}, ${key} (server ${server})`);
      return false;
    } else if (known.term === undefined && term !== undefined) {
      known.term = term;
    }
    return true;
  }

  /**
   * The Server object `serverObject` (server `server`) starts with this `lastApplied` (its
   * snapshot's index, 0 without one): its commits continue from there. Call it before its
   * first event ({@link observeServer} does).
   */
  serverStarted(serverObject: object, server: ServerId, lastApplied: LogIndex): void {
    this.#nextCommit.set(serverObject, lastApplied + 1);
    this.#lastApplied.set(serverObject, lastApplied);
    this.#maxApplied[server] = Math.max(this.#maxApplied[server] ?? 0, 0);
  }

  /**
   * The Server object `serverObject` (server `server`) installed a leader's snapshot whose
   * last entry is `lastIncluded`: its commits continue after it. The snapshot must cover
   * committed entries (the term at its last index is the committed one) and lie beyond what
   * the server applied.
   */
  snapshotInstalled(serverObject: object, server: ServerId, lastIncluded: LogPosition): void {
    const index = lastIncluded.index;
    const known = this.#committed[index - 1];
    if (known === undefined || (known.term !== undefined && known.term !== lastIncluded.term)) {
      this.report(
        'stateMachineSafety',
        `server ${server} installed a snapshot ending at index ${index} of term ${lastIncluded.term}, but ${known === undefined ? `only ${this.#committed.length} entries are known committed` : `index ${index} was committed in term ${known.term}`}`,
      );
      return;
    }
    const next = this.#nextCommit.get(serverObject) ?? 1;
    if (index < next - 1) {
      this.report('appliedNeverBackwards', `server ${server} installed a snapshot ending at index ${index}, below the ${next - 1} entries it had applied`);
      return;
    }
    this.#nextCommit.set(serverObject, index + 1);
    this.#maxApplied[server] = Math.max(this.#maxApplied[server] ?? 0, index);
  }

  /** The Server object `serverObject` (server `server`) has this `lastApplied` now: it never decreases (O(1)). */
  lastAppliedObserved(serverObject: object, server: ServerId, lastApplied: LogIndex): void {
    const before = this.#lastApplied.get(serverObject) ?? 0;
    if (lastApplied < before) {
      this.report('appliedNeverBackwards', `server ${server}'s lastApplied went down from ${before} to ${lastApplied}`);
      return;
    }
    this.#lastApplied.set(serverObject, lastApplied);
    this.#maxApplied[server] = Math.max(this.#maxApplied[server] ?? 0, lastApplied);
  }

  /**
   * Server `server` was restarted: its new Server object starts with `lastApplied`, over a
   * store whose (durable) snapshot ends at `snapshotIndex` (0 without one). `lastApplied`
   * must be `snapshotIndex`, which is at least the one the server started from last time and
   * at most the highest `lastApplied` it ever reached.
   */
  restartedAt(server: ServerId, lastApplied: LogIndex, snapshotIndex: LogIndex): void {
    const previous = this.#startSnapshot[server] ?? 0;
    const reached = this.#maxApplied[server] ?? 0;
    if (lastApplied !== snapshotIndex) {
      this.report('appliedNeverBackwards', `server ${server} restarted with lastApplied ${lastApplied}, but its store's snapshot ends at ${snapshotIndex}`);
    } else if (snapshotIndex < previous) {
      this.report('appliedNeverBackwards', `server ${server} restarted from a snapshot ending at ${snapshotIndex}, below the one at ${previous} it started from before`);
    } else if (snapshotIndex > reached) {
      this.report('appliedNeverBackwards', `server ${server} restarted from a snapshot ending at ${snapshotIndex}, beyond the ${reached} entries it ever applied`);
    }
    this.#startSnapshot[server] = snapshotIndex;
  }

  /** The digest of the committed entries `1..index` (see {@link digestStep}), or `undefined` beyond what is known committed. */
  prefixDigest(index: LogIndex): number | undefined {
    return this.#digests[index];
  }

  /**
   * Server `server`, with `lastApplied`, has a state machine that applied up to `applied`
   * and has digest `digest`: both must match the committed prefix `1..lastApplied` (O(1)).
   */
  stateMachineObserved(server: ServerId, lastApplied: LogIndex, applied: LogIndex, digest: number): void {
    // The machine never sees no-ops: it may stop short of lastApplied by no-op indices only.
    let skipped = applied < lastApplied && applied >= 0;
    for (let index = applied + 1; skipped && index <= lastApplied; index++) skipped = this.#committed[index - 1]?.key === NOOP_KEY;
    if (applied !== lastApplied && !skipped) {
      this.report('stateMachineMatchesLog', `server ${server}'s state machine applied up to index ${applied}, but its lastApplied is ${lastApplied}`);
      return;
    }
    const expected = this.prefixDigest(lastApplied);
    if (expected === undefined) {
      this.report('stateMachineMatchesLog', `server ${server} applied up to index ${lastApplied}, beyond the ${this.#committed.length} entries known committed`);
    } else if (expected !== digest) {
      this.report(
        'stateMachineMatchesLog',
        `server ${server}'s state machine at index ${lastApplied} has digest ${hex(digest)}, but applying the committed entries 1..${lastApplied} gives ${hex(expected)}`,
      );
    }
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
    if (compactedIn(leaderLog, matchIndex) || compactedIn(followerLog, matchIndex)) return; // committed on that side: Leader Completeness and durable commits cover it
    const mine = termIn(leaderLog, matchIndex);
    const theirs = termIn(followerLog, matchIndex);
    if (mine !== undefined && theirs !== undefined && mine === theirs) return;
    const show = (term: Term | undefined): string => (term === undefined ? 'nothing' : `term ${term}`);
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
      if (held !== undefined ? held.term === entry.term && this.#entryKey(held) === key : stores.durablyCovered?.(server, entry.index) === true) holders.push(server);
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
      const committed = this.#committed[index - 1] as { term: Term | undefined; key: string };
      if (committed.term === undefined || compactedIn(log, index)) continue;
      const entry = log.entry(index);
      if (entry === undefined && log.snapshot?.index === index && log.snapshot.term === committed.term) continue;
      if (entry === undefined || entry.term !== committed.term || this.#entryKey(entry) !== committed.key) {
        this.report('durableCommits', `server ${server} restarted without committed entry ${index} (term ${committed.term}, ${committed.key})`);
        return;
      }
    }
  }
}

function hex(digest: number): string {
  return `0x${(digest >>> 0).toString(16).padStart(8, '0')}`;
}
