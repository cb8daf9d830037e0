/**
 * The simulator's machinery catches real bugs. No bug is committed to lib: the faults are
 * planted through the public pluggable surface (the cluster's `persistentState` factory),
 * in stores that misbehave the way real storage code does:
 *
 *  - a store that does not persist `votedFor`, so a restarted server forgets the vote it
 *    cast in its current term and votes a second time: two leaders of one term;
 *  - a store whose tail pointer reports the wrong term for its last entry, so an
 *    out-of-date candidate looks up to date and wins: a leader lacking a committed entry;
 *  - a store whose read of one entry returns the wrong term (bit rot), so the consistency
 *    check of AppendEntries passes where it must fail: two logs with the same entry after
 *    different predecessors.
 *
 * Each is checked twice: with the fault the SafetyChecker names the right invariant, and
 * without it (the same steps on an honest store) it reports nothing, so the catch is the
 * fault's doing. The forgetful store is also found by random fault schedules, driven the
 * way runSchedule drives them (see ./driver).
 */
import {
  InMemoryCluster,
  ObservedPersistentState,
  SafetyChecker,
  checkCommitIndexes,
  generateSchedule,
  limitsFor,
  logReader,
  observeServer,
  type FaultWeights,
  type IPersistentState,
  type LogEntry,
  type LogIndex,
  type Server,
  type ServerId,
  type Term,
} from '../../lib';
import { drive } from './driver';
import { ForgetfulState } from './forgetful-state';

// ---------------------------------------------------------------- faulty stores

/**
 * A store the Server sees through a faulty read path, over an honest, observed store (the
 * checker is told about what is really written). `lastEntryTerm` makes getLastLogEntry
 * report another term for the entry at one index; `entryTerm` does the same for
 * getLogEntry.
 */
class LyingState<T> implements IPersistentState<T> {
  readonly inner: ObservedPersistentState<T>;
  lastEntryLie: { index: LogIndex; term: Term } | undefined;
  entryLie: { index: LogIndex; term: Term } | undefined;

  constructor(server: ServerId, checker: SafetyChecker<T>) {
    this.inner = new ObservedPersistentState<T>(server, checker);
  }

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
  getLogEntry(index: LogIndex): LogEntry<T> | undefined {
    const entry = this.inner.getLogEntry(index);
    const lie = this.entryLie;
    return entry !== undefined && lie !== undefined && lie.index === index ? { ...entry, term: lie.term } : entry;
  }
  getLastLogEntry(): LogEntry<T> | undefined {
    const entry = this.inner.getLastLogEntry();
    const lie = this.lastEntryLie;
    return entry !== undefined && lie !== undefined && lie.index === entry.index ? { ...entry, term: lie.term } : entry;
  }
  appendToLog(data: T, term: Term): void {
    this.inner.appendToLog(data, term);
  }
  appendEntries(entries: readonly { data: T; term: Term }[]): void {
    this.inner.appendEntries(entries);
  }
  truncateLog(finalIndex: LogIndex): void {
    this.inner.truncateLog(finalIndex);
  }
}

// ---------------------------------------------------------------- a hand-driven, observed cluster

/** A manual-delivery cluster of `size` servers wired to a SafetyChecker the way runSchedule wires it. */
function observedCluster<S extends IPersistentState<string>>(size: number, makeState: (id: ServerId, checker: SafetyChecker<string>) => S) {
  const checker = new SafetyChecker<string>();
  const stores: S[] = [];
  const cluster = InMemoryCluster.make<string>(size, {
    seed: 1,
    delivery: 'manual',
    persistentState: (id) => {
      const store = makeState(id, checker);
      stores[id] = store;
      return store as IPersistentState<unknown>;
    },
  });
  cluster.servers.forEach((server) => observeServer(server, checker));
  const server = (id: ServerId): Server<string> => cluster.servers[id] as Server<string>;
  const store = (id: ServerId): S => stores[id] as S;
  const check = (): void => checkCommitIndexes(cluster, checker);

  /** Delivers, oldest first, every message waiting now for `to` (from `from` if given). */
  const deliverTo = (to: ServerId, from?: ServerId): number => {
    const waiting = cluster.network.undelivered(to).filter((m) => from === undefined || m.from === from);
    for (const message of waiting) {
      cluster.network.deliver(to, message.id);
      check();
    }
    return waiting.length;
  };
  /** Drops every message waiting now for `to` (from `from` if given). */
  const dropTo = (to: ServerId, from?: ServerId): void => {
    for (const message of cluster.network.undelivered(to)) if (from === undefined || message.from === from) cluster.network.drop(to, message.id);
  };
  /** Delivers messages among `group` (oldest first) until none waits; drops what the group sends to others. */
  const exchange = (group: readonly ServerId[]): void => {
    for (let bound = 0; bound < 10_000 && checker.violation === undefined; bound++) {
      const next = cluster.network.allUndelivered().find((m) => group.includes(m.from));
      if (next === undefined) return;
      if (group.includes(next.to)) cluster.network.deliver(next.to, next.id);
      else cluster.network.drop(next.to, next.id);
      check();
    }
  };
  /** Restarts server `id` over its store, telling the checker, as runSchedule does. */
  const restart = (id: ServerId, beforeStart?: (store: S) => void): void => {
    cluster.restart(id);
    beforeStart?.(store(id));
    checker.restarted(id, logReader(server(id).persistentState));
    observeServer(server(id), checker);
    check();
  };
  return { cluster, checker, server, store, deliverTo, dropTo, exchange, restart };
}

