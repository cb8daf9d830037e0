// ReadIndex in 'lease' mode (SPEC Part 2, "Linearizable reads"; thesis §6.4.1): while a
// majority answered messages the leader sent within the last electionTimeout, a read is
// confirmed at once, without a heartbeat round; once the lease expired, reads wait for a
// round. 'lease' needs checkQuorum. Virtual clocks only.

import { ConfigurationError, InMemoryCluster } from '../../lib';
import { Solo, type Data } from '../hardening/helpers';
import { ELECTION_TIMEOUT, electLeader, makeCluster } from '../stability/helpers';
import { ackAll, countHeartbeats, readOn } from './helpers';

const LEASE = { checkQuorum: true, readMode: 'lease' } as const;

/** Server 0 of 3 in lease mode (electionTimeout 150), elected at time 0, its first heartbeats answered at 0 and its no-op committed. */
function leaseLeader(): Solo {
  const solo = new Solo(0, 3, undefined, { ...LEASE, electionTimeout: ELECTION_TIMEOUT, heartbeatTimeout: 50 });
  solo.elect([1]);
  ackAll(solo, [1, 2]);
  const first = readOn(solo.server);
  ackAll(solo, [1, 2]); // the no-op commits; the lease (answers to messages sent at 0) vouches for the leadership
  expect(first.result).toEqual({ type: 'ready', index: 1 });
  return solo;
}

describe("lease mode: 'ready' without a heartbeat round while the lease holds", () => {
  test('a read within the lease is ready inside the call, and nothing is sent for it', () => {
    const solo = leaseLeader();
    solo.now = 30;
    const before = solo.server.nextDeadline();
    expect(before).toBeGreaterThan(solo.now);
    const read = readOn(solo.server);
    expect(read.result).toEqual({ type: 'ready', index: 1 });
    expect(solo.take()).toEqual([]);
    expect(solo.server.nextDeadline()).toBe(before); // no heartbeat made due
  });

  test('the lease runs from when the answered messages were sent, not from when the answers came; then reads wait for a round', () => {
    const solo = leaseLeader();
    solo.now = 50;
    solo.server.tick(); // the regular heartbeat, sent at 50
    solo.now = 140;
    ackAll(solo, [1, 2]); // answered late, at 140: the lease runs to 50 + 150 = 200
    solo.now = 199;
    expect(readOn(solo.server).result).toEqual({ type: 'ready', index: 1 });
    expect(solo.take()).toEqual([]);
    solo.now = 200;
    const late = readOn(solo.server);
    expect(late.result).toBeUndefined();
    expect(solo.server.role).toBe('leader'); // check-quorum still counts the answers of 140
    expect(solo.server.nextDeadline()).toBeLessThanOrEqual(200); // a round is due
    solo.server.tick();
    expect(solo.sent.filter((s) => s.message.type === 'appendEntries')).toHaveLength(2);
    expect(late.result).toBeUndefined();
    ackAll(solo, [1]);
    expect(late.result).toEqual({ type: 'ready', index: 1 });
    // The round renewed the lease.
    solo.now = 300;
    expect(readOn(solo.server).result).toEqual({ type: 'ready', index: 1 });
  });

  test('a new leader has no lease yet: its first read waits for a round', () => {
    const solo = new Solo(0, 3, undefined, { ...LEASE });
    solo.elect([1]);
    solo.take(); // its first heartbeats are lost
    const read = readOn(solo.server);
    ackAll(solo, [1, 2]); // only the no-op's messages, sent in the read's own round
    expect(read.result).toBeUndefined();
    solo.server.tick();
    ackAll(solo, [1, 2]);
    expect(read.result).toEqual({ type: 'ready', index: 1 });
  });

  test('in a cluster: a hundred reads within the lease are ready at once, with no AppendEntries at all', () => {
    const cluster = makeCluster(3, { seed: 21, ...LEASE });
    const leader = electLeader(cluster);
    readOn(leader);
    cluster.advance(1);
    cluster.advance(20);
    const taps = countHeartbeats(cluster);
    const reads = Array.from({ length: 100 }, () => readOn(leader));
    expect(reads.every((r) => r.result?.type === 'ready')).toBe(true);
    expect(taps.appendEntries()).toBe(0);
    taps.stop();
  });

  test('after a partition longer than electionTimeout the lease has expired: a leader that lost it never answers ready', () => {
    const cluster = makeCluster(3, { seed: 22, ...LEASE });
    const old = electLeader(cluster);
    readOn(old);
    cluster.advance(1);
    cluster.disconnect(old.id);
    cluster.advance(ELECTION_TIMEOUT + 1);
    const read = readOn(old);
    expect(read.result?.type).not.toBe('ready');
    cluster.advance(5 * ELECTION_TIMEOUT);
    expect(read.results).toHaveLength(1);
    expect(['forward', 'delay']).toContain(read.result?.type);
  });
});

describe("readMode option", () => {
  test("readMode 'lease' without checkQuorum is a ConfigurationError (Server and InMemoryCluster.make)", () => {
    expect(() => new Solo(0, 3, undefined, { readMode: 'lease' })).toThrow(ConfigurationError);
    expect(() => new Solo(0, 3, undefined, { readMode: 'lease', checkQuorum: false })).toThrow(ConfigurationError);
    expect(() => InMemoryCluster.make<Data>(3, { readMode: 'lease' })).toThrow(ConfigurationError);
    expect(() => InMemoryCluster.make<Data>(3, { readMode: 'lease', checkQuorum: false })).toThrow(ConfigurationError);
    expect(() => new Solo(0, 3, undefined, { readMode: 'lease', checkQuorum: true })).not.toThrow();
    expect(() => InMemoryCluster.make<Data>(3, { readMode: 'lease', checkQuorum: true })).not.toThrow();
    expect(() => new Solo(0, 3, undefined, { readMode: 'safe' })).not.toThrow();
    expect(() => InMemoryCluster.make<Data>(3, { readMode: 'safe' })).not.toThrow();
  });

  test.each([['fast'], ['LEASE'], [''], [1], [true], [{}]])('a bad readMode (%p) is a ConfigurationError naming readMode', (bad) => {
    const mode = bad as unknown as 'safe';
    for (const build of [() => new Solo(0, 3, undefined, { readMode: mode, checkQuorum: true }), () => InMemoryCluster.make<Data>(3, { readMode: mode, checkQuorum: true })]) {
      let error: unknown;
      try {
        build();
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(ConfigurationError);
      expect((error as Error).message).toMatch(/readMode/);
    }
  });
});
