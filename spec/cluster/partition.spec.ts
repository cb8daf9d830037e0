import { InMemoryCluster, InvalidArgumentError, RaftError } from '../../lib';
import { SafetyObserver, converged, electLeader, logOf, proposeOk, serverAt } from './helpers';

describe('InMemoryCluster: partitions and disconnections', () => {
  it('a leader on the minority side cannot commit; the majority elects a higher-term leader and commits; after heal the logs converge', () => {
    const cluster = InMemoryCluster.make<string>(5, { seed: 4 });
    const observer = new SafetyObserver(cluster);
    const old = electLeader(cluster);
    proposeOk(cluster, 'shared-1');
    proposeOk(cluster, 'shared-2');
    cluster.advance(100);
    expect(cluster.servers.every((s) => s.volatileState.commitIndex === 2)).toBe(true);

    const ids = cluster.servers.map((s) => s.id);
    const buddy = ids.find((id) => id !== old.id) ?? -1;
    const minority = [old.id, buddy];
    const majority = ids.filter((id) => !minority.includes(id));
    cluster.partition(minority, majority);

    // The minority leader appends but never commits.
    const lost = old.propose('lost-1');
    expect(lost).toEqual({ type: 'appended', index: 3, term: old.currentTerm });
    old.propose('lost-2');
    cluster.advance(100);
    expect(logOf(serverAt(cluster, buddy)).map((e) => e.data)).toEqual(['shared-1', 'shared-2', 'lost-1', 'lost-2']);
    expect(old.volatileState.commitIndex).toBe(2);
    expect(serverAt(cluster, buddy).volatileState.commitIndex).toBe(2);

    // The majority elects a leader with a higher term.
    expect(cluster.runUntil(() => majority.some((id) => serverAt(cluster, id).role === 'leader'), 5_000)).toBe(true);
    const fresh = cluster.leader();
    expect(fresh).toBeDefined();
    if (fresh === undefined) return;
    expect(majority).toContain(fresh.id);
    expect(fresh.currentTerm).toBeGreaterThan(old.currentTerm);
    expect(old.role).toBe('leader');
    proposeOk(cluster, 'kept-1');
    proposeOk(cluster, 'kept-2');
    proposeOk(cluster, 'kept-3');
    cluster.advance(2_000);
    for (const id of majority) {
      expect(cluster.committed(id).map((e) => e.data)).toEqual(['shared-1', 'shared-2', 'kept-1', 'kept-2', 'kept-3']);
    }
    // Still nothing more on the minority side, however long it waits.
    expect(old.volatileState.commitIndex).toBe(2);
    expect(cluster.committed(old.id)).toHaveLength(2);
    expect(cluster.committed(buddy)).toHaveLength(2);

    cluster.heal();
    expect(cluster.runUntil(() => old.role === 'follower' && converged(cluster), 2_000)).toBe(true);
    expect(old.leaderId).toBe(fresh.id);
    expect(old.currentTerm).toBe(fresh.currentTerm);
    for (const server of cluster.servers) {
      expect(logOf(server).map((e) => e.data)).toEqual(['shared-1', 'shared-2', 'kept-1', 'kept-2', 'kept-3']);
      expect(cluster.committed(server.id)).toEqual(cluster.committed(fresh.id));
    }
    observer.check();
  });

  it('the majority keeps committing while a follower is disconnected; the follower catches up after reconnect', () => {
    const cluster = InMemoryCluster.make<number>(3, { seed: 8 });
    const observer = new SafetyObserver(cluster);
    electLeader(cluster);
    for (let k = 1; k <= 5; k++) proposeOk(cluster, k);
    cluster.advance(100);
    const leaderId = cluster.leader()?.id ?? -1;
    const cut = cluster.servers.map((s) => s.id).find((id) => id !== leaderId) ?? -1;
    const cutServer = serverAt(cluster, cut);

    cluster.disconnect(cut);
    for (let k = 6; k <= 30; k++) {
      proposeOk(cluster, k);
      cluster.advance(20);
    }
    cluster.advance(500);
    // The remaining two servers committed everything; the cut one has only the first five.
    const leader = cluster.leader();
    expect(leader).toBeDefined();
    expect(leader?.id).not.toBe(cut);
    expect(cluster.committed(leader?.id ?? -1)).toHaveLength(30);
    expect(logOf(cutServer)).toHaveLength(5);
    expect(cutServer.volatileState.commitIndex).toBe(5);
    expect(cutServer.role).not.toBe('leader');

    cluster.reconnect(cut);
    expect(cluster.runUntil(() => cluster.leader() !== undefined && converged(cluster), 5_000)).toBe(true);
    // The lagging server may have disturbed the term, but it cannot have won: its log lacked committed entries.
    expect(logOf(cutServer).map((e) => e.data)).toEqual([...Array(30).keys()].map((k) => k + 1));
    expect(cluster.committed(cut)).toEqual(cluster.committed(cluster.leader()?.id ?? -1));
    proposeOk(cluster, 31);
    cluster.advance(100);
    expect(cluster.committed(cut)).toHaveLength(31);
    observer.check();
  });

  it('messages to a disconnected server are lost, not delayed', () => {
    const cluster = InMemoryCluster.make<string>(3, { seed: 1 });
    const leader = electLeader(cluster);
    const cut = (leader.id + 1) % 3;
    cluster.disconnect(cut);
    const dropped = cluster.network.droppedCount;
    proposeOk(cluster, 'x');
    expect(cluster.network.droppedCount).toBeGreaterThan(dropped);
    expect(logOf(serverAt(cluster, cut))).toEqual([]);
    // Reconnecting does not deliver anything by itself: nothing was kept.
    cluster.reconnect(cut);
    expect(logOf(serverAt(cluster, cut))).toEqual([]);
    // The next heartbeat carries the entry again.
    cluster.heartbeat(leader.id);
    expect(logOf(serverAt(cluster, cut)).map((e) => e.data)).toEqual(['x']);
  });

  it('a partition replaces the previous one and heal() does not undo disconnect()', () => {
    const cluster = InMemoryCluster.make<string>(3, { seed: 1 });
    const leader = electLeader(cluster);
    const [a, b] = [0, 1, 2].filter((id) => id !== leader.id) as [number, number];
    cluster.disconnect(a);
    cluster.partition([leader.id, a, b]);
    cluster.heal();
    proposeOk(cluster, 'one');
    expect(logOf(serverAt(cluster, a))).toEqual([]);
    expect(logOf(serverAt(cluster, b))).toHaveLength(1);
    expect(cluster.network.isConnected(leader.id, a)).toBe(false);
    cluster.reconnect(a);
    expect(cluster.network.isConnected(leader.id, a)).toBe(true);

    cluster.partition([leader.id], [a, b]);
    expect(cluster.network.isConnected(leader.id, b)).toBe(false);
    cluster.partition([leader.id, b]); // replaces: a is alone now
    expect(cluster.network.isConnected(leader.id, b)).toBe(true);
    expect(cluster.network.isConnected(leader.id, a)).toBe(false);
    expect(cluster.network.isConnected(a, b)).toBe(false);
    cluster.heal();
    expect(cluster.network.isConnected(a, b)).toBe(true);
  });

  describe('partition() refuses bad groups', () => {
    it.each<[string, number[][]]>([
      ['an id named twice in one group', [[0, 0], [1, 2]]],
      ['an id named in two groups', [[0, 1], [1, 2]]],
      ['an id above the cluster', [[0, 1], [3]]],
      ['a negative id', [[-1, 0], [1, 2]]],
      ['a fractional id', [[0.5], [1, 2]]],
      ['NaN', [[Number.NaN], [0]]],
    ])('%s throws InvalidArgumentError and changes nothing', (_name, groups) => {
      const cluster = InMemoryCluster.make<string>(3, { seed: 1 });
      const leader = electLeader(cluster);
      cluster.partition([0], [1, 2]);
      const before = [0, 1, 2].flatMap((x) => [0, 1, 2].map((y) => cluster.network.isConnected(x, y)));
      let error: unknown;
      try {
        cluster.partition(...groups);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(InvalidArgumentError);
      expect(error).toBeInstanceOf(RaftError);
      const after = [0, 1, 2].flatMap((x) => [0, 1, 2].map((y) => cluster.network.isConnected(x, y)));
      expect(after).toEqual(before);
      expect(leader.role).toBe('leader');
    });
  });
});
