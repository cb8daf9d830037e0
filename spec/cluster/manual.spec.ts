import {
  InMemoryCluster,
  InvalidArgumentError,
  RaftError,
  type AppendEntriesMessage,
  type RequestVoteMessage,
  type UndeliveredMessage,
} from '../../lib';
import { logOf, serverAt } from './helpers';

type Cluster = InMemoryCluster<string>;

function only<T>(items: readonly T[]): T {
  expect(items).toHaveLength(1);
  const item = items[0];
  if (item === undefined) throw new Error('empty');
  return item;
}

/** Everything observable about a cluster except the functions inside messages. */
function snapshot(cluster: Cluster): unknown {
  return {
    now: cluster.now,
    delivered: cluster.network.deliveredCount,
    dropped: cluster.network.droppedCount,
    servers: cluster.servers.map((s) => ({
      role: s.role,
      term: s.currentTerm,
      votedFor: s.persistentState.votedFor,
      leaderId: s.leaderId,
      volatile: s.volatileState,
      leaderState: s.leaderState,
      log: logOf(s),
      deadline: s.nextDeadline(),
    })),
    waiting: cluster.servers.map((s) =>
      cluster.network.undelivered(s.id).map(({ id, from, message }) => ({ id, from, message: JSON.stringify(message) })),
    ),
  };
}

function deliverAll(cluster: Cluster, to: number): void {
  for (const { id } of cluster.network.undelivered(to)) cluster.network.deliver(to, id);
}

