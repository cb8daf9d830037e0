/**
 * `cluster.committed(id)` is one array per server, appended to on each `committed` event and
 * returned as it is (a read-only view, O(1) per call): the same object call after call, it
 * grows with later commits, holds exactly what the events delivered in index order, and a
 * restart starts a new one while views of the old Server object keep their entries.
 */
import { InMemoryCluster, type LogEntry } from '../../lib';
import { electLeader, proposeOk } from './helpers';

describe('InMemoryCluster.committed(id)', () => {
  it('returns the same array on every call, growing as the server commits', () => {
    const cluster = InMemoryCluster.make<string>(3, { seed: 5 });
    electLeader(cluster);
    const views = [0, 1, 2].map((id) => cluster.committed(id));
    for (let k = 1; k <= 30; k++) {
      proposeOk(cluster, `v${k}`);
      cluster.advance(60);
      for (const id of [0, 1, 2]) expect(cluster.committed(id)).toBe(views[id]);
    }
    for (const id of [0, 1, 2]) {
      expect(views[id]?.map((e) => e.data)).toEqual(Array.from({ length: 30 }, (_, k) => `v${k + 1}`));
      expect(views[id]?.map((e) => e.index)).toEqual(Array.from({ length: 30 }, (_, k) => k + 1));
    }
  });

  it('holds exactly the entries of the committed events, in order, batches flattened', () => {
    const cluster = InMemoryCluster.make<number>(3, { seed: 9 });
    const leader = electLeader(cluster);
    const follower = cluster.servers.find((s) => s.id !== leader.id)!;
    const seen: LogEntry<number>[] = [];
    follower.on('committed', (entries) => seen.push(...entries));
    for (let batch = 0; batch < 10; batch++) {
      expect(cluster.proposeAll([batch * 3, batch * 3 + 1, batch * 3 + 2]).type).toBe('appended');
      if (batch % 3 === 0) cluster.advance(60);
    }
    cluster.advance(200);
    expect(seen).toHaveLength(30);
    expect(cluster.committed(follower.id)).toEqual(seen);
  });

  it('a restart starts a new array; a view taken before keeps the old Server object entries', () => {
    const cluster = InMemoryCluster.make<string>(3, { seed: 2 });
    const leader = electLeader(cluster);
    const id = cluster.servers.find((s) => s.id !== leader.id)!.id;
    proposeOk(cluster, 'a');
    proposeOk(cluster, 'b');
    cluster.advance(100);
    const old = cluster.committed(id);
    expect(old.map((e) => e.data)).toEqual(['a', 'b']);
    cluster.restart(id);
    expect(cluster.committed(id)).toEqual([]);
    expect(cluster.committed(id)).not.toBe(old);
    proposeOk(cluster, 'c');
    cluster.advance(100);
    expect(cluster.committed(id).map((e) => e.data)).toEqual(['a', 'b', 'c']);
    expect(old.map((e) => e.data)).toEqual(['a', 'b']);
  });

  it('recordCommitted: false keeps no record (memory bounded by the log), and committed(id) says so', () => {
    const cluster = InMemoryCluster.make<string>(3, { seed: 2, recordCommitted: false });
    electLeader(cluster);
    proposeOk(cluster, 'a');
    cluster.advance(100);
    expect(cluster.servers.every((s) => s.volatileState.lastApplied === 1)).toBe(true);
    expect(() => cluster.committed(0)).toThrow(/recordCommitted: false/);
    expect(() => InMemoryCluster.make<string>(3, { recordCommitted: 'no' as unknown as boolean })).toThrow(/recordCommitted/);
  });
});
