import { isDeepStrictEqual } from 'node:util';
import type { InMemoryCluster, LogEntry, LogIndex, Server, ServerId, Term } from '../../lib';

/** Every entry of a server's log, 1..currentLogIndex, as plain objects. */
export function logOf<T>(server: Server<T>): LogEntry<T>[] {
  const state = server.persistentState;
  const entries: LogEntry<T>[] = [];
  for (let index = 1; index <= state.currentLogIndex; index++) {
    const entry = state.getLogEntry(index);
    if (entry === undefined) throw new Error(`server ${server.id}: no entry at ${index} although currentLogIndex is ${state.currentLogIndex}`);
    entries.push({ index: entry.index, term: entry.term, data: entry.data });
  }
  return entries;
}

/** The server in slot `id`, failing loudly if there is none. */
export function serverAt<T>(cluster: InMemoryCluster<T>, id: ServerId): Server<T> {
  const server = cluster.servers[id];
  if (server === undefined) throw new Error(`no server in slot ${id}`);
  return server;
}

/** Advances the clock until some running server leads, and returns it. */
export function electLeader<T>(cluster: InMemoryCluster<T>, maxMs = 10_000): Server<T> {
  if (!cluster.runUntil(() => cluster.leader() !== undefined, maxMs)) {
    throw new Error(`no leader elected within ${maxMs} ms (now ${cluster.now})`);
  }
  const leader = cluster.leader();
  if (leader === undefined) throw new Error('leader vanished');
  return leader;
}

/** Proposes `data` to the current leader and fails unless it was appended. */
export function proposeOk<T>(cluster: InMemoryCluster<T>, data: T): { index: LogIndex; term: Term } {
  const result = cluster.propose(data);
  if (result.type !== 'appended') throw new Error(`proposal of ${String(data)} not appended: ${JSON.stringify(result)}`);
  return { index: result.index, term: result.term };
}

/** Whether every running server's log equals every other's, and every commitIndex equals the log length. */
export function converged<T>(cluster: InMemoryCluster<T>): boolean {
  const running = cluster.servers.filter((s) => cluster.isRunning(s.id));
  const first = running[0];
  if (first === undefined) return true;
  const reference = logOf(first);
  return running.every(
    (s) =>
      isDeepStrictEqual(logOf(s), reference) &&
      s.volatileState.commitIndex === reference.length &&
      cluster.committed(s.id).length === reference.length,
  );
}

/**
 * Watches every server of a cluster (re-attaching to restarted ones on `attach()`) and
 * collects violations of Raft's safety properties as they happen:
 *  - Election Safety: at most one leader per term;
 *  - State Machine Safety: no two servers commit different entries at the same index;
 *  - each Server object emits each index once, in order, from 1;
 *  - Leader Completeness: a new leader's log holds every entry committed in an earlier term;
 *  - leaderChange(l, t) names a server that did win term t, and t is the announcer's term.
 */
export class SafetyObserver<T> {
  readonly leadersByTerm = new Map<Term, Set<ServerId>>();
  readonly committedByIndex = new Map<LogIndex, LogEntry<T>>();
  readonly violations: string[] = [];
  readonly #attached = new WeakSet<Server<T>>();
  readonly #commitTerm = new Map<LogIndex, Term>();
  readonly #cluster: InMemoryCluster<T>;

  constructor(cluster: InMemoryCluster<T>) {
    this.#cluster = cluster;
    this.attach();
  }