describe("InMemoryCluster: 'manual' delivery", () => {
  it('nothing moves without deliver: a candidate\'s requests wait, with ids, sender and message', () => {
    const cluster = InMemoryCluster.make<string>(3, { delivery: 'manual', seed: 1 });
    expect(cluster.network.delivery).toBe('manual');
    cluster.timeout(0);
    const candidate = serverAt(cluster, 0);
    expect(candidate.role).toBe('candidate');
    expect(candidate.currentTerm).toBe(1);
    for (const to of [1, 2]) {
      const waiting = only(cluster.network.undelivered(to));
      expect(waiting.from).toBe(0);
      expect(Number.isInteger(waiting.id)).toBe(true);
      expect(waiting.message).toMatchObject({ type: 'requestVote', candidateTerm: 1, candidateId: 0, candidateLastLogEntry: { index: 0, term: 0 } });
      expect(typeof (waiting.message as RequestVoteMessage).replyChannel).toBe('function');
      expect(serverAt(cluster, to).currentTerm).toBe(0);
      expect(serverAt(cluster, to).persistentState.votedFor).toBeUndefined();
    }
    expect(cluster.network.undelivered(0)).toEqual([]);
    expect(cluster.network.deliveredCount).toBe(0);
    const ids = [1, 2].map((to) => only(cluster.network.undelivered(to)).id);
    expect(new Set(ids).size).toBe(2);
  });

  it('an election driven entirely by hand: timeout(0), deliver votes, deliver replies makes 0 leader', () => {
    const cluster = InMemoryCluster.make<string>(3, { delivery: 'manual', seed: 1 });
    const [s0, s1, s2] = [0, 1, 2].map((id) => serverAt(cluster, id));
    if (s0 === undefined || s1 === undefined || s2 === undefined) throw new Error('missing servers');
    cluster.timeout(0);

    // Deliver the request to 1: it votes, and its reply waits for 0.
    const request = only(cluster.network.undelivered(1));
    cluster.network.deliver(1, request.id);
    expect(cluster.network.deliveredCount).toBe(1);
    expect(cluster.network.undelivered(1)).toEqual([]);
    expect(s1.currentTerm).toBe(1);
    expect(s1.persistentState.votedFor).toBe(0);
    expect(s0.role).toBe('candidate'); // the reply has not arrived yet
    const reply = only(cluster.network.undelivered(0));
    expect(reply.from).toBe(1);
    expect(reply.id).toBeGreaterThan(request.id);
    expect(reply.message).toEqual({ type: 'requestVoteReply', reply: { voter: 1, voterTerm: 1, voteGranted: true } });

    cluster.network.deliver(0, reply.id);
    expect(s0.role).toBe('leader');
    expect(s0.leaderId).toBe(0);
    expect(cluster.leader()).toBe(s0);
    expect(s1.leaderId).toBeUndefined(); // no heartbeat delivered yet
    expect(s2.currentTerm).toBe(0);

    // The new leader's heartbeats wait for 1 and 2 (2 also still has the old request).
    const heartbeat = only(cluster.network.undelivered(1));
    expect(heartbeat.message).toMatchObject({ type: 'appendEntries', leaderTerm: 1, leaderId: 0, entries: [], prevLogEntry: { index: 0, term: 0 } });
    const forTwo = cluster.network.undelivered(2);
    expect(forTwo.map((m) => (m.message as { type: string }).type)).toEqual(['requestVote', 'appendEntries']);

    cluster.network.deliver(1, heartbeat.id);
    expect(s1.leaderId).toBe(0);
    const ack = only(cluster.network.undelivered(0));
    expect(ack.message).toEqual({ type: 'appendEntriesReply', reply: { follower: 1, followerTerm: 1, success: true, matchIndex: 0 } });
    cluster.network.deliver(0, ack.id);

    // A proposal is replicated only when delivered, and committed only when acknowledged.
    expect(cluster.propose('x')).toEqual({ type: 'appended', index: 1, term: 1 });
    expect(logOf(s1)).toEqual([]);
    const append = cluster.network.undelivered(1).find((m) => (m.message as AppendEntriesMessage<string>).entries?.length === 1);
    expect(append).toBeDefined();
    cluster.network.deliver(1, append?.id ?? -1);
    expect(logOf(s1)).toEqual([{ index: 1, term: 1, data: 'x' }]);
    expect(cluster.committed(0)).toEqual([]);
    deliverAll(cluster, 0);
    expect(cluster.committed(0)).toEqual([{ index: 1, term: 1, data: 'x' }]);
  });

  it('drop removes one message; the receiver never sees it', () => {
    const cluster = InMemoryCluster.make<string>(3, { delivery: 'manual', seed: 1 });
    cluster.timeout(0);
    const request = only(cluster.network.undelivered(2));
    cluster.network.drop(2, request.id);
    expect(cluster.network.undelivered(2)).toEqual([]);
    expect(cluster.network.droppedCount).toBe(1);
    expect(cluster.network.deliveredCount).toBe(0);
    expect(serverAt(cluster, 2).currentTerm).toBe(0);
    // It cannot be delivered or dropped again.
    expect(() => cluster.network.deliver(2, request.id)).toThrow(InvalidArgumentError);
    expect(() => cluster.network.drop(2, request.id)).toThrow(InvalidArgumentError);
    // The other request is untouched.
    expect(cluster.network.undelivered(1)).toHaveLength(1);
  });

  it('advance still runs timers: servers time out and campaign, but no message moves', () => {
    const cluster = InMemoryCluster.make<string>(3, { delivery: 'manual', seed: 5 });
    cluster.advance(149);
    expect(cluster.servers.every((s) => s.role === 'follower' && s.currentTerm === 0)).toBe(true);
    cluster.advance(1_000);
    expect(cluster.now).toBe(1_149);
    expect(cluster.servers.every((s) => s.role === 'candidate' && s.currentTerm >= 2)).toBe(true);
    expect(cluster.network.deliveredCount).toBe(0);
    expect(cluster.leader()).toBeUndefined();
    for (const server of cluster.servers) {
      const waiting = cluster.network.undelivered(server.id);
      expect(waiting.length).toBeGreaterThan(0);
      expect(waiting.every((m) => m.from !== server.id && (m.message as { type: string }).type === 'requestVote')).toBe(true);
      // Oldest first: ids grow.
      const ids = waiting.map((m) => m.id);
      expect([...ids].sort((a, b) => a - b)).toEqual(ids);
    }
    // runUntil also runs timers without delivering anything.
    const term = serverAt(cluster, 0).currentTerm;
    expect(cluster.runUntil(() => serverAt(cluster, 0).currentTerm > term, 1_000)).toBe(true);
    expect(cluster.network.deliveredCount).toBe(0);
  });

  it.each<[string, (cluster: Cluster, waiting: UndeliveredMessage<string>) => void]>([
    ['deliver with an unknown id', (c) => c.network.deliver(1, 999_999)],
    ['deliver to the wrong server', (c, w) => c.network.deliver(0, w.id)],
    ['deliver to a server outside the cluster', (c, w) => c.network.deliver(3, w.id)],
    ['drop with an unknown id', (c) => c.network.drop(1, 999_999)],
    ['drop to a server outside the cluster', (c, w) => c.network.drop(-1, w.id)],
  ])('%s throws InvalidArgumentError (a RaftError) and changes nothing', (_name, act) => {
    const cluster = InMemoryCluster.make<string>(3, { delivery: 'manual', seed: 1 });
    cluster.timeout(0);
    const waiting = only(cluster.network.undelivered(1));
    const before = snapshot(cluster);
    let error: unknown;
    try {
      act(cluster, waiting);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect(error).toBeInstanceOf(RaftError);
    expect(error).toBeInstanceOf(Error);
    expect(snapshot(cluster)).toEqual(before);
    // And the message is still deliverable.
    cluster.network.deliver(1, waiting.id);
    expect(serverAt(cluster, 1).persistentState.votedFor).toBe(0);
  });

  it('undelivered() of a server outside the cluster throws InvalidArgumentError', () => {
    const cluster = InMemoryCluster.make<string>(3, { delivery: 'manual' });
    expect(() => cluster.network.undelivered(3)).toThrow(InvalidArgumentError);
    expect(() => cluster.network.undelivered(-1)).toThrow(InvalidArgumentError);
    expect(() => cluster.network.undelivered(0.5)).toThrow(InvalidArgumentError);
  });

  it('a vote granted in an older term, delivered after the candidate started a new election, does not count', () => {
    const cluster = InMemoryCluster.make<string>(3, { delivery: 'manual', seed: 1 });
    cluster.timeout(0);
    deliverAll(cluster, 1);
    const lateVote = only(cluster.network.undelivered(0));
    expect(lateVote.message).toEqual({ type: 'requestVoteReply', reply: { voter: 1, voterTerm: 1, voteGranted: true } });
    cluster.timeout(0); // a second election, term 2
    expect(serverAt(cluster, 0).currentTerm).toBe(2);
    cluster.network.deliver(0, lateVote.id);
    expect(serverAt(cluster, 0).role).toBe('candidate');
    expect(serverAt(cluster, 0).currentTerm).toBe(2);
    // The vote of term 2 does count.
    const fresh = cluster.network.undelivered(1).find((m) => (m.message as RequestVoteMessage).candidateTerm === 2);
    cluster.network.deliver(1, fresh?.id ?? -1);
    deliverAll(cluster, 0);
    expect(serverAt(cluster, 0).role).toBe('leader');
  });

  it('vote replies delivered out of order, and a surplus vote after winning, are harmless', () => {
    const cluster = InMemoryCluster.make<string>(3, { delivery: 'manual', seed: 1 });
    cluster.timeout(0);
    deliverAll(cluster, 1);
    deliverAll(cluster, 2);
    // Two granted votes wait for 0; deliver the second one first.
    const replies = cluster.network.undelivered(0);
    expect(replies).toHaveLength(2);
    cluster.network.deliver(0, replies[1]?.id ?? -1);
    expect(serverAt(cluster, 0).role).toBe('leader');
    cluster.network.deliver(0, replies[0]?.id ?? -1);
    expect(serverAt(cluster, 0).role).toBe('leader');
    expect(serverAt(cluster, 0).currentTerm).toBe(1);
  });

  describe('crash and disconnection in manual mode', () => {
    it('crash empties every undelivered list of messages to and from the crashed server', () => {
      const cluster = InMemoryCluster.make<string>(3, { delivery: 'manual', seed: 1 });
      cluster.timeout(0); // 0 -> 1, 0 -> 2
      cluster.network.deliver(1, only(cluster.network.undelivered(1)).id); // reply 1 -> 0 waits
      cluster.timeout(2); // 2 -> 0, 2 -> 1 (term 1 for 2 too)
      expect(cluster.network.undelivered(0).map((m) => m.from).sort()).toEqual([1, 2]);
      expect(cluster.network.undelivered(1).map((m) => m.from)).toEqual([2]);
      expect(cluster.network.undelivered(2).map((m) => m.from)).toEqual([0]);
      const dropped = cluster.network.droppedCount;

      cluster.crash(0);
      expect(cluster.network.undelivered(0)).toEqual([]);
      expect(cluster.network.undelivered(1).map((m) => m.from)).toEqual([2]);
      expect(cluster.network.undelivered(2)).toEqual([]);
      expect(cluster.network.droppedCount).toBe(dropped + 3);

      // A crashed server sends nothing and receives nothing.
      cluster.timeout(0);
      expect(serverAt(cluster, 0).currentTerm).toBe(1);
      cluster.timeout(1);
      expect(cluster.network.undelivered(0)).toEqual([]);
      expect(cluster.network.undelivered(2)).toHaveLength(1);

      // Restarting does not bring the lost messages back.
      cluster.restart(0);
      expect(cluster.network.undelivered(0)).toEqual([]);
    });

    it('a message waiting for a server that crashes meanwhile is gone; restart does not revive it', () => {
      const cluster = InMemoryCluster.make<string>(3, { delivery: 'manual', seed: 1 });
      cluster.timeout(0);
      const waiting = only(cluster.network.undelivered(1));
      cluster.crash(1);
      expect(() => cluster.network.deliver(1, waiting.id)).toThrow(InvalidArgumentError);
      cluster.restart(1);
      expect(cluster.network.undelivered(1)).toEqual([]);
      expect(serverAt(cluster, 1).currentTerm).toBe(0);
    });

    it('messages to a disconnected server are lost at sending time', () => {
      const cluster = InMemoryCluster.make<string>(3, { delivery: 'manual', seed: 1 });
      cluster.disconnect(2);
      cluster.timeout(0);
      expect(cluster.network.undelivered(2)).toEqual([]);
      expect(cluster.network.undelivered(1)).toHaveLength(1);
      expect(cluster.network.droppedCount).toBe(1);
      cluster.reconnect(2);
      expect(cluster.network.undelivered(2)).toEqual([]);
    });

    it('a message waiting while its link is cut is lost on delivery: the receiver never sees it', () => {
      const cluster = InMemoryCluster.make<string>(3, { delivery: 'manual', seed: 1 });
      cluster.timeout(0);
      const waiting = only(cluster.network.undelivered(2));
      cluster.disconnect(2);
      const dropped = cluster.network.droppedCount;
      cluster.network.deliver(2, waiting.id);
      expect(serverAt(cluster, 2).currentTerm).toBe(0);
      expect(cluster.network.undelivered(2)).toEqual([]);
      expect(cluster.network.undelivered(0)).toEqual([]);
      expect(cluster.network.droppedCount).toBe(dropped + 1);
      expect(cluster.network.deliveredCount).toBe(0);
    });

    it('a partition cuts waiting messages across groups, not within them', () => {
      const cluster = InMemoryCluster.make<string>(3, { delivery: 'manual', seed: 1 });
      cluster.timeout(0);
      cluster.partition([0, 1], [2]);
      cluster.network.deliver(2, only(cluster.network.undelivered(2)).id);
      expect(serverAt(cluster, 2).currentTerm).toBe(0);
      cluster.network.deliver(1, only(cluster.network.undelivered(1)).id);
      expect(serverAt(cluster, 1).currentTerm).toBe(1);
      expect(cluster.network.undelivered(0)).toHaveLength(1);
    });
  });
});
