// Batching and message limits (issue 4): proposeAll, maxEntriesPerMessage,
// maxBytesPerMessage with entrySize, pipelining, and the byte-budget helper.
import { InMemoryCluster, InvalidArgumentError, type AppendEntriesMessage, type Server } from '../../lib';
import { trimToByteBudget } from '../../lib/log';

function elect<T>(cluster: InMemoryCluster<T>): Server<T> {
  expect(cluster.runUntil(() => cluster.leader() !== undefined, 10_000)).toBe(true);
  return cluster.leader() as Server<T>;
}

/** Every AppendEntries handed to a server, as the network delivers them. */
function appendEntriesSeen<T>(cluster: InMemoryCluster<T>): AppendEntriesMessage<T>[] {
  const seen: AppendEntriesMessage<T>[] = [];
  cluster.network.tap(({ message }) => {
    if (message.type === 'appendEntries') seen.push(message);
  });
  return seen;
}

describe('proposeAll', () => {
  it('appends a batch as consecutive entries of the leader term and returns their range', () => {
    const cluster = InMemoryCluster.make<string>(3, { seed: 3 });
    const leader = elect(cluster);
    leader.propose('first');
    const result = leader.proposeAll(['a', 'b', 'c']);
    expect(result).toEqual({ type: 'appended', firstIndex: 2, lastIndex: 4, term: leader.currentTerm });
    cluster.advance(100);
    for (const server of cluster.servers) expect(cluster.committed(server.id).map((e) => e.data)).toEqual(['first', 'a', 'b', 'c']);
  });

  it('an empty batch appends nothing and says so with an empty range', () => {
    const cluster = InMemoryCluster.make<string>(3, { seed: 3 });
    const leader = elect(cluster);
    expect(leader.proposeAll([])).toEqual({ type: 'appended', firstIndex: 1, lastIndex: 0, term: leader.currentTerm });
    expect(leader.persistentState.currentLogIndex).toBe(0);
  });

  it('a follower answers forward, a leaderless server delay, and the cluster proposes to its leader', () => {
    const cluster = InMemoryCluster.make<string>(3, { seed: 3 });
    expect(cluster.proposeAll(['x'])).toEqual({ type: 'delay' });
    const leader = elect(cluster);
    const follower = cluster.servers.find((s) => s.id !== leader.id) as Server<string>;
    expect(follower.proposeAll(['x'])).toEqual({ type: 'forward', leaderId: leader.id });
    expect(cluster.proposeAll(['x', 'y'])).toMatchObject({ type: 'appended', firstIndex: 1, lastIndex: 2 });
  });

  it('refuses a non-array with InvalidArgumentError and appends nothing', () => {
    const cluster = InMemoryCluster.make<string>(1, { seed: 3 });
    const leader = elect(cluster);
    expect(() => leader.proposeAll('abc' as unknown as string[])).toThrow(InvalidArgumentError);
    expect(leader.persistentState.currentLogIndex).toBe(0);
  });

  it('commits a batch at once in a cluster of one', () => {
    const cluster = InMemoryCluster.make<number>(1, { seed: 3 });
    const leader = elect(cluster);
    leader.proposeAll([1, 2, 3]);
    expect(leader.volatileState.commitIndex).toBe(3);
    expect(cluster.committed(0).map((e) => e.data)).toEqual([1, 2, 3]);
  });
});

