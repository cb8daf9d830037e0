import { InMemoryCluster, ListenerError, RaftError, type Message, type Reply, type Server } from '../../lib';
import { SafetyObserver, electLeader, logOf, proposeOk, serverAt } from './helpers';

/**
 * Instruments an 'immediate' cluster:
 *  - every handler (a server's processMessage, or a reply closure a server put in a message)
 *    runs inside a depth counter; the deepest nesting seen is recorded;
 *  - every event records the handler depth at which it fired;
 *  - every request and reply gets a sequence number when sent, and the order in which they
 *    are handed over is recorded (FIFO means that order is increasing).
 */
function instrument<T>(cluster: InMemoryCluster<T>): {
  maxDepth: () => number;
  handlers: () => number;
  eventDepths: number[];
  handedOver: number[];
  sent: () => number;
  wrapServers: () => void;
} {
  let depth = 0;
  let maxDepth = 0;
  let handlers = 0;
  let sequence = 0;
  const eventDepths: number[] = [];
  const handedOver: number[] = [];
  const enter = (): void => {
    depth++;
    handlers++;
    maxDepth = Math.max(maxDepth, depth);
  };
  const network = cluster.network;

  const sendMessage = network.sendMessage.bind(network);
  network.sendMessage = (from, to, message, handOver) => {
    const seq = ++sequence;
    const inner = message.replyChannel as (reply: unknown) => void;
    const replyChannel = (reply: unknown): void => {
      enter();
      try {
        inner(reply);
      } finally {
        depth--;
      }
    };
    const wrapped = { ...message, replyChannel } as Message<T>;
    sendMessage(from, to, wrapped, (m) => {
      handedOver.push(seq);
      handOver(m);
    });
  };
  const sendReply = network.sendReply.bind(network);
  network.sendReply = (from, to, reply: Reply, handOver) => {
    const seq = ++sequence;
    sendReply(from, to, reply, () => {
      handedOver.push(seq);
      handOver();
    });
  };

  const wrapped = new WeakSet<Server<T>>();
  const wrapServers = (): void => {
    for (const server of cluster.servers) {
      if (wrapped.has(server)) continue;
      wrapped.add(server);
      const processMessage = server.processMessage.bind(server);
      server.processMessage = (message: Message<T>): void => {
        enter();
        try {
          processMessage(message);
        } finally {
          depth--;
        }
      };
      server.on('roleChange', () => eventDepths.push(depth));
      server.on('leaderChange', () => eventDepths.push(depth));
      server.on('committed', () => eventDepths.push(depth));
    }
  };
  wrapServers();
  return { maxDepth: () => maxDepth, handlers: () => handlers, eventDepths, handedOver, sent: () => sequence, wrapServers };
}

