import { InMemoryCluster, type Server } from '../../lib';

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
