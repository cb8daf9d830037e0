// Hardening: a leader must not modify arrays it gets from the store.
//
// `getLogEntries` may return an array the store keeps (a cache). With `maxBytesPerMessage`
// the leader cuts a batch to its byte budget; it must cut a copy, never the store's array
// (today trimToByteBudget truncates it in place, corrupting the cache).

import { InMemoryCluster, InMemoryPersistentState, type IPersistentState, type LogEntry, type LogIndex, type ServerId, type Term } from '../../lib';
import { type Data } from './helpers';

/** A store whose getLogEntries hands out arrays it keeps, and remembers what each held. */
class CachingStore implements IPersistentState<Data> {
  readonly inner = new InMemoryPersistentState<Data>();
  readonly #cache = new Map<string, LogEntry<Data>[]>();
  /** Every array handed out, with a copy of what it held then. */
  readonly handedOut: Array<{ array: LogEntry<Data>[]; copy: LogEntry<Data>[] }> = [];
  hits = 0;

  get currentTerm(): Term {
    return this.inner.currentTerm;
  }
  get votedFor(): ServerId | undefined {
    return this.inner.votedFor;
  }
  get currentLogIndex(): LogIndex {
    return this.inner.currentLogIndex;
  }
  advanceToTerm(term: Term): void {
    this.inner.advanceToTerm(term);
  }
  incrementTerm(): void {
    this.inner.incrementTerm();
  }
  vote(candidate: ServerId): void {
    this.inner.vote(candidate);
  }
  getLogEntry(index: LogIndex): LogEntry<Data> | undefined {
    return this.inner.getLogEntry(index);
  }
  getLastLogEntry(): LogEntry<Data> | undefined {
    return this.inner.getLastLogEntry();
  }
  appendToLog(data: Data, term: Term): void {
    this.#cache.clear();
    this.inner.appendToLog(data, term);
  }
  appendEntries(entries: readonly { data: Data; term: Term }[]): void {
    this.#cache.clear();
    this.inner.appendEntries(entries);
  }
  truncateLog(finalIndex: LogIndex): void {
    this.#cache.clear();
    this.inner.truncateLog(finalIndex);
  }
  getLogEntries(from: LogIndex, to: LogIndex): LogEntry<Data>[] {
    const key = `${from}:${to}`;
    const cached = this.#cache.get(key);
    if (cached !== undefined) {
      this.hits++;
      return cached;
    }
    const array = this.inner.getLogEntries(from, to);
    this.#cache.set(key, array);
    this.handedOut.push({ array, copy: [...array] });
    return array;
  }
}

describe('arrays returned by getLogEntries', () => {
  it('are not modified by a leader cutting batches to maxBytesPerMessage', () => {
    const stores: CachingStore[] = [];
    const cluster = InMemoryCluster.make<Data>(3, {
      seed: 5,
      maxBytesPerMessage: 25,
      persistentState: () => {
        const store = new CachingStore();
        stores.push(store);
        return store;
      },
    });
    expect(cluster.runUntil(() => cluster.leader() !== undefined, 10_000)).toBe(true);
    const data = Array.from({ length: 20 }, (_, k) => `entry-${String(k).padStart(3, '0')}`); // 9 bytes each
    cluster.proposeAll(data);
    cluster.advance(500);
    const handedOut = stores.flatMap((s) => s.handedOut);
    expect(handedOut.length).toBeGreaterThan(0);
    for (const { array, copy } of handedOut) {
      expect(array.length).toBe(copy.length);
      expect(array.every((entry, k) => entry === copy[k])).toBe(true);
    }
    // And replication still went through, in messages of at most 25 bytes.
    for (const server of cluster.servers) expect(cluster.committed(server.id).map((e) => e.data)).toEqual(data);
  });
});