// ---------------------------------------------------------------- forgetful votes: electionSafety

describe('a store that forgets votedFor on restart', () => {
  /**
   * Server 0 wins term 1 with server 1's vote. Server 1 restarts. Server 2, which never heard
   * of term 1, times out into term 1 and asks server 1, which (if it forgot) votes again.
   */
  function scenario(forget: boolean) {
    const sim = observedCluster(3, (id, checker) => new ForgetfulState<string>(id, checker));
    const { cluster, checker, server } = sim;
    cluster.timeout(0);
    expect(sim.deliverTo(1, 0)).toBe(1); // server 1 votes for 0
    expect(sim.deliverTo(0, 1)).toBe(1); // the vote arrives
    expect(server(0).role).toBe('leader');
    expect(server(0).currentTerm).toBe(1);
    expect(sim.store(1).votedFor).toBe(0);
    sim.dropTo(2, 0); // server 2 hears nothing of term 1

    sim.restart(1, (store) => {
      if (forget) store.forgetVote();
    });
    expect(server(1).currentTerm).toBe(1);

    cluster.timeout(2);
    expect(server(2).currentTerm).toBe(1);
    expect(sim.deliverTo(1, 2)).toBe(1); // the request for server 1's vote in term 1
    sim.deliverTo(2, 1); // its answer
    return { ...sim, checker };
  }

  it('is caught as electionSafety: two leaders of term 1', () => {
    const { checker, server } = scenario(true);
    expect(checker.violation).toEqual({ invariant: 'electionSafety', message: 'servers 0 and 2 are both leader of term 1' });
    // The violation is real, not a checker artefact: both servers act as leaders of term 1.
    expect([server(0).role, server(0).currentTerm]).toEqual(['leader', 1]);
    expect([server(2).role, server(2).currentTerm]).toEqual(['leader', 1]);
  });

  it('control: with the vote kept, server 1 refuses and nothing is reported', () => {
    const { checker, server, store } = scenario(false);
    expect(store(1).votedFor).toBe(0);
    expect(server(2).role).toBe('candidate');
    expect(checker.violation).toBeUndefined();
  });

  /** Schedules rich in restarts and timeouts, so that votes are cast and forgotten often. */
  const weights: Partial<FaultWeights> = { restart: 10, timeout: 20, advance: 2, quiet: 0, heartbeat: 0, propose: 2 };
  const seeds = Array.from({ length: 200 }, (_, k) => k + 1);

  it('is found by random fault schedules (3 servers, 200 seeds of 300 steps), and only with the fault', () => {
    const found: string[] = [];
    for (const seed of seeds) {
      const schedule = generateSchedule(seed, { servers: 3, length: 300, weights });
      const faulty = drive(schedule, seed, {
        servers: 3,
        limits: limitsFor(seed),
        persistentState: (id, checker) => new ForgetfulState<string>(id, checker),
        onRestart: (_id, store) => (store as ForgetfulState<string>).forgetVote(),
      });
      if (faulty.violation !== undefined) {
        expect(faulty.violation.invariant).toBe('electionSafety');
        found.push(`seed ${seed} at step ${faulty.steps}`);
      }
      const honest = drive(schedule, seed, { servers: 3, limits: limitsFor(seed), persistentState: (id, checker) => new ObservedPersistentState<string>(id, checker) });
      expect({ seed, violation: honest.violation }).toEqual({ seed, violation: undefined });
    }
    expect(found.length).toBeGreaterThanOrEqual(3);
  });
});

// ---------------------------------------------------------------- a lying tail pointer: leaderCompleteness

