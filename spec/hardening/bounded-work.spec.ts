// Hardening: bounded work per call.
//
// maxCommittedEntriesPerEvent: N (default Infinity): no `committed` event carries more than
// N entries. When more are committed at once, the rest come in later calls; meanwhile
// `nextDeadline()` is the clock's now (while lastApplied < commitIndex), so a host that
// ticks at its deadlines drains the backlog in bounded steps, in order, each index once.
//
// maxUncommittedBytes: B (default Infinity): a proposal that would put more than B bytes
// (by entrySize) of uncommitted data in a leader's log throws ProposalRefusedError (reason
// 'uncommittedLimit') and appends nothing; a leader with nothing uncommitted always
// accepts one proposal, however large; after entries commit it accepts again.
//
// InMemoryClusterOptions does not pass these options through, so the cluster case uses
// Servers built directly (MiniCluster).

import { InMemoryCluster, ProposalRefusedError, RaftError, type AppendEntriesReply, type LogEntry, type Server } from '../../lib';
import { ack, appendEntries, MiniCluster, run, Solo, storeWith, type Data } from './helpers';

/** Records every committed event of a server. */
function recordEvents(server: Server<Data>): LogEntry<Data>[][] {
  const events: LogEntry<Data>[][] = [];
  server.on('committed', (entries) => void events.push([...entries]));
  return events;
}

/** Checks that the events carry 1..last, in order, each index once, in events of at most `max`. */
function expectOrderedBatches(events: LogEntry<Data>[][], last: number, max: number): void {
  expect(Math.max(0, ...events.map((e) => e.length))).toBeLessThanOrEqual(max);
  const indexes = events.flat().map((e) => e.index);
  expect(indexes.length).toBe(last);
  expect(indexes.every((index, k) => index === k + 1)).toBe(true);
}

describe('maxCommittedEntriesPerEvent', () => {
  it('a restarted follower told of a long committed log applies it in events of <= N, draining with tick()', () => {
    const solo = new Solo(1, 3, storeWith(run(1, 5000), 1), { maxCommittedEntriesPerEvent: 100, electionTimeout: 1000, heartbeatTimeout: 50 });
    const events = recordEvents(solo.server);
    const replies: AppendEntriesReply[] = [];
    solo.server.processMessage(appendEntries({ term: 1, leaderId: 0, prev: { index: 5000, term: 1 }, commit: 5000 }, replies));
    expect(replies).toEqual([{ follower: 1, followerTerm: 1, success: true, matchIndex: 5000 }]);
    expect(solo.server.volatileState.commitIndex).toBe(5000);
    expect(Math.max(0, ...events.map((e) => e.length))).toBeLessThanOrEqual(100);
    let ticks = 0;
    while (solo.server.volatileState.lastApplied < solo.server.volatileState.commitIndex) {
      expect(solo.server.nextDeadline()).toBe(solo.now);
      if (++ticks > 1000) throw new Error('the backlog does not drain');
      solo.server.tick();
    }
    expectOrderedBatches(events, 5000, 100);
    expect(solo.server.volatileState.lastApplied).toBe(5000);
    expect(solo.server.nextDeadline()).toBeGreaterThan(solo.now); // back to the election timer
    expect(solo.server.role).toBe('follower');
    expect(ticks).toBeGreaterThanOrEqual(49);
  });

  it('a restarted cluster of one commits a long log in events of <= N, in order, each index once', () => {
    const solo = new Solo(0, 1, storeWith(run(1, 5000), 1), { maxCommittedEntriesPerEvent: 100 });
    const events = recordEvents(solo.server);
    solo.server.triggerTimeout();
    expect(solo.server.role).toBe('leader');
    solo.server.propose('x'); // an entry of its own term commits everything before it
    expect(solo.server.volatileState.commitIndex).toBe(5001);
    for (let ticks = 0; solo.server.volatileState.lastApplied < 5001; ticks++) {
      expect(solo.server.nextDeadline()).toBe(solo.now);
      if (ticks > 1000) throw new Error('the backlog does not drain');
      solo.server.tick();
    }
    expectOrderedBatches(events, 5001, 100);
  });

  it('a cluster of restarted servers eventually applies everything, in events of <= N', () => {
    const stores = [0, 1, 2].map(() => storeWith(run(1, 2000), 1));
    const cluster = new MiniCluster(3, { maxCommittedEntriesPerEvent: 100 }, stores, 7);
    expect(cluster.runUntil(() => cluster.leader() !== undefined, 10_000)).toBe(true);
    (cluster.leader() as Server<Data>).propose('x');
    cluster.drain();
    expect(cluster.runUntil(() => cluster.servers.every((s) => s.volatileState.lastApplied === 2001), 10_000)).toBe(true);
    for (const server of cluster.servers) expectOrderedBatches(cluster.events[server.id] as LogEntry<Data>[][], 2001, 100);
  });

  it('by default (Infinity) one event carries everything committed at once (Part 1 behaviour)', () => {
    const solo = new Solo(1, 3, storeWith(run(1, 5000), 1));
    const events = recordEvents(solo.server);
    solo.server.processMessage(appendEntries({ term: 1, leaderId: 0, prev: { index: 5000, term: 1 }, commit: 5000 }, []));
    expect(events.map((e) => e.length)).toEqual([5000]);
  });
});

