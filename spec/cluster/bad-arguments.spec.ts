/**
 * Misuse of InMemoryCluster and InMemoryNetwork gets a typed error (InvalidArgumentError, a
 * RaftError) with a message that names the value, never a TypeError from deep inside, and
 * changes nothing: same clock, roles, terms, logs, waiting messages, links. Values of every
 * awkward kind are tried: out of range, wrong type, Symbol, null, and an object with no
 * prototype (which cannot even be turned into a string).
 */
import { ConfigurationError, InMemoryCluster, InMemoryPersistentState, InvalidArgumentError, RaftError, type IPersistentState } from '../../lib';

const nullProto = Object.create(null) as unknown;
const sym = Symbol('id') as unknown;

type Call = (cluster: InMemoryCluster<string>) => unknown;
/** A bad call, and a fragment its message must contain. */
const cases: [string, Call, RegExp][] = [
  ['partition(5)', (c) => c.partition(5 as unknown as number[]), /group.*array.*got 5/],
  ['partition([0], 1)', (c) => c.partition([0], 1 as unknown as number[]), /group.*array.*got 1/],
  ['partition(null)', (c) => c.partition(null as unknown as number[]), /got null/],
  ['partition([0, 9])', (c) => c.partition([0, 9]), /server id in \[0, 3\), got 9/],
  ['partition([Symbol])', (c) => c.partition([sym as number]), /got Symbol\(id\)/],
  ['partition([null-prototype object])', (c) => c.partition([nullProto as number]), /got an object/],
  ["runUntil('x', 10)", (c) => c.runUntil('x' as unknown as () => boolean, 10), /predicate function, got "x"/],
  ['runUntil(null, 10)', (c) => c.runUntil(null as unknown as () => boolean, 10), /predicate function, got null/],
  ["runUntil(() => true, 'x')", (c) => c.runUntil(() => true, 'x' as unknown as number), /duration.*got "x"/],
  ["advance('a')", (c) => c.advance('a' as unknown as number), /duration.*got "a"/],
  ['advance(Symbol)', (c) => c.advance(sym as number), /got Symbol\(id\)/],
  ['advance(null-prototype object)', (c) => c.advance(nullProto as number), /got an object/],
  ['timeout(99)', (c) => c.timeout(99), /server id in \[0, 3\), got 99/],
  ['timeout(Symbol)', (c) => c.timeout(sym as number), /got Symbol\(id\)/],
  ['timeout(null-prototype object)', (c) => c.timeout(nullProto as number), /got an object/],
  ['heartbeat(null)', (c) => c.heartbeat(null as unknown as number), /got null/],
  ['crash(-1)', (c) => c.crash(-1), /got -1/],
  ['restart(Symbol)', (c) => c.restart(sym as number), /got Symbol\(id\)/],
  ['disconnect(null-prototype object)', (c) => c.disconnect(nullProto as number), /got an object/],
  ["reconnect('0')", (c) => c.reconnect('0' as unknown as number), /got "0"/],
  ['isRunning(3)', (c) => c.isRunning(3), /got 3/],
  ['committed(Symbol)', (c) => c.committed(sym as number), /got Symbol\(id\)/],
  ["proposeAll('abc')", (c) => c.proposeAll('abc' as unknown as string[]), /array.*got "abc"/],
  ["network.deliver(0, 'x')", (c) => c.network.deliver(0, 'x' as unknown as number), /message id.*got "x"/],
  ['network.deliver(0, Symbol)', (c) => c.network.deliver(0, sym as number), /message id.*got Symbol\(id\)/],
  ['network.deliver(0, 123456)', (c) => c.network.deliver(0, 123456), /No undelivered message 123456 waits for server 0/],
  ['network.deliver(null-prototype object, 1)', (c) => c.network.deliver(nullProto as number, 1), /server id.*got an object/],
  ['network.drop(7, 1)', (c) => c.network.drop(7, 1), /server id in \[0, 3\), got 7/],
  ['network.drop(0, null-prototype object)', (c) => c.network.drop(0, nullProto as number), /message id.*got an object/],
  ['network.duplicate(0, 1.5)', (c) => c.network.duplicate(0, 1.5), /message id.*got 1.5/],
  ['network.hold(0, 999999)', (c) => c.network.hold(0, 999999), /No undelivered message 999999/],
  ['network.isHeld(0, Symbol)', (c) => c.network.isHeld(0, sym as number), /message id.*got Symbol\(id\)/],
  ['network.undelivered(Symbol)', (c) => c.network.undelivered(sym as number), /got Symbol\(id\)/],
  ["network.undeliveredAt('0')", (c) => c.network.undeliveredAt('0' as unknown as number), /position.*got "0"/],
  ['network.cutLink(0, 3)', (c) => c.network.cutLink(0, 3), /got 3/],
  ['network.restoreLink(Symbol, 0)', (c) => c.network.restoreLink(sym as number, 0), /got Symbol\(id\)/],
  ['network.isConnected(0, null)', (c) => c.network.isConnected(0, null as unknown as number), /got null/],
  ['network.tap(42)', (c) => c.network.tap(42 as unknown as () => void), /listener function, got 42/],
];