describe('InMemoryCluster: the locked synchronous channel', () => {
  it('no handler ever runs inside another, through elections, replication, crashes and partitions', () => {
    const cluster = InMemoryCluster.make<number>(5, { seed: 3 });
    const probe = instrument(cluster);
    const observer = new SafetyObserver(cluster);
    const settled = (): void => {
      // In 'immediate' mode every message sent has been handed over or lost once a call returns.
      expect(cluster.network.deliveredCount + cluster.network.droppedCount).toBe(probe.sent());
    };

    electLeader(cluster);
    settled();
    for (let k = 0; k < 30; k++) {
      proposeOk(cluster, k);
      settled();
      cluster.advance(5);
      settled();
    }
    const leader = cluster.leader();
    cluster.crash(leader?.id ?? 0);
    cluster.advance(1_000);
    settled();
    cluster.restart(leader?.id ?? 0);
    probe.wrapServers();
    observer.attach();
    cluster.partition([0, 1], [2, 3, 4]);
    cluster.advance(1_000);
    cluster.propose(100);
    settled();
    cluster.heal();
    cluster.advance(1_000);
    cluster.timeout(0);
    settled();
    cluster.heartbeat(cluster.leader()?.id ?? 0);
    settled();
    cluster.advance(1_000);
    settled();

    expect(probe.handlers()).toBeGreaterThan(500);
    expect(probe.maxDepth()).toBe(1);
    expect(probe.eventDepths.length).toBeGreaterThan(50);
    expect(Math.max(...probe.eventDepths)).toBeLessThanOrEqual(1);
    // FIFO: hand-overs happen in sending order.
    expect(probe.handedOver.length).toBe(cluster.network.deliveredCount);
    for (let k = 1; k < probe.handedOver.length; k++) {
      expect(probe.handedOver[k]).toBeGreaterThan(probe.handedOver[k - 1] ?? 0);
    }
    observer.check();
  });

  it("in 'immediate' mode the followers already hold an entry when cluster.propose returns", () => {
    const cluster = InMemoryCluster.make<string>(3, { seed: 6 });
    const leader = electLeader(cluster);
    const result = cluster.propose('now');
    expect(result).toEqual({ type: 'appended', index: 1, term: leader.currentTerm });
    for (const server of cluster.servers) expect(logOf(server)).toEqual([{ index: 1, term: leader.currentTerm, data: 'now' }]);
    // ... and the leader has counted their replies: the entry is committed.
    expect(cluster.committed(leader.id)).toEqual([{ index: 1, term: leader.currentTerm, data: 'now' }]);
    expect(leader.leaderState?.matchIndex).toEqual([1, 1, 1]);
  });

  it('calls made directly on cluster.servers[i] are locked too: the leader\'s propose delivers before returning', () => {
    const cluster = InMemoryCluster.make<string>(3, { seed: 6 });
    const probe = instrument(cluster);
    const leader = electLeader(cluster);
    leader.propose('direct');
    expect(cluster.servers.every((s) => logOf(s).length === 1)).toBe(true);
    expect(cluster.committed(leader.id)).toHaveLength(1);
    expect(probe.maxDepth()).toBe(1);
  });

  it('a listener that calls back into the cluster from inside a handler does not make handlers nest', () => {
    const cluster = InMemoryCluster.make<number>(3, { seed: 10 });
    const probe = instrument(cluster);
    const observer = new SafetyObserver(cluster);
    const leader = electLeader(cluster);
    const follower = cluster.servers.find((s) => s !== leader);
    if (follower === undefined) throw new Error('no follower');
    let reentered = 0;
    let refused = 0;
    follower.on('committed', (entries) => {
      // Runs inside the follower's processMessage: propose a follow-up entry to the leader right away.
      for (const entry of entries) {
        if (entry.data < 5) {
          reentered++;
          try {
            cluster.propose(entry.data + 100);
          } catch (error) {
            expect(error).toBeInstanceOf(RaftError); // refusing a nested call is acceptable too
            refused++;
          }
        }
      }
    });
    proposeOk(cluster, 0);
    cluster.advance(500);
    expect(reentered).toBe(1);
    expect(probe.maxDepth()).toBe(1);
    expect(cluster.committed(leader.id).map((e) => e.data)).toEqual(refused === 0 ? [0, 100] : [0]);
    observer.check();
  });

  // SPEC: "No handler ever runs inside another." Here a listener of server 1 calls back into
  // server 1 itself (cluster.timeout(1)) while server 1 is still inside processMessage. The
  // call must not run nested (deferring it or refusing it with a RaftError are both fine):
  // run nested, it lets server 1 start an election half-way through handling an
  // AppendEntries, which then carries on with stale locals.
  it('a listener that calls back into the same server from inside its handler does not run nested', () => {
    const cluster = InMemoryCluster.make<string>(3, { delivery: 'manual', seed: 1 });
    const observer = new SafetyObserver(cluster);
    const s1 = serverAt(cluster, 1);
    // Server 0 leads term 1 (vote of 2); server 1 is a candidate of term 1.
    cluster.timeout(0);
    for (const { id } of cluster.network.undelivered(2)) cluster.network.deliver(2, id);
    for (const { id } of cluster.network.undelivered(0)) cluster.network.deliver(0, id);
    expect(serverAt(cluster, 0).role).toBe('leader');
    cluster.timeout(1);
    expect(s1.role).toBe('candidate');

    let inside = 0;
    const nested: string[] = [];
    const processMessage = s1.processMessage.bind(s1);
    s1.processMessage = (message: Message<string>): void => {
      inside++;
      try {
        processMessage(message);
      } finally {
        inside--;
      }
    };
    const triggerTimeout = s1.triggerTimeout.bind(s1);
    s1.triggerTimeout = (): void => {
      if (inside > 0) nested.push('triggerTimeout ran inside processMessage');
      triggerTimeout();
    };
    let calledBack = false;
    s1.on('roleChange', (role) => {
      if (role !== 'follower' || calledBack) return;
      calledBack = true;
      try {
        cluster.timeout(1);
      } catch (error) {
        expect(error).toBeInstanceOf(RaftError); // refusing the nested call is acceptable
      }
    });
    const heartbeat = cluster.network.undelivered(1).find((m) => (m.message as { type: string }).type === 'appendEntries');
    expect(heartbeat).toBeDefined();
    cluster.network.deliver(1, heartbeat?.id ?? -1);

    expect(calledBack).toBe(true);
    expect(nested).toEqual([]);
    // Whatever happened, server 1 must be consistent: a candidate knows no leader, and no
    // server is announced as the leader of a term it never won.
    if (s1.role === 'candidate') expect(s1.leaderId).toBeUndefined();
    observer.check();
  });

  it('a listener that throws is not swallowed (ListenerError, its cause the error), and the channel unlocks afterwards', () => {
    const cluster = InMemoryCluster.make<string>(3, { seed: 6 });
    const leader = electLeader(cluster);
    const boom = new Error('listener failed');
    const listener = (): void => {
      throw boom;
    };
    leader.on('committed', listener);
    let thrown: unknown;
    try {
      cluster.propose('x');
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(ListenerError);
    expect((thrown as ListenerError).cause).toBe(boom);
    leader.off('committed', listener);
    // The lock was released: a later call drains its messages before returning.
    proposeOk(cluster, 'y');
    expect(cluster.servers.every((s) => logOf(s).map((e) => e.data).includes('y'))).toBe(true);
  });
});
