/**
 * The manual network's view of its waiting messages over all servers (`undeliveredAt`,
 * `undeliveredCount`, `allUndelivered`), which the simulator reads at every step, checked
 * against a naive oracle built from the per-server lists (`undelivered(to)`, merged and
 * sorted by id) under long random sequences of sends, deliveries, drops, duplicates, holds
 * and crashes. The oracle is what the simulator used to compute at every delivery.
 */
import { InMemoryCluster, seededRandom, type AddressedMessage, type ServerId } from '../../lib';

/** Every waiting message, the slow way: per server, merged, sorted by id. */
function oracle(cluster: InMemoryCluster<string>): AddressedMessage<string>[] {
  const all: AddressedMessage<string>[] = [];
  for (let to = 0; to < cluster.clusterSize; to++) for (const m of cluster.network.undelivered(to)) all.push({ ...m, to });
  return all.sort((a, b) => a.id - b.id);
}

function ids(messages: readonly (AddressedMessage<string> | undefined)[]): (number | undefined)[] {
  return messages.map((m) => m?.id);
}

/** Checks every position (or a sample of them when there are many) against the oracle. */
function expectSameAsOracle(cluster: InMemoryCluster<string>): void {
  const expected = oracle(cluster);
  const network = cluster.network;
  expect(network.undeliveredCount).toBe(expected.length);
  expect(ids(network.allUndelivered())).toEqual(ids(expected));
  const step = Math.max(1, Math.floor(expected.length / 50));
  const positions: number[] = [];
  for (let k = 0; k < expected.length; k += step) positions.push(k);
  positions.push(expected.length - 1, expected.length);
  for (const k of positions) {
    const got = network.undeliveredAt(k);
    expect([k, got?.id, got?.to, got?.from]).toEqual([k, expected[k]?.id, expected[k]?.to, expected[k]?.from]);
    if (got !== undefined) expect(got.message).toBe(expected[k]?.message);
  }
  expect(network.undeliveredAt(-1)).toBeUndefined();
}

/** A 5-server manual cluster with a leader (server 0) and `backlog` heartbeats waiting. */
function busyCluster(backlog: number): InMemoryCluster<string> {
  const cluster = InMemoryCluster.make<string>(5, { seed: 3, delivery: 'manual' });
  cluster.timeout(0);
  for (let to = 1; to < 5; to++) for (const { id } of cluster.network.undelivered(to)) cluster.network.deliver(to, id);
  for (const { id } of cluster.network.undelivered(0)) cluster.network.deliver(0, id);
  expect(cluster.leader()?.id).toBe(0);
  while (cluster.network.undeliveredCount < backlog) cluster.heartbeat(0);
  return cluster;
}

describe('InMemoryNetwork: waiting messages in sending order', () => {
  it('undeliveredAt(k) is allUndelivered()[k] and the oracle agrees, for an empty network and a fresh backlog', () => {
    const cluster = InMemoryCluster.make<string>(3, { delivery: 'manual' });
    expectSameAsOracle(cluster);
    expect(cluster.network.undeliveredAt(0)).toBeUndefined();
    const busy = busyCluster(500);
    expectSameAsOracle(busy);
    expect(busy.network.undeliveredAt(0)?.id).toBe(Math.min(...oracle(busy).map((m) => m.id)));
  });

  it.each([1, 2, 3])('agrees with the oracle through 3000 random operations (seed %i)', (seed) => {
    const random = seededRandom(seed);
    const cluster = busyCluster(200);
    const network = cluster.network;
    const held: { to: ServerId; id: number }[] = [];
    for (let op = 0; op < 3000; op++) {
      const count = network.undeliveredCount;
      const pick = (): AddressedMessage<string> | undefined => network.undeliveredAt(Math.floor(random() * count));
      const draw = random();
      if (draw < 0.25 || count === 0) {
        cluster.heartbeat(0); // four new messages at the end
      } else if (draw < 0.45) {
        const oldest = network.undeliveredAt(0) as AddressedMessage<string>;
        network.deliver(oldest.to, oldest.id);
      } else if (draw < 0.65) {
        const m = pick() as AddressedMessage<string>;
        network.deliver(m.to, m.id);
      } else if (draw < 0.78) {
        const m = pick() as AddressedMessage<string>;
        network.drop(m.to, m.id);
      } else if (draw < 0.88) {
        const m = pick() as AddressedMessage<string>;
        const copy = network.duplicate(m.to, m.id);
        expect(network.undeliveredAt(network.undeliveredCount - 1)?.id).toBe(copy);
      } else if (draw < 0.95) {
        const m = pick() as AddressedMessage<string>;
        network.hold(m.to, m.id);
        held.push({ to: m.to, id: m.id });
      } else if (draw < 0.97 && held.length > 0) {
        const { to, id } = held.shift() as { to: ServerId; id: number };
        if (network.isHeld(to, id)) network.deliver(to, id);
      } else {
        const victim = 1 + Math.floor(random() * 4); // never the leader, so heartbeats go on
        cluster.restart(victim);
      }
      if (op % 25 === 0) expectSameAsOracle(cluster);
    }
    expectSameAsOracle(cluster);
    expect(network.deliveredCount).toBeGreaterThan(500);
  });

  it('delivers a backlog of 20,000 messages oldest first, each exactly once', () => {
    const cluster = busyCluster(20_000);
    const network = cluster.network;
    const expected = ids(oracle(cluster));
    const delivered: number[] = [];
    const stop = network.tap(({ id }) => delivered.push(id));
    for (let next = network.undeliveredAt(0); next !== undefined; next = network.undeliveredAt(0)) {
      network.deliver(next.to, next.id);
      if (delivered.length === expected.length) break; // the replies the deliveries cause come after
    }
    stop();
    expect(delivered).toEqual(expected);
  });

  it('hold: a held message leaves the waiting lists, can still be delivered or dropped, and is lost when its receiver crashes', () => {
    const cluster = busyCluster(8);
    const network = cluster.network;
    const [first, second, third] = network.allUndelivered() as AddressedMessage<string>[];
    if (first === undefined || second === undefined || third === undefined) throw new Error('no backlog');
    const before = network.undeliveredCount;
    network.hold(first.to, first.id);
    expect(network.isHeld(first.to, first.id)).toBe(true);
    expect(network.undeliveredCount).toBe(before - 1);
    expect(network.heldCount).toBe(1);
    expect(network.undeliveredAt(0)?.id).toBe(second.id);
    expect(network.undelivered(first.to).map((m) => m.id)).not.toContain(first.id);
    expect(() => network.duplicate(first.to, first.id)).toThrow(/No undelivered message/);
    network.deliver(first.to, first.id);
    expect(network.isHeld(first.to, first.id)).toBe(false);
    expect(network.heldCount).toBe(0);

    network.hold(second.to, second.id);
    network.drop(second.to, second.id);
    expect(network.isHeld(second.to, second.id)).toBe(false);

    network.hold(third.to, third.id);
    cluster.crash(third.to);
    expect(network.isHeld(third.to, third.id)).toBe(false);
    expect(network.heldCount).toBe(0);
    expectSameAsOracle(cluster);
  });
});