describe('a store that reports the wrong term for its last entry', () => {
  /**
   * Server 0 leads term 1 and commits 'a' (1) on all and 'b' (2) on servers 0 and 1. Server
   * 2 has only 'a', but its store claims that entry is of term 2: asked for its vote,
   * server 1 (whose last entry is 'b', term 1) takes server 2's log for the more recent.
   */
  function scenario(lie: boolean) {
    const sim = observedCluster(3, (id, checker) => new LyingState<string>(id, checker));
    const { cluster, checker, server } = sim;
    cluster.timeout(0);
    sim.exchange([0, 1, 2]);
    expect(server(0).role).toBe('leader');
    expect(cluster.propose('a')).toMatchObject({ type: 'appended', index: 1, term: 1 });
    sim.exchange([0, 1, 2]);
    expect(cluster.propose('b')).toMatchObject({ type: 'appended', index: 2, term: 1 });
    sim.exchange([0, 1]); // server 2 never gets 'b'
    expect(server(0).volatileState.commitIndex).toBe(2);
    expect(checker.committedCount).toBe(2);
    expect(sim.store(2).currentLogIndex).toBe(1);
    expect(checker.violation).toBeUndefined();

    if (lie) sim.store(2).lastEntryLie = { index: 1, term: 2 };
    sim.cluster.disconnect(0);
    cluster.timeout(2); // term 2, last entry claimed (1, term 2)
    sim.exchange([1, 2]);
    return sim;
  }

  it('is caught as leaderCompleteness: server 2 leads term 2 without committed entry 2', () => {
    const { checker, server } = scenario(true);
    expect(checker.violation?.invariant).toBe('leaderCompleteness');
    expect(checker.violation?.message).toContain('server 2, leader of term 2, lacks committed entry 2');
    expect(server(2).role).toBe('leader');
  });

  it('control: with an honest store, server 1 refuses its vote and nothing is reported', () => {
    const { checker, server } = scenario(false);
    expect(server(2).role).toBe('candidate');
    expect(checker.violation).toBeUndefined();
  });
});

// ---------------------------------------------------------------- bit rot in one entry: logMatching

describe('a store that reads back one entry with the wrong term', () => {
  /**
   * Server 0 leads term 1 and writes 'a' at 1, which reaches nobody. Server 1 leads term 2
   * with server 2 and writes 'b' (1) and 'c' (2). Then server 0's store starts reading entry
   * 1 as term 2: server 0 believes it holds (1, term 2) and appends 'c' after its own 'a'.
   */
  function scenario(rot: boolean) {
    const sim = observedCluster(3, (id, checker) => new LyingState<string>(id, checker));
    const { cluster, checker, server } = sim;
    cluster.timeout(0);
    sim.deliverTo(1, 0);
    sim.deliverTo(0, 1);
    expect(server(0).role).toBe('leader');
    expect(server(0).propose('a')).toMatchObject({ type: 'appended', index: 1, term: 1 });
    sim.dropTo(1, 0);
    sim.dropTo(2, 0);

    cluster.timeout(1); // term 2
    sim.dropTo(0, 1);
    sim.exchange([1, 2]);
    expect(server(1).role).toBe('leader');
    expect(server(1).currentTerm).toBe(2);
    expect(server(1).propose('b')).toMatchObject({ type: 'appended', index: 1, term: 2 });
    sim.exchange([1, 2]);
    expect(server(1).propose('c')).toMatchObject({ type: 'appended', index: 2, term: 2 });
    sim.exchange([1, 2]);
    expect(server(1).volatileState.commitIndex).toBe(2);
    expect(checker.violation).toBeUndefined();

    if (rot) sim.store(0).entryLie = { index: 1, term: 2 };
    cluster.heartbeat(1);
    sim.exchange([0, 1, 2]);
    return sim;
  }

  it('is caught as logMatching: entry 2 of term 2 after a term-2 entry on one server, a term-1 entry on another', () => {
    const { checker, store } = scenario(true);
    expect(checker.violation?.invariant).toBe('logMatching');
    expect(checker.violation?.message).toContain('entry 2 of term 2');
    // What server 0 really holds: its own 'a' of term 1, then the leader's 'c'.
    const real = store(0).inner;
    expect([real.getLogEntry(1)?.data, real.getLogEntry(1)?.term, real.getLogEntry(2)?.data]).toEqual(['a', 1, 'c']);
  });

  it('control: with an honest store, server 0 replaces its entry and nothing is reported', () => {
    const { checker, store, server } = scenario(false);
    expect(checker.violation).toBeUndefined();
    const real = store(0).inner;
    expect([real.getLogEntry(1)?.data, real.getLogEntry(2)?.data]).toEqual(['b', 'c']);
    expect(server(0).volatileState.commitIndex).toBe(2);
  });
});
