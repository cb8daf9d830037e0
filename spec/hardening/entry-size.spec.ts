import { ConfigurationError, InMemoryCluster, InvalidArgumentError, Server } from '../../lib';
import { trimToByteBudget } from '../../lib/log';

/** Data that JSON cannot write: the default `entrySize` must still measure it, never throw. */
describe('the default entrySize on data JSON cannot write', () => {
  it.each([
    ['a BigInt', (): unknown => 10n ** 30n],
    ['a circular object', (): unknown => {
      const circular: { self?: unknown } = {};
      circular.self = circular;
      return circular;
    }],
  ])('%s is replicated and committed under maxBytesPerMessage', (_name, make) => {
    const cluster = InMemoryCluster.make<unknown>(3, { seed: 3, maxBytesPerMessage: 8 });
    cluster.runUntil(() => cluster.leader() !== undefined, 10_000);
    const leader = cluster.leader() as Server<unknown>;
    const result = leader.proposeAll([make(), 'x', make()]);
    expect(result.type).toBe('appended');
    cluster.advance(200);
    for (const server of cluster.servers) expect(cluster.committed(server.id)).toHaveLength(3);
  });
});

describe('an entrySize that fails', () => {
  const failing = (data: unknown): number => {
    if (data === 'bad') throw new Error('cannot measure');
    if (data === 'nan') return Number.NaN;
    return 1;
  };

  it.each(['bad', 'nan'])('with a byte bound, proposing %s is refused whole with InvalidArgumentError, and the leader goes on', (bad) => {
    const cluster = InMemoryCluster.make<string>(3, { seed: 3, maxBytesPerMessage: 8, entrySize: failing });
    cluster.runUntil(() => cluster.leader() !== undefined, 10_000);
    const leader = cluster.leader() as Server<string>;
    const before = leader.persistentState.currentLogIndex;
    expect(() => leader.proposeAll(['ok', bad])).toThrow(InvalidArgumentError);
    expect(leader.persistentState.currentLogIndex).toBe(before);
    expect(leader.propose('fine').type).toBe('appended');
    cluster.advance(200);
    for (const server of cluster.servers) expect(cluster.committed(server.id).map((e) => e.data)).toEqual(['fine']);
  });

  it('an entry already in the log that cannot be measured is sent alone, and replication goes on', () => {
    const entries = [1, 2, 3].map((index) => ({ index, term: 1, data: index === 2 ? 'bad' : 'x' }));
    expect(trimToByteBudget(entries, 8, failing).map((e) => e.index)).toEqual([1]);
    expect(trimToByteBudget(entries.slice(1), 8, failing).map((e) => e.index)).toEqual([2]);
    expect(trimToByteBudget(entries.slice(2), 8, failing).map((e) => e.index)).toEqual([3]);
  });
});

describe('error messages never fail themselves', () => {
  it('a revoked Proxy as an option value gives a ConfigurationError, not a TypeError', () => {
    const { proxy, revoke } = Proxy.revocable<object>([], {});
    revoke();
    expect(() => new Server<string>({ id: 0, clusterSize: proxy as unknown as number, messageChannel: () => {} })).toThrow(ConfigurationError);
  });
});
