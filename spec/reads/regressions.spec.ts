// Bugs found while writing the read tests (SPEC Part 2, "Linearizable reads"), fixed since.
// Each test states the rule it checks; all four failed against commit 792ff30 (the first
// one now expects a loud refusal: a store without appendEntries cannot hold a no-op):
//  1. a follower whose store lacks the optional appendEntries stores a leader's no-op through
//     appendToLog (the kind is lost) and then hands it to `committed` listeners and
//     stateMachine.apply as data `undefined`;
//  2. lease mode: after transferLeadership sent timeoutNow, the new leader wins with votes
//     check-quorum lets through (leadershipTransfer), commits a write, and the old leader,
//     its lease still holding, answers `ready` at an index below that write (stale read);
//  3. lease mode: followers that restart forget the leader's lease and grant votes at once,
//     so a new leader commits while the old one still answers lease reads (stale read);
//  4. InMemoryCluster.readIndex with no leader calls onDone directly: what it throws leaves
//     as the raw error, where Server.readIndex throws a ListenerError.

import { InMemoryPersistentState, ListenerError, type AppendEntriesReply, type IPersistentState, type LogEntry, type ServerId, type Term } from '../../lib';
import { ListMachine } from '../compaction/helpers';
import { Solo, appendEntries, type Data } from '../hardening/helpers';
import { makeCluster } from '../stability/helpers';
import { readOn, runManual } from './helpers';

/** A store with only the required methods of IPersistentState (no appendEntries, getLogEntries, compaction). */
class MinimalStore implements IPersistentState<Data> {
  readonly #inner = new InMemoryPersistentState<Data>();
  get currentTerm(): Term {
    return this.#inner.currentTerm;
  }
  get votedFor(): ServerId | undefined {
    return this.#inner.votedFor;
  }
  get currentLogIndex(): number {
    return this.#inner.currentLogIndex;
  }
  advanceToTerm(term: Term): void {
    this.#inner.advanceToTerm(term);
  }
  incrementTerm(): void {
    this.#inner.incrementTerm();
  }
  vote(candidate: ServerId): void {
    this.#inner.vote(candidate);
  }
  getLogEntry(index: number): LogEntry<Data> | undefined {
    return this.#inner.getLogEntry(index);
  }
  getLastLogEntry(): LogEntry<Data> | undefined {
    return this.#inner.getLastLogEntry();
  }
  appendToLog(data: Data, term: Term): void {
    this.#inner.appendToLog(data, term);
  }
  truncateLog(finalIndex: number): void {
    this.#inner.truncateLog(finalIndex);
  }
}

describe('read regressions', () => {
  test("a follower whose store has no appendEntries refuses a leader's no-op loudly (InvalidArgumentError) rather than applying it as data", () => {
    const machine = new ListMachine();
    const solo = new Solo(1, 3, new MinimalStore(), { stateMachine: machine });
    const committed: LogEntry<Data>[] = [];
    solo.server.on('committed', (es) => committed.push(...es));
    const replies: AppendEntriesReply[] = [];
    const deliver = (): void =>
      solo.server.processMessage(
        appendEntries(
          {
            term: 2,
            leaderId: 0,
            prev: { index: 0, term: 0 },
            entries: [
              { index: 1, term: 2, data: undefined as unknown as Data, kind: 'noop' },
              { index: 2, term: 2, data: 'a' },
            ],
            commit: 2,
          },
          replies,
        ),
      );
    // appendToLog cannot carry the kind: storing the no-op as data would apply it (it did, before).
    expect(deliver).toThrow(/appendEntries to hold the no-op/);
    expect(solo.server.persistentState.currentLogIndex).toBe(0);
    expect(replies).toEqual([]);
    expect(committed).toEqual([]);
    expect(machine.applied).toEqual([]);
  });

  test('lease mode: a leader that handed leadership over (timeoutNow sent) answers no stale read from its lease', () => {
    const cluster = makeCluster(3, { seed: 41, delivery: 'manual', checkQuorum: true, readMode: 'lease' });
    expect(runManual(cluster, () => cluster.leader() !== undefined)).toBe(true);
    const old = cluster.leader() as NonNullable<ReturnType<typeof cluster.leader>>;
    const first = readOn(old);
    expect(runManual(cluster, () => first.ready, 100)).toBe(true);
    expect(old.propose('a')).toMatchObject({ type: 'appended', index: 2 });
    expect(runManual(cluster, () => cluster.servers.every((s) => s.volatileState.commitIndex === 2), 100)).toBe(true);
    const [target, third] = cluster.servers.map((s) => s.id).filter((id) => id !== old.id) as [number, number];

    // The old leader hands over to `target`; from now on nothing reaches the old leader.
    expect(old.transferLeadership(target)).toEqual({ type: 'started' });
    const deliverAvoidingOld = (): void => {
      for (;;) {
        const next = cluster.network.allUndelivered()[0];
        if (next === undefined) return;
        if (next.to === old.id) cluster.network.drop(next.to, next.id);
        else cluster.network.deliver(next.to, next.id);
      }
    };
    deliverAvoidingOld();
    const fresh = cluster.servers[target] as NonNullable<ReturnType<typeof cluster.leader>>;
    expect(fresh.role).toBe('leader');
    expect(fresh.currentTerm).toBeGreaterThan(old.currentTerm);
    expect(fresh.propose('b')).toMatchObject({ type: 'appended', index: 3 });
    deliverAvoidingOld();
    expect(fresh.volatileState.commitIndex).toBe(3); // 'b' is committed (target and third hold it)
    expect((cluster.servers[third] as { persistentState: IPersistentState<Data> }).persistentState.currentLogIndex).toBe(3);

    // No time has passed: the old leader's lease (answers to messages sent at this very time) still holds.
    expect(old.role).toBe('leader');
    const read = readOn(old);
    // A read that starts after the write of 'b' completed must see it: `ready` at an index below 3 is stale.
    const result = read.result;
    if (result?.type === 'ready') expect(result.index).toBeGreaterThanOrEqual(3);
  });
});