/** Everything a refused call must leave as it was. */
function stateOf(cluster: InMemoryCluster<string>) {
  return {
    now: cluster.now,
    timers: cluster.timersFired,
    servers: cluster.servers.map((s) => ({
      role: s.role,
      term: s.currentTerm,
      vote: s.persistentState.votedFor,
      last: s.persistentState.currentLogIndex,
      commit: s.volatileState.commitIndex,
      running: cluster.isRunning(s.id),
    })),
    waiting: cluster.network.allUndelivered().map((m) => m.id),
    held: cluster.network.heldCount,
    delivered: cluster.network.deliveredCount,
    dropped: cluster.network.droppedCount,
    links: [0, 1, 2].flatMap((from) => [0, 1, 2].map((to) => cluster.network.isConnected(from, to))),
    committed: [0, 1, 2].map((id) => cluster.committed(id).length),
  };
}

describe('InMemoryCluster and InMemoryNetwork refuse bad arguments with InvalidArgumentError and change nothing', () => {
  it.each(cases)('%s', (_name, call, message) => {
    const cluster = InMemoryCluster.make<string>(3, { seed: 1, delivery: 'manual' });
    cluster.timeout(0);
    cluster.proposeAll(['x']); // nothing: no leader yet
    const before = stateOf(cluster);
    expect(before.waiting.length).toBeGreaterThan(0);
    let error: unknown;
    try {
      call(cluster);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect(error).toBeInstanceOf(RaftError);
    expect((error as Error).message).toMatch(message);
    expect(stateOf(cluster)).toEqual(before);
  });

  it('control: the same calls with good arguments work', () => {
    const cluster = InMemoryCluster.make<string>(3, { seed: 1, delivery: 'manual' });
    cluster.timeout(0);
    const [first] = cluster.network.allUndelivered();
    if (first === undefined) throw new Error('nothing sent');
    expect(cluster.network.undeliveredAt(0)?.id).toBe(first.id);
    cluster.network.deliver(first.to, first.id);
    cluster.partition([0, 1], [2]);
    expect(cluster.network.isConnected(0, 2)).toBe(false);
    cluster.heal();
    expect(cluster.runUntil(() => true, 10)).toBe(true);
    cluster.advance(1);
    expect(cluster.proposeAll(['a'])).toEqual({ type: 'delay' });
  });
});

describe('InMemoryCluster.make refuses a persistentState factory that does not return a store', () => {
  it.each<[string, (id: number) => unknown]>([
    ['undefined', () => undefined],
    ['null', () => null],
    ['a number', () => 7],
    ['an object without the methods', () => ({ currentTerm: 0 })],
    ['undefined for one id only', (id) => (id === 2 ? undefined : new InMemoryPersistentState<string>())],
  ])('returning %s: ConfigurationError naming persistentState and the id', (_name, factory) => {
    let error: unknown;
    try {
      InMemoryCluster.make<string>(3, { persistentState: factory as (id: number) => IPersistentState<unknown> });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as Error).message).toMatch(/`persistentState\(\d\)`.*IPersistentState/);
  });

  it('control: a factory returning stores is used, and a restart keeps the same store', () => {
    const stores = [0, 1, 2].map(() => new InMemoryPersistentState<string>());
    const cluster = InMemoryCluster.make<string>(3, { seed: 4, persistentState: (id) => stores[id] as IPersistentState<unknown> });
    cluster.runUntil(() => cluster.leader() !== undefined, 10_000);
    const term = stores[1]?.currentTerm;
    expect(term).toBeGreaterThan(0);
    cluster.restart(1);
    expect(cluster.servers[1]?.persistentState).toBe(stores[1]);
    expect(cluster.servers[1]?.currentTerm).toBe(term);
  });
});