describe('message limits', () => {
  it('no AppendEntries carries more than maxEntriesPerMessage entries', () => {
    const cluster = InMemoryCluster.make<number>(3, { seed: 5, maxEntriesPerMessage: 7 });
    const leader = elect(cluster);
    const seen = appendEntriesSeen(cluster);
    leader.proposeAll(Array.from({ length: 50 }, (_, k) => k));
    cluster.advance(100);
    expect(Math.max(...seen.map((m) => m.entries.length))).toBe(7);
    for (const server of cluster.servers) expect(cluster.committed(server.id)).toHaveLength(50);
  });

  it('maxBytesPerMessage bounds the data of each AppendEntries, as measured by entrySize', () => {
    const cluster = InMemoryCluster.make<string>(3, { seed: 5, maxBytesPerMessage: 10, entrySize: (data) => data.length });
    const leader = elect(cluster);
    const seen = appendEntriesSeen(cluster);
    leader.proposeAll(['aaaa', 'bbbb', 'cccc', 'dd', 'eeeeeeeeeeee', 'f']);
    cluster.advance(100);
    const withEntries = seen.filter((m) => m.entries.length > 0);
    for (const message of withEntries) {
      const bytes = message.entries.reduce((sum, e) => sum + e.data.length, 0);
      // at most the budget, except a single entry larger than the budget on its own
      expect(bytes <= 10 || message.entries.length === 1).toBe(true);
    }
    expect(withEntries.some((m) => m.entries.length === 1 && m.entries[0]?.data === 'eeeeeeeeeeee')).toBe(true);
    for (const server of cluster.servers) expect(cluster.committed(server.id).map((e) => e.data).join('')).toBe('aaaabbbbccccddeeeeeeeeeeeef');
  });

  it('the default entrySize counts the UTF-8 bytes of strings and the JSON text of other data', () => {
    const cluster = InMemoryCluster.make<unknown>(3, { seed: 5, maxBytesPerMessage: 5 });
    const leader = elect(cluster);
    const seen = appendEntriesSeen(cluster);
    // 'éé' is 4 bytes (2 characters), 'zz' 2 bytes, {a:1} 7 bytes of JSON: counted in bytes,
    // 'éé' and 'zz' do not fit together (counted in characters they would).
    leader.proposeAll(['éé', 'zz', { a: 1 }]);
    cluster.advance(100);
    // The leader streams to one follower first: one entry per message.
    const batches = seen.filter((m) => m.entries.length > 0).slice(0, 3).map((m) => m.entries.map((e) => e.index));
    expect(batches).toEqual([[1], [2], [3]]);
  });

  it('pipelining: with room for several messages in flight, a leader streams without waiting for answers', () => {
    const cluster = InMemoryCluster.make<number>(3, { seed: 5, delivery: 'manual', maxEntriesPerMessage: 10, maxInflightMessages: 4 });
    cluster.timeout(0);
    for (let round = 0; round < 4; round++) {
      for (const { to, id } of cluster.network.allUndelivered()) cluster.network.deliver(to, id);
    }
    const leader = cluster.servers[0] as Server<number>;
    expect(leader.role).toBe('leader');
    leader.proposeAll(Array.from({ length: 100 }, (_, k) => k));
    // Both followers are known to match (replicate mode): 4 messages of 10 each go out at once.
    const waiting = cluster.network.undelivered(1).filter(({ message }) => message.type === 'appendEntries');
    expect(waiting).toHaveLength(4);
    expect(waiting.map(({ message }) => (message as AppendEntriesMessage<number>).prevLogEntry.index)).toEqual([0, 10, 20, 30]);
  });

  it('messages presumed lost send the leader back to probing: then one AppendEntries at a time', () => {
    const cluster = InMemoryCluster.make<number>(3, { seed: 5, delivery: 'manual', maxEntriesPerMessage: 10, maxInflightMessages: 4 });
    cluster.timeout(0);
    for (let round = 0; round < 4; round++) {
      for (const { to, id } of cluster.network.allUndelivered()) cluster.network.deliver(to, id);
    }
    const leader = cluster.servers[0] as Server<number>;
    cluster.disconnect(2);
    leader.proposeAll(Array.from({ length: 100 }, (_, k) => k));
    for (let round = 0; round < 20; round++) {
      for (const { to, id } of cluster.network.allUndelivered()) cluster.network.deliver(to, id);
    }
    cluster.reconnect(2);
    leader.triggerHeartbeat(); // nothing sent to 2 was answered since the last heartbeat: presumed lost
    const toTwo = cluster.network.undelivered(2).filter(({ message }) => message.type === 'appendEntries');
    expect(toTwo).toHaveLength(1);
  });
});

describe('trimToByteBudget', () => {
  const entries = (sizes: number[]) => sizes.map((size, k) => ({ index: k + 1, term: 1, data: 'x'.repeat(size) }));
  const size = (data: string): number => data.length;

  it('keeps the longest prefix within the budget', () => {
    expect(trimToByteBudget(entries([3, 3, 3, 3]), 7, size)).toHaveLength(2);
    expect(trimToByteBudget(entries([3, 3, 3, 3]), 12, size)).toHaveLength(4);
  });

  it('keeps one entry even when it alone is over the budget', () => {
    expect(trimToByteBudget(entries([20, 1]), 5, size)).toHaveLength(1);
  });

  it('does not measure anything without a budget', () => {
    const measure = jest.fn(size);
    expect(trimToByteBudget(entries([3, 3]), Infinity, measure)).toHaveLength(2);
    expect(measure).not.toHaveBeenCalled();
  });
});
