import { InMemoryCluster, type Message, type Server } from '../../lib';
import { SafetyObserver, converged, electLeader, logOf, proposeOk, serverAt } from './helpers';

/** Counts the AppendEntries (and the entries they carry) that reach one Server object. */
function countAppendEntries<T>(server: Server<T>): { messages: number; withEntries: number; entries: number; prevIndexes: number[] } {
  const counts = { messages: 0, withEntries: 0, entries: 0, prevIndexes: [] as number[] };
  const original = server.processMessage.bind(server);
  server.processMessage = (message: Message<T>): void => {
    if (message.type === 'appendEntries') {
      counts.messages++;
      if (message.entries.length > 0) counts.withEntries++;
      counts.entries += message.entries.length;
      counts.prevIndexes.push(message.prevLogEntry.index);
    }
    original(message);
  };
  return counts;
}

describe('InMemoryCluster: replication', () => {
  it('five servers agree on 100 proposals: every committed(id) is the same 100 entries, indices 1..100 in order', () => {
    const cluster = InMemoryCluster.make<string>(5, { seed: 13 });
    const observer = new SafetyObserver(cluster);
    const leader = electLeader(cluster);
    for (let k = 1; k <= 100; k++) {
      expect(cluster.propose(`value-${k}`)).toEqual({ type: 'appended', index: k, term: leader.currentTerm });
      if (k % 7 === 0) cluster.advance(13);
    }
    // The leader commits as soon as a majority acknowledged, inside propose (immediate delivery).
    expect(leader.volatileState.commitIndex).toBe(100);
    cluster.advance(100); // followers learn the commit index from the next heartbeat
    for (const server of cluster.servers) {
      const committed = cluster.committed(server.id);
      expect(committed.map((e) => e.index)).toEqual([...Array(100).keys()].map((k) => k + 1));
      expect(committed.map((e) => e.data)).toEqual([...Array(100).keys()].map((k) => `value-${k + 1}`));
      expect(committed.every((e) => e.term === leader.currentTerm)).toBe(true);
      expect(server.volatileState).toEqual({ commitIndex: 100, lastApplied: 100 });
    }
    observer.check();
  });

  it('a follower that is not the proposer learns commitment without new proposals (heartbeats carry leaderCommitIndex)', () => {
    const cluster = InMemoryCluster.make<string>(3, { seed: 2 });
    const leader = electLeader(cluster);
    proposeOk(cluster, 'a');
    const followers = cluster.servers.filter((s) => s !== leader);
    expect(followers.every((f) => logOf(f).length === 1)).toBe(true);
    expect(followers.every((f) => cluster.committed(f.id).length === 0)).toBe(true);
    cluster.heartbeat(leader.id);
    expect(followers.every((f) => cluster.committed(f.id).length === 1)).toBe(true);
  });

  describe('a follower far behind catches up in a linear number of messages', () => {
    const total = 5_000;
    const batch = 100;

    it('while time stands still during the outage', () => {
      const cluster = InMemoryCluster.make<number>(3, { seed: 17, maxEntriesPerMessage: batch });
      const observer = new SafetyObserver(cluster);
      const leader = electLeader(cluster);
      const lagging = serverAt(cluster, (leader.id + 1) % 3);
      cluster.disconnect(lagging.id);
      for (let k = 0; k < total; k++) proposeOk(cluster, k);
      expect(leader.volatileState.commitIndex).toBe(total);
      expect(logOf(lagging)).toEqual([]);

      const counts = countAppendEntries(lagging);
      const deliveredBefore = cluster.network.deliveredCount;
      cluster.reconnect(lagging.id);
      expect(cluster.runUntil(() => logOf(lagging).length === total && lagging.volatileState.commitIndex === total, 2_000)).toBe(true);
      expect(logOf(lagging)).toEqual(logOf(leader));
      expect(cluster.committed(lagging.id)).toEqual(cluster.committed(leader.id));

      const bound = Math.ceil(1.2 * (total / batch)) + 10;
      expect(counts.messages).toBeLessThanOrEqual(bound);
      expect(counts.withEntries).toBeGreaterThanOrEqual(total / batch);
      expect(counts.entries).toBeLessThanOrEqual(1.2 * total + batch);
      // Requests and replies of the whole cluster during catch-up: also linear.
      expect(cluster.network.deliveredCount - deliveredBefore).toBeLessThanOrEqual(4 * bound);
      observer.check();
    });

    it('while the leader keeps heartbeating and the lagging server keeps timing out', () => {
      const cluster = InMemoryCluster.make<number>(3, { seed: 23, maxEntriesPerMessage: batch });
      const observer = new SafetyObserver(cluster);
      const leader = electLeader(cluster);
      const lagging = serverAt(cluster, (leader.id + 2) % 3);
      cluster.disconnect(lagging.id);
      for (let k = 0; k < total; k++) {
        proposeOk(cluster, k);
        if (k % 50 === 0) cluster.advance(10); // 1 s of outage in all
      }
      expect(lagging.currentTerm).toBeGreaterThan(leader.currentTerm); // it timed out, alone
      const counts = countAppendEntries(lagging);
      cluster.reconnect(lagging.id);
      expect(cluster.runUntil(() => converged(cluster) && cluster.leader() !== undefined, 5_000)).toBe(true);
      expect(logOf(lagging)).toHaveLength(total);
      expect(cluster.leader()?.id).not.toBe(lagging.id);

      expect(counts.messages).toBeLessThanOrEqual(Math.ceil(1.2 * (total / batch)) + 20);
      expect(counts.entries).toBeLessThanOrEqual(1.2 * total + 2 * batch);
      observer.check();
    });
  });

  it('a deposed leader with a long divergent tail is repaired in a few round trips, not one per entry', () => {
    const batch = 100;
    const cluster = InMemoryCluster.make<string>(5, { seed: 29, maxEntriesPerMessage: batch });
    const observer = new SafetyObserver(cluster);
    const old = electLeader(cluster);
    for (let k = 0; k < 10; k++) proposeOk(cluster, `shared-${k}`);
    cluster.heartbeat(old.id);
    cluster.partition([old.id], cluster.servers.map((s) => s.id).filter((id) => id !== old.id));
    for (let k = 0; k < 1_000; k++) old.propose(`stale-${k}`);
    expect(cluster.runUntil(() => cluster.leader() !== old && cluster.leader() !== undefined, 5_000)).toBe(true);
    for (let k = 0; k < 1_000; k++) proposeOk(cluster, `fresh-${k}`);
    cluster.advance(60);
    // One more election on the majority side, so that the leader that repairs the old one
    // starts probing at the end of its log (nextIndex 1,011): the first probe conflicts.
    const second = cluster.leader();
    const repairer = cluster.servers.find((s) => s !== old && s !== second);
    if (repairer === undefined || second === undefined) throw new Error('no servers');
    cluster.timeout(repairer.id);
    expect(cluster.leader()).toBe(repairer);
    expect(logOf(old)).toHaveLength(1_010);
    expect(logOf(repairer)).toHaveLength(1_010);
    expect(old.volatileState.commitIndex).toBe(10);

    const counts = countAppendEntries(old);
    cluster.heal();
    cluster.heartbeat(repairer.id);
    expect(old.role).toBe('follower');
    proposeOk(cluster, 'final');
    expect(cluster.runUntil(() => converged(cluster), 5_000)).toBe(true);
    // The first probe (after 1,010) fails; the hint sends the leader back past the whole stale stretch at once.
    expect(counts.prevIndexes[0]).toBe(1_010);
    expect(counts.prevIndexes[1]).toBeLessThanOrEqual(10);
    expect(logOf(old).slice(10, 1_010).every((e) => e.data.startsWith('fresh-'))).toBe(true);
    // 1,000 divergent entries to replace: ~10 messages of 100, a probe or two, a few heartbeats.
    expect(counts.messages).toBeLessThanOrEqual(Math.ceil(1.2 * (1_000 / batch)) + 10);
    expect(counts.entries).toBeLessThanOrEqual(1.2 * 1_000 + 2 * batch);
    observer.check();
  });

  it('an idle leader sends each follower one AppendEntries per heartbeatTimeout, not much more', () => {
    const cluster = InMemoryCluster.make<string>(3, { seed: 19, heartbeatTimeout: 50, electionTimeout: 150 });
    const leader = electLeader(cluster);
    const followers = cluster.servers.filter((s) => s !== leader);
    const counts = followers.map((f) => countAppendEntries(f));
    const term = leader.currentTerm;
    cluster.advance(10_000);
    expect(cluster.leader()).toBe(leader);
    expect(leader.currentTerm).toBe(term);
    for (const count of counts) {
      expect(count.messages).toBeGreaterThanOrEqual(199);
      expect(count.messages).toBeLessThanOrEqual(201);
    }
  });

  it('propose: a follower that knows the leader says forward; a candidate says delay', () => {
    const cluster = InMemoryCluster.make<string>(3, { seed: 2 });
    const leader = electLeader(cluster);
    const follower = cluster.servers.find((s) => s !== leader);
    if (follower === undefined) throw new Error('no follower');
    expect(follower.propose('x')).toEqual({ type: 'forward', leaderId: leader.id });
    expect(logOf(follower)).toEqual([]);
    cluster.disconnect(follower.id);
    cluster.timeout(follower.id);
    expect(follower.role).toBe('candidate');
    expect(follower.propose('x')).toEqual({ type: 'delay' });
    expect(logOf(follower)).toEqual([]);
  });

  describe('restart keeps term, vote and log', () => {
    it('a restarted follower has the same term, vote and log, an empty committed(id), and refills it from the leader', () => {
      const cluster = InMemoryCluster.make<string>(3, { seed: 31 });
      const observer = new SafetyObserver(cluster);
      const leader = electLeader(cluster);
      for (const data of ['a', 'b', 'c', 'd', 'e']) proposeOk(cluster, data);
      cluster.advance(100);
      const id = (leader.id + 1) % 3;
      const before = serverAt(cluster, id);
      expect(cluster.committed(id)).toHaveLength(5);
      const term = before.currentTerm;
      const votedFor = before.persistentState.votedFor;
      const log = logOf(before);
      const state = before.persistentState;

      cluster.crash(id);
      proposeOk(cluster, 'f'); // committed by the other two while it is down
      const restarted = observer.restart(id);
      expect(restarted).not.toBe(before);
      expect(restarted.id).toBe(id);
      expect(restarted.persistentState).toBe(state);
      expect(restarted.currentTerm).toBe(term);
      expect(restarted.persistentState.votedFor).toBe(votedFor);
      expect(logOf(restarted)).toEqual(log);
      expect(restarted.role).toBe('follower');
      expect(restarted.leaderId).toBeUndefined();
      expect(restarted.volatileState).toEqual({ commitIndex: 0, lastApplied: 0 });
      expect(cluster.committed(id)).toEqual([]);

      // The next AppendEntries from the leader refills committed(id) up to the leader's commit index.
      cluster.heartbeat(leader.id);
      expect(restarted.leaderId).toBe(leader.id);
      expect(cluster.committed(id)).toEqual(cluster.committed(leader.id));
      expect(cluster.committed(id).map((e) => e.data)).toEqual(['a', 'b', 'c', 'd', 'e', 'f']);
      proposeOk(cluster, 'g');
      cluster.heartbeat(leader.id);
      expect(cluster.committed(id).map((e) => e.data)).toEqual(['a', 'b', 'c', 'd', 'e', 'f', 'g']);
      observer.check();
    });

    it('a restarted leader keeps its term and its own vote, comes back as a follower, and converges', () => {
      const cluster = InMemoryCluster.make<string>(3, { seed: 37 });
      const observer = new SafetyObserver(cluster);
      const leader = electLeader(cluster);
      proposeOk(cluster, 'x');
      proposeOk(cluster, 'y');
      const term = leader.currentTerm;
      const log = logOf(leader);
      expect(leader.persistentState.votedFor).toBe(leader.id);

      const restarted = observer.restart(leader.id);
      expect(restarted.currentTerm).toBe(term);
      expect(restarted.persistentState.votedFor).toBe(leader.id);
      expect(logOf(restarted)).toEqual(log);
      expect(restarted.role).toBe('follower');
      expect(restarted.leaderState).toBeUndefined();
      expect(cluster.committed(leader.id)).toEqual([]);

      electLeader(cluster);
      proposeOk(cluster, 'z');
      expect(cluster.runUntil(() => converged(cluster), 2_000)).toBe(true);
      expect(cluster.committed(leader.id).map((e) => e.data)).toEqual(['x', 'y', 'z']);
      observer.check();
    });

    it('restarting every server at once loses nothing that was committed', () => {
      const cluster = InMemoryCluster.make<number>(5, { seed: 41 });
      const observer = new SafetyObserver(cluster);
      electLeader(cluster);
      for (let k = 0; k < 40; k++) proposeOk(cluster, k);
      const committed = cluster.committed(cluster.leader()?.id ?? -1).map((e) => e.data);
      expect(committed).toHaveLength(40);
      const terms = cluster.servers.map((s) => s.currentTerm);
      for (let id = 0; id < 5; id++) cluster.crash(id);
      expect(cluster.leader()).toBeUndefined();
      for (let id = 0; id < 5; id++) observer.restart(id);
      expect(cluster.servers.map((s) => s.currentTerm)).toEqual(terms);
      electLeader(cluster);
      proposeOk(cluster, 40);
      expect(cluster.runUntil(() => converged(cluster), 2_000)).toBe(true);
      for (let id = 0; id < 5; id++) {
        expect(cluster.committed(id).map((e) => e.data)).toEqual([...committed, 40]);
      }
      observer.check();
    });
  });
});
