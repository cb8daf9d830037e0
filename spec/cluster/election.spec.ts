import { InMemoryCluster } from '../../lib';
import { SafetyObserver, converged, electLeader, logOf, proposeOk, serverAt } from './helpers';

describe('InMemoryCluster: elections', () => {
  describe.each([3, 5])('first election in a cluster of %i', (size) => {
    it.each([1, 2, 3, 42])('elects exactly one leader that every other server follows, in one term (seed %i)', (seed) => {
      const cluster = InMemoryCluster.make<string>(size, { seed });
      const observer = new SafetyObserver(cluster);
      expect(cluster.leader()).toBeUndefined();
      const leader = electLeader(cluster);

      const leaders = cluster.servers.filter((s) => s.role === 'leader');
      expect(leaders).toEqual([leader]);
      expect(leader.currentTerm).toBeGreaterThanOrEqual(1);
      expect(leader.leaderId).toBe(leader.id);
      for (const server of cluster.servers) {
        if (server === leader) continue;
        expect(server.role).toBe('follower');
        expect(server.leaderId).toBe(leader.id);
        expect(server.currentTerm).toBe(leader.currentTerm);
      }

      // An idle, healthy cluster keeps its leader: heartbeats (50 ms) beat election timeouts (>= 150 ms).
      const term = leader.currentTerm;
      cluster.advance(5_000);
      expect(cluster.leader()).toBe(leader);
      expect(cluster.servers.every((s) => s.currentTerm === term && s.leaderId === leader.id)).toBe(true);
      observer.check();
    });
  });

  it('no election happens before the shortest election timeout', () => {
    const cluster = InMemoryCluster.make<string>(3, { seed: 9, electionTimeout: 150 });
    cluster.advance(149);
    expect(cluster.servers.every((s) => s.role === 'follower' && s.currentTerm === 0)).toBe(true);
    expect(cluster.leader()).toBeUndefined();
  });

  it('a single-server cluster elects itself on its first timeout and commits a proposal at once', () => {
    const cluster = InMemoryCluster.make<string>(1, { seed: 3 });
    const server = serverAt(cluster, 0);
    expect(cluster.propose('too early')).toEqual({ type: 'delay' });
    const leader = electLeader(cluster, 1_000);
    expect(leader).toBe(server);
    expect(server.currentTerm).toBe(1);
    expect(cluster.now).toBeGreaterThanOrEqual(150);
    expect(cluster.now).toBeLessThan(300);

    expect(cluster.propose('a')).toEqual({ type: 'appended', index: 1, term: 1 });
    expect(cluster.committed(0)).toEqual([{ index: 1, term: 1, data: 'a' }]);
    expect(server.volatileState).toEqual({ commitIndex: 1, lastApplied: 1 });
    proposeOk(cluster, 'b');
    expect(cluster.committed(0).map((e) => e.data)).toEqual(['a', 'b']);
  });

  it('a single server triggered by hand also leads and commits synchronously', () => {
    const cluster = InMemoryCluster.make<number>(1);
    cluster.timeout(0);
    expect(serverAt(cluster, 0).role).toBe('leader');
    expect(cluster.now).toBe(0);
    for (let k = 1; k <= 10; k++) expect(cluster.propose(k)).toEqual({ type: 'appended', index: k, term: 1 });
    expect(cluster.committed(0).map((e) => e.index)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  });

  describe.each([3, 5])('re-election after the leader crashes (%i servers)', (size) => {
    it('elects a new leader holding every committed entry; the restarted old leader catches up and commits the same entries', () => {
      const cluster = InMemoryCluster.make<string>(size, { seed: 11 });
      const observer = new SafetyObserver(cluster);
      const first = electLeader(cluster);
      for (let k = 0; k < 20; k++) proposeOk(cluster, `before-${k}`);
      cluster.advance(100); // followers learn the commit index
      const committedBefore = [...cluster.committed(first.id)];
      expect(committedBefore).toHaveLength(20);

      const oldId = first.id;
      const oldTerm = first.currentTerm;
      cluster.crash(oldId);
      expect(cluster.isRunning(oldId)).toBe(false);
      expect(cluster.leader()).toBeUndefined(); // a crashed leader is not "the leader"

      const second = electLeader(cluster);
      expect(second.id).not.toBe(oldId);
      expect(second.currentTerm).toBeGreaterThan(oldTerm);
      expect(logOf(second).slice(0, 20)).toEqual(committedBefore);

      // A new leader appends nothing of its own: it commits the old entries with its first proposal.
      const { index } = proposeOk(cluster, 'after-0');
      expect(index).toBe(21);
      for (let k = 1; k < 5; k++) proposeOk(cluster, `after-${k}`);
      cluster.advance(100);
      expect(cluster.committed(second.id).map((e) => e.data)).toEqual([
        ...committedBefore.map((e) => e.data),
        'after-0', 'after-1', 'after-2', 'after-3', 'after-4',
      ]);

      const restarted = observer.restart(oldId);
      expect(restarted).not.toBe(first);
      expect(cluster.committed(oldId)).toEqual([]);
      expect(cluster.runUntil(() => converged(cluster), 2_000)).toBe(true);
      expect(restarted.role).toBe('follower');
      expect(restarted.leaderId).toBe(second.id);
      for (const server of cluster.servers) {
        expect(cluster.committed(server.id)).toEqual(cluster.committed(second.id));
      }
      expect(cluster.committed(oldId)).toHaveLength(25);
      observer.check();
    });
  });

  it('repeated leader crashes: every new leader has every committed entry', () => {
    const cluster = InMemoryCluster.make<number>(5, { seed: 5 });
    const observer = new SafetyObserver(cluster);
    let next = 0;
    for (let round = 0; round < 6; round++) {
      const leader = electLeader(cluster);
      for (let k = 0; k < 5; k++) proposeOk(cluster, next++);
      cluster.advance(60);
      cluster.crash(leader.id);
      cluster.advance(50);
      observer.restart(leader.id);
    }
    electLeader(cluster);
    proposeOk(cluster, next++);
    expect(cluster.runUntil(() => converged(cluster), 3_000)).toBe(true);
    const data = cluster.committed(0).map((e) => e.data);
    expect(data).toEqual([...Array(next).keys()]);
    observer.check();
  });

  it('timeout() on a leader and heartbeat() on a follower are ignored', () => {
    const cluster = InMemoryCluster.make<string>(3, { seed: 14 });
    const leader = electLeader(cluster);
    const term = leader.currentTerm;
    cluster.timeout(leader.id);
    expect(leader.role).toBe('leader');
    expect(leader.currentTerm).toBe(term);
    const follower = cluster.servers.find((s) => s !== leader);
    if (follower === undefined) throw new Error('no follower');
    const delivered = cluster.network.deliveredCount;
    cluster.heartbeat(follower.id);
    expect(cluster.network.deliveredCount).toBe(delivered);
    expect(follower.role).toBe('follower');
  });

  it('timeout() on a follower starts an election it wins with an up-to-date log, in a higher term', () => {
    const cluster = InMemoryCluster.make<string>(3, { seed: 14 });
    const first = electLeader(cluster);
    proposeOk(cluster, 'a');
    const other = cluster.servers.find((s) => s !== first);
    if (other === undefined) throw new Error('no follower');
    const oldTerm = first.currentTerm;
    cluster.timeout(other.id);
    expect(other.role).toBe('leader');
    expect(other.currentTerm).toBe(oldTerm + 1);
    expect(first.currentTerm).toBe(oldTerm + 1);
    expect(first.role).toBe('follower');
    expect(first.leaderId).toBe(other.id);
  });

  describe('leader()', () => {
    it('returns the running leader with the highest term when a deposed leader still believes it leads', () => {
      const cluster = InMemoryCluster.make<string>(5, { seed: 21 });
      const old = electLeader(cluster);
      const others = cluster.servers.map((s) => s.id).filter((id) => id !== old.id);
      cluster.partition([old.id], others);
      expect(cluster.runUntil(() => cluster.servers.some((s) => s !== old && s.role === 'leader'), 5_000)).toBe(true);
      const fresh = cluster.servers.find((s) => s !== old && s.role === 'leader');
      expect(fresh).toBeDefined();
      expect(old.role).toBe('leader'); // it has heard of no later term
      expect(fresh?.currentTerm).toBeGreaterThan(old.currentTerm);
      expect(cluster.leader()).toBe(fresh);
      expect(cluster.servers.filter((s) => s.role === 'leader')).toHaveLength(2);

      // cluster.propose goes to the highest-term leader.
      const result = cluster.propose('to the new leader');
      expect(result).toEqual({ type: 'appended', index: 1, term: fresh?.currentTerm });
      expect(logOf(old)).toEqual([]);

      // When the newer leader crashes, leader() falls back to the (stale) running one.
      cluster.crash(fresh?.id ?? -1);
      expect(cluster.leader()).toBe(old);
    });

    it('is undefined when no server leads, and never a crashed server', () => {
      const cluster = InMemoryCluster.make<string>(3, { seed: 2 });
      expect(cluster.leader()).toBeUndefined();
      const leader = electLeader(cluster);
      cluster.crash(leader.id);
      expect(leader.role).toBe('leader');
      expect(cluster.leader()).toBeUndefined();
      expect(cluster.propose('x')).toEqual({ type: 'delay' });
    });
  });
});