  /** Attaches listeners to servers not yet watched (call after a restart). */
  attach(): void {
    for (const server of this.#cluster.servers) {
      if (this.#attached.has(server)) continue;
      this.#attached.add(server);
      let lastEmitted = 0;
      server.on('roleChange', (role, term) => {
        if (role !== 'leader') return;
        const leaders = this.leadersByTerm.get(term) ?? new Set<ServerId>();
        leaders.add(server.id);
        this.leadersByTerm.set(term, leaders);
        if (leaders.size > 1) this.violations.push(`term ${term} has leaders ${[...leaders].join(', ')}`);
        for (const [index, entry] of this.committedByIndex) {
          // Leader Completeness covers the leaders of later terms only.
          if ((this.#commitTerm.get(index) ?? Infinity) >= term) continue;
          const mine = server.persistentState.getLogEntry(index);
          if (mine === undefined || mine.term !== entry.term || !isDeepStrictEqual(mine.data, entry.data)) {
            this.violations.push(`leader ${server.id} of term ${term} lacks committed entry ${index}`);
          }
        }
      });
      server.on('leaderChange', (leaderId, term) => {
        if (term !== server.currentTerm) this.violations.push(`server ${server.id} announced leader ${String(leaderId)} for term ${term} while in term ${server.currentTerm}`);
        if (leaderId === undefined) return;
        // A server learns of a leader only from that leader's messages, sent after it won its term.
        if (!(this.leadersByTerm.get(term)?.has(leaderId) ?? false)) {
          this.violations.push(`server ${server.id} announced ${leaderId} as leader of term ${term}, which it never led`);
        }
      });
      server.on('committed', (entries) => {
        for (const entry of entries) {
          if (entry.index !== lastEmitted + 1) this.violations.push(`server ${server.id} emitted index ${entry.index} after ${lastEmitted}`);
          lastEmitted = entry.index;
          // The term in which the entry was committed is at most the term of any server that applies it.
          this.#commitTerm.set(entry.index, Math.min(this.#commitTerm.get(entry.index) ?? Infinity, server.currentTerm));
          const known = this.committedByIndex.get(entry.index);
          if (known === undefined) {
            this.committedByIndex.set(entry.index, { index: entry.index, term: entry.term, data: entry.data });
          } else if (known.term !== entry.term || !isDeepStrictEqual(known.data, entry.data)) {
            this.violations.push(`index ${entry.index} committed as ${JSON.stringify(known)} and as ${JSON.stringify(entry)} (server ${server.id})`);
          }
        }
      });
    }
  }

  /** `cluster.restart(id)` followed by `attach()`. */
  restart(id: ServerId): Server<T> {
    this.#cluster.restart(id);
    this.attach();
    return serverAt(this.#cluster, id);
  }

  /** Throws when a safety property was violated, now or at any time since the observer started. */
  check(): void {
    this.attach();
    checkSafety(this.#cluster, this.violations);
  }
}

/**
 * Checks the cluster's current state: at most one running leader per term; the committed
 * prefixes of all logs agree; each server's `committed(id)` list is 1, 2, 3, ... and agrees
 * with every log that has committed that far.
 */
export function checkSafety<T>(cluster: InMemoryCluster<T>, violations: readonly string[] = []): void {
  const problems = [...violations];
  const leaderOfTerm = new Map<Term, ServerId>();
  for (const server of cluster.servers) {
    if (!cluster.isRunning(server.id) || server.role !== 'leader') continue;
    const other = leaderOfTerm.get(server.currentTerm);
    if (other !== undefined) problems.push(`servers ${other} and ${server.id} both lead term ${server.currentTerm}`);
    leaderOfTerm.set(server.currentTerm, server.id);
  }
  for (const server of cluster.servers) {
    if (!cluster.isRunning(server.id)) continue;
    if (server.role === 'leader' && server.leaderId !== server.id) problems.push(`leader ${server.id} names ${String(server.leaderId)} as leader`);
    if (server.role === 'candidate' && server.leaderId !== undefined) problems.push(`candidate ${server.id} (term ${server.currentTerm}) names ${server.leaderId} as leader`);
  }
  const logs = cluster.servers.map((s) => logOf(s));
  for (const a of cluster.servers) {
    for (const b of cluster.servers) {
      if (a.id >= b.id) continue;
      const upTo = Math.min(a.volatileState.commitIndex, b.volatileState.commitIndex);
      const prefixA = (logs[a.id] ?? []).slice(0, upTo);
      const prefixB = (logs[b.id] ?? []).slice(0, upTo);
      if (!isDeepStrictEqual(prefixA, prefixB)) problems.push(`committed prefixes of ${a.id} and ${b.id} differ (up to ${upTo})`);
    }
  }
  for (const server of cluster.servers) {
    const committed = cluster.committed(server.id);
    committed.forEach((entry, k) => {
      if (entry.index !== k + 1) problems.push(`committed(${server.id})[${k}] has index ${entry.index}`);
    });
    for (const other of cluster.servers) {
      const log = logs[other.id] ?? [];
      const upTo = Math.min(committed.length, other.volatileState.commitIndex);
      for (let k = 0; k < upTo; k++) {
        const mine = committed[k];
        const theirs = log[k];
        if (mine === undefined || theirs === undefined || mine.term !== theirs.term || !isDeepStrictEqual(mine.data, theirs.data)) {
          problems.push(`committed(${server.id}) and the log of ${other.id} differ at index ${k + 1}`);
          break;
        }
      }
    }
  }
  if (problems.length > 0) throw new Error(`safety violated:\n${problems.join('\n')}`);
}
