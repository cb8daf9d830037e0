// A lease is only as good as the followers' promise not to elect another leader while it
// holds: under check-quorum a follower that heard from the leader within the election
// timeout refuses votes. Here a server that was cut off for a long time (so its term is
// high and it is a candidate already) comes back on the side of a partition that does not
// hold the leader, right after that side heard from the leader. The leader still holds its
// lease; it must never answer a read below a write the other side commits.
// (Elections triggered early on a server that had a leader, `triggerTimeout`, are outside
// the lease's assumption, like a clock that runs fast: see README, "Linearizable reads".)

import { InMemoryCluster, type ServerId } from '../../lib';
import type { Data } from '../hardening/helpers';
import { readOn } from './helpers';

describe('lease reads across a partition', () => {
  it.each([1, 2, 3, 4, 5])('seed %i: a leader holding its lease never answers a read below a write of the other side', (seed) => {
    const cluster = InMemoryCluster.make<Data>(5, { seed, checkQuorum: true, readMode: 'lease' });
    expect(cluster.runUntil(() => cluster.leader() !== undefined, 5_000)).toBe(true);
    const old = cluster.leader()!;
    expect(cluster.propose('a')).toMatchObject({ type: 'appended' });
    cluster.advance(5);
    const [straggler, buddy, ...rest] = cluster.servers.map((s) => s.id).filter((id) => id !== old.id) as ServerId[];
    // The straggler is cut off long enough to run many elections of its own (its log is up to date: nothing is written meanwhile).
    cluster.disconnect(straggler as ServerId);
    cluster.advance(1_000);
    expect(cluster.servers[straggler as ServerId]!.currentTerm).toBeGreaterThan(old.currentTerm);
    cluster.reconnect(straggler as ServerId);
    cluster.partition([old.id, buddy as ServerId], [straggler as ServerId, ...(rest as ServerId[])]);
    // At once, the straggler asks the other side for votes; they heard from the old leader a moment ago.
    cluster.timeout(straggler as ServerId);
    let written: number | undefined;
    for (let ms = 0; ms < 400; ms++) {
      const newLeader = cluster.servers.find((s) => s.role === 'leader' && s.id !== old.id);
      if (newLeader !== undefined && written === undefined) {
        const result = newLeader.propose('b');
        if (result.type === 'appended') written = result.index;
      }
      if (old.role === 'leader') {
        const read = readOn(old);
        cluster.advance(1);
        const result = read.result;
        if (written !== undefined && result?.type === 'ready') expect(result.index).toBeGreaterThanOrEqual(written);
      } else {
        cluster.advance(1);
      }
    }
    // And the other side does elect a leader once the lease is over.
    expect(cluster.servers.some((s) => s.role === 'leader' && s.id !== old.id)).toBe(true);
  });
});