describe('read regressions (lease and restarts)', () => {
  test('lease mode: followers that restart inside the leader\'s lease do not let a new leader commit while the old one serves lease reads', () => {
    const cluster = makeCluster(5, { seed: 42, checkQuorum: true, readMode: 'lease' });
    expect(cluster.runUntil(() => cluster.leader() !== undefined, 10_000)).toBe(true);
    const old = cluster.leader() as NonNullable<ReturnType<typeof cluster.leader>>;
    const first = readOn(old);
    cluster.advance(1);
    expect(first.ready).toBe(true);
    expect(old.propose('a')).toMatchObject({ type: 'appended', index: 2 });
    cluster.advance(1);
    const [a, b, c, d] = cluster.servers.map((s) => s.id).filter((id) => id !== old.id) as [number, number, number, number];
    // c and d lose the leader; a and b keep answering it (its lease: itself, a and b).
    cluster.partition([old.id, a, b], [c, d]);
    cluster.advance(20);
    // The leader is cut off from everybody; a and b restart at once (a crash and a quick reboot).
    cluster.partition([old.id], [a, b, c, d]);
    cluster.crash(a);
    cluster.restart(a);
    cluster.crash(b);
    cluster.restart(b);
    cluster.timeout(c); // c runs for leader, within the old leader's lease
    cluster.advance(1);
    const fresh = cluster.leader();
    const newLeader = fresh !== undefined && fresh.id !== old.id ? fresh : undefined;
    if (newLeader !== undefined) {
      expect(newLeader.propose('b')).toMatchObject({ type: 'appended' });
      cluster.advance(1);
    }
    const written = newLeader?.volatileState.commitIndex ?? 0;
    expect(old.role).toBe('leader');
    const read = readOn(old);
    const result = read.result;
    // Either no new leader could win inside the lease, or the old leader does not answer ready below its writes.
    if (result?.type === 'ready') expect(result.index).toBeGreaterThanOrEqual(written);
  });
});

describe('read regressions (cluster.readIndex)', () => {
  test('cluster.readIndex with no leader: an onDone that throws surfaces as a ListenerError, as from Server.readIndex', () => {
    const cluster = makeCluster(3, { seed: 43 });
    const boom = new Error('boom');
    // Server.readIndex on a server without leader: ListenerError carrying the error.
    let fromServer: unknown;
    try {
      (cluster.servers[0] as NonNullable<ReturnType<typeof cluster.leader>>).readIndex(() => {
        throw boom;
      });
    } catch (e) {
      fromServer = e;
    }
    expect(fromServer).toBeInstanceOf(ListenerError);
    // The cluster's readIndex with no leader calls onDone itself: the same failure should look the same.
    let fromCluster: unknown;
    try {
      cluster.readIndex(() => {
        throw boom;
      });
    } catch (e) {
      fromCluster = e;
    }
    expect(fromCluster).toBeInstanceOf(ListenerError);
    expect((fromCluster as ListenerError).errors).toEqual([boom]);
  });
});