describe('maxUncommittedBytes', () => {
  function leaderWithLimit(limit?: number): Solo {
    const solo = new Solo(0, 3, undefined, { electionTimeout: 1000, heartbeatTimeout: 50, ...(limit === undefined ? {} : { maxUncommittedBytes: limit }) });
    solo.elect([1]);
    for (const { to, message } of solo.takeAppendEntries()) ack(to, message);
    return solo;
  }

  function refused(action: () => unknown): ProposalRefusedError {
    try {
      action();
    } catch (error) {
      if (error instanceof ProposalRefusedError) return error;
      throw error;
    }
    throw new Error('expected ProposalRefusedError, but the proposal was accepted');
  }

  it('a leader with nothing uncommitted accepts one proposal even if larger than the limit', () => {
    const solo = leaderWithLimit(10);
    expect(solo.server.propose('x'.repeat(50))).toMatchObject({ type: 'appended', index: 1 });
  });

  it('at the limit, propose and proposeAll throw ProposalRefusedError and append nothing', () => {
    const solo = leaderWithLimit(10);
    solo.server.propose('x'.repeat(12)); // 12 bytes uncommitted: at (past) the limit
    solo.take();
    const error = refused(() => solo.server.propose('y'));
    expect(error).toBeInstanceOf(RaftError);
    expect(error.reason).toBe('uncommittedLimit');
    expect(refused(() => solo.server.proposeAll(['z'])).reason).toBe('uncommittedLimit');
    expect(solo.state.currentLogIndex).toBe(1);
    expect(solo.take()).toEqual([]); // nothing replicated either
  });

  it('a proposal that would go past the limit is refused whole (proposeAll appends none of the batch)', () => {
    const solo = leaderWithLimit(10);
    expect(solo.server.propose('aa')).toMatchObject({ type: 'appended' });
    expect(solo.server.propose('bb')).toMatchObject({ type: 'appended' }); // 4 bytes: within the limit
    expect(refused(() => solo.server.proposeAll(['ccccccccc', 'd'])).reason).toBe('uncommittedLimit'); // 4 + 10 > 10
    expect(solo.state.currentLogIndex).toBe(2);
  });

  it('once the entries commit, the leader accepts again', () => {
    const solo = leaderWithLimit(10);
    solo.server.propose('x'.repeat(12));
    const sent = solo.takeAppendEntries();
    refused(() => solo.server.propose('y'));
    for (const { to, message } of sent) if (to === 1) ack(to, message); // a majority holds entry 1
    expect(solo.server.volatileState.commitIndex).toBe(1);
    expect(solo.server.propose('y')).toMatchObject({ type: 'appended', index: 2 });
  });

  it('a deposed leader partitioned away stops growing its log once at the limit', () => {
    const cluster = new MiniCluster(3, { maxUncommittedBytes: 10, electionTimeout: 150, heartbeatTimeout: 50 }, undefined, 3);
    expect(cluster.runUntil(() => cluster.leader() !== undefined, 10_000)).toBe(true);
    const old = cluster.leader() as Server<Data>;
    old.propose('ok');
    cluster.advance(100);
    expect(old.volatileState.commitIndex).toBe(1);
    cluster.isolated.add(old.id);
    const lengthAtCut = old.persistentState.currentLogIndex;
    let refusals = 0;
    for (let round = 0; round < 50; round++) {
      if (old.role === 'leader') {
        try {
          old.propose('zz');
        } catch (error) {
          if (!(error instanceof ProposalRefusedError)) throw error;
          refusals++;
        }
      }
      cluster.advance(50);
    }
    expect(cluster.servers.some((s) => s.id !== old.id && s.role === 'leader' && s.currentTerm > old.currentTerm)).toBe(true);
    // 2 bytes per proposal, 10 allowed: at most 5 (6 if the last one only reaches the limit) appended.
    expect(old.persistentState.currentLogIndex - lengthAtCut).toBeLessThanOrEqual(6);
    expect(refusals).toBeGreaterThan(0);
  });

  it('by default (Infinity) a leader accepts any amount of uncommitted data (Part 1 behaviour)', () => {
    const solo = leaderWithLimit();
    for (let k = 0; k < 1000; k++) solo.server.propose('x'.repeat(100));
    expect(solo.state.currentLogIndex).toBe(1000);
  });
});

describe('InMemoryCluster passes the bounds through', () => {
  it('maxCommittedEntriesPerEvent and maxUncommittedBytes reach every server', () => {
    const cluster = InMemoryCluster.make<string>(3, { seed: 4, maxCommittedEntriesPerEvent: 7, maxUncommittedBytes: 10 });
    cluster.runUntil(() => cluster.leader() !== undefined, 10_000);
    const leader = cluster.leader()!;
    const sizes: number[] = [];
    for (const server of cluster.servers) server.on('committed', (entries) => sizes.push(entries.length));
    cluster.partition([leader.id], cluster.servers.filter((s) => s.id !== leader.id).map((s) => s.id));
    expect(leader.proposeAll(['0123456789']).type).toBe('appended');
    expect(() => leader.propose('x')).toThrow(ProposalRefusedError);
    cluster.heal();
    cluster.advance(200);
    expect(leader.proposeAll(Array.from({ length: 30 }, () => 'y')).type).toBe('appended');
    cluster.advance(500);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(7);
    for (const server of cluster.servers) expect(cluster.committed(server.id)).toHaveLength(31);
  });
});
