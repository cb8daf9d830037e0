import { ConfigurationError, InMemoryCluster, InvalidArgumentError, RaftError, type InMemoryClusterOptions } from '../../lib';
import { thrown } from './harness';

describe('InMemoryCluster.make refuses bad arguments with ConfigurationError', () => {
  it.each<[string, number]>([
    ['make(0)', 0],
    ['make(-1)', -1],
    ['make(2.5)', 2.5],
    ['make(NaN)', Number.NaN],
    ['make(Infinity)', Number.POSITIVE_INFINITY],
    ["make('3')", '3' as unknown as number],
  ])('%s', (_name, count) => {
    const error = thrown(() => InMemoryCluster.make<string>(count));
    expect(error).toBeInstanceOf(ConfigurationError);
    expect(error).toBeInstanceOf(RaftError);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toContain(typeof count === 'string' ? JSON.stringify(count) : String(count));
  });

  it.each<[string, Record<string, unknown>, string]>([
    ['seed 1.5 (not an integer)', { seed: 1.5 }, 'seed'],
    ['seed NaN', { seed: Number.NaN }, 'seed'],
    ["seed '7' (a string)", { seed: '7' }, 'seed'],
    ["delivery 'x'", { delivery: 'x' }, 'delivery'],
    ["delivery 'Manual' (wrong case)", { delivery: 'Manual' }, 'delivery'],
    ['electionTimeout 0', { electionTimeout: 0 }, 'electionTimeout'],
    ['heartbeatTimeout not below electionTimeout', { electionTimeout: 100, heartbeatTimeout: 100 }, 'heartbeatTimeout'],
    ['electionTimeoutRange -1', { electionTimeoutRange: -1 }, 'electionTimeoutRange'],
    ['maxEntriesPerMessage 0', { maxEntriesPerMessage: 0 }, 'maxEntriesPerMessage'],
    ['maxEntriesPerMessage 1.5', { maxEntriesPerMessage: 1.5 }, 'maxEntriesPerMessage'],
  ])('option %s', (_name, options, option) => {
    const error = thrown(() => InMemoryCluster.make<string>(3, options as InMemoryClusterOptions));
    expect(error).toBeInstanceOf(ConfigurationError);
    expect(error).toBeInstanceOf(RaftError);
    expect((error as Error).message).toContain(option);
  });

  // Like the Server constructor, which refuses options that are not an object with a
  // ConfigurationError naming `options` (today: a TypeError reading `seed` of null).
  it.each<[string, unknown]>([['null', null]])('options that are %s', (_name, options) => {
    const error = thrown(() => InMemoryCluster.make<string>(3, options as InMemoryClusterOptions));
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as Error).message).toContain('options');
  });

  it('control: a cluster of one and negative integer seeds are fine', () => {
    expect(InMemoryCluster.make<string>(1).clusterSize).toBe(1);
    expect(InMemoryCluster.make<string>(3, { seed: -5 }).servers).toHaveLength(3);
    expect(InMemoryCluster.make<string>(3, { seed: 0, delivery: 'manual' }).network.delivery).toBe('manual');
  });
});

describe('InMemoryCluster methods refuse bad arguments with InvalidArgumentError and change nothing', () => {
  type Call = (cluster: InMemoryCluster<string>) => unknown;
  const cases: [string, Call][] = [
    ['timeout(99)', (c) => c.timeout(99)],
    ['timeout(3) (one past the last id)', (c) => c.timeout(3)],
    ['timeout(-1)', (c) => c.timeout(-1)],
    ['timeout(0.5)', (c) => c.timeout(0.5)],
    ['heartbeat(3)', (c) => c.heartbeat(3)],
    ['disconnect(3)', (c) => c.disconnect(3)],
    ['reconnect(-1)', (c) => c.reconnect(-1)],
    ['crash(3)', (c) => c.crash(3)],
    ['restart(3)', (c) => c.restart(3)],
    ['committed(3)', (c) => c.committed(3)],
    ['advance(-1)', (c) => c.advance(-1)],
    ['advance(NaN)', (c) => c.advance(Number.NaN)],
    ['advance(Infinity)', (c) => c.advance(Number.POSITIVE_INFINITY)],
    ["advance('10') (a string)", (c) => c.advance('10' as unknown as number)],
    ['runUntil(predicate, -1)', (c) => c.runUntil(() => false, -1)],
    ['runUntil(predicate, NaN)', (c) => c.runUntil(() => false, Number.NaN)],
    ['partition([0, 0])', (c) => c.partition([0, 0])],
    ['partition([0], [5])', (c) => c.partition([0], [5])],
  ];

  it.each(cases)('%s', (_name, call) => {
    const cluster = InMemoryCluster.make<string>(3, { seed: 1 });
    cluster.advance(1_000); // a leader, some history
    const before = {
      now: cluster.now,
      servers: cluster.servers.map((s) => ({ role: s.role, term: s.currentTerm, leaderId: s.leaderId, deadline: s.nextDeadline() })),
      running: [0, 1, 2].map((id) => cluster.isRunning(id)),
      links: [0, 1, 2].flatMap((a) => [0, 1, 2].map((b) => cluster.network.isConnected(a, b))),
      delivered: cluster.network.deliveredCount,
    };
    const error = thrown(() => call(cluster));
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect(error).toBeInstanceOf(RaftError);
    expect(error).toBeInstanceOf(Error);
    expect({
      now: cluster.now,
      servers: cluster.servers.map((s) => ({ role: s.role, term: s.currentTerm, leaderId: s.leaderId, deadline: s.nextDeadline() })),
      running: [0, 1, 2].map((id) => cluster.isRunning(id)),
      links: [0, 1, 2].flatMap((a) => [0, 1, 2].map((b) => cluster.network.isConnected(a, b))),
      delivered: cluster.network.deliveredCount,
    }).toEqual(before);
  });

  it('control: advance(0) and runUntil with maxMs 0 are accepted', () => {
    const cluster = InMemoryCluster.make<string>(3);
    cluster.advance(0);
    expect(cluster.now).toBe(0);
    expect(cluster.runUntil(() => false, 0)).toBe(false);
    expect(cluster.runUntil(() => true, 0)).toBe(true);
  });
});
