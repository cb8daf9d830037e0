// Hardening: flow control of a leader's AppendEntries.
//
// (a) A heartbeat is not a resend timer for entries that were just sent. An entry sent to a
//     follower and not yet answered must not be sent again by the very next heartbeat: a
//     reply may simply not have had time to come back. Only an entry unanswered for more
//     than a full heartbeat interval (a later heartbeat) may be presumed lost and resent;
//     and lost entries must then be resent (liveness).
//
// (b) maxInflightMessages bounds what a leader has on the wire to one follower. When the
//     leader goes back to probing (a new epoch), the messages it sent before are written
//     off; their replies may still arrive, late. Such a late reply must not free a slot of
//     the new epoch: otherwise every late reply lets one more message out, and the bound
//     is gone. The test counts, at every step, the AppendEntries-with-entries sent to the
//     follower since the reset that are unanswered; a message whose entries the leader
//     already knows to be stored there (last index <= its matchIndex for the follower)
//     needs no answer and is not counted (so freeing slots by acknowledged index, as etcd
//     does, is fine). That count must never exceed maxInflightMessages.

import { InMemoryCluster, type AppendEntriesMessage, type AppendEntriesReply, type Server, type ServerId } from '../../lib';
import { ack, Solo, type Data } from './helpers';

/** Delivers every waiting message and reply until none is left. */
function deliverAll(cluster: InMemoryCluster<Data>): void {
  for (let round = 0; round < 100 && cluster.network.undeliveredCount > 0; round++) {
    for (const { to, id } of cluster.network.allUndelivered()) cluster.network.deliver(to, id);
  }
}

/** The waiting AppendEntries that carry the entry at `index`, as (receiver) list. */
function carrying(cluster: InMemoryCluster<Data>, index: number): ServerId[] {
  return cluster.network
    .allUndelivered()
    .filter(({ message }) => message.type === 'appendEntries' && message.entries.some((e) => e.index === index))
    .map(({ to }) => to);
}

describe('flow control (a): a heartbeat right after a proposal does not resend it', () => {
  function setUp(): { cluster: InMemoryCluster<Data>; leader: Server<Data> } {
    const cluster = InMemoryCluster.make<Data>(3, { seed: 11, delivery: 'manual', electionTimeout: 1000, heartbeatTimeout: 50 });
    cluster.timeout(0);
    deliverAll(cluster); // votes, then the first heartbeats and their answers: both followers match
    const leader = cluster.servers[0] as Server<Data>;
    expect(leader.role).toBe('leader');
    return { cluster, leader };
  }

  it('propose, then heartbeat before any reply: one AppendEntries per follower carries the entry, not two', () => {
    const { cluster, leader } = setUp();
    expect(leader.propose('x')).toMatchObject({ type: 'appended', index: 1 });
    expect(carrying(cluster, 1).sort()).toEqual([1, 2]);
    cluster.heartbeat(0);
    expect(carrying(cluster, 1).sort()).toEqual([1, 2]);
  });

  it('an entry lost on the way is resent within a few heartbeat intervals', () => {
    const { cluster, leader } = setUp();
    leader.propose('x');
    for (const { to, id } of cluster.network.allUndelivered()) cluster.network.drop(to, id);
    const resentTo = new Set<ServerId>();
    for (let interval = 0; interval < 4 && resentTo.size < 2; interval++) {
      cluster.advance(50); // the leader's heartbeat timer fires
      for (const to of carrying(cluster, 1)) resentTo.add(to);
      for (const { to, id } of cluster.network.allUndelivered()) cluster.network.drop(to, id); // lost again
    }
    expect([...resentTo].sort()).toEqual([1, 2]);
  });
});

describe('flow control (b): late replies from before a reset do not free slots of the new epoch', () => {
  it('with maxInflightMessages 2, at most 2 unanswered AppendEntries of the current epoch per follower', () => {
    const solo = new Solo(0, 3, undefined, { electionTimeout: 1000, heartbeatTimeout: 50, maxInflightMessages: 2, maxEntriesPerMessage: 1 });
    const F = 1;
    solo.elect([2]);
    // Both followers match the empty log; entry 1 is then stored on both (matchIndex 1).
    for (const { to, message } of solo.takeAppendEntries()) ack(to, message);
    solo.server.propose('e1');
    for (const { to, message } of solo.takeAppendEntries()) ack(to, message);
    expect(solo.server.leaderState?.matchIndex[F]).toBe(1);

    // Follower 2 answers everything at once from now on; follower F is scripted by hand.
    const toF: Array<AppendEntriesMessage<Data>> = [];
    const pump = (): void => {
      for (let k = 0; k < 100 && solo.sent.length > 0; k++) {
        for (const { to, message } of solo.takeAppendEntries()) {
          if (to === F) toF.push(message);
          else ack(to, message);
        }
      }
    };

    // Epoch A (streaming): m1 = entry 2 (prev 1), m2 = entry 3 (prev 2); F's window is full.
    solo.server.proposeAll(['e2', 'e3', 'e4', 'e5', 'e6', 'e7', 'e8']);
    pump();
    const withEntries = (): Array<AppendEntriesMessage<Data>> => toF.filter((m) => m.entries.length > 0);
    expect(withEntries().map((m) => m.prevLogEntry.index)).toEqual([1, 2]);
    const [m1, m2] = withEntries() as [AppendEntriesMessage<Data>, AppendEntriesMessage<Data>];

    // Nothing comes back from F; heartbeats go by until the leader gives m1, m2 up and
    // resends entry 2: the reset to probing, the start of the new epoch.
    let resetAt = -1;
    for (let interval = 0; interval < 10 && resetAt < 0; interval++) {
      const before = toF.length;
      solo.now += 50;
      solo.server.tick();
      pump();
      const k = toF.findIndex((m, i) => i >= before && m.entries.some((e) => e.index === 2));
      if (k >= 0) resetAt = k;
    }
    expect(resetAt).toBeGreaterThanOrEqual(0);
    const probe = toF[resetAt] as AppendEntriesMessage<Data>;

    const answered = new Set<AppendEntriesMessage<Data>>();
    const checkWindow = (when: string): void => {
      const matchIndex = solo.server.leaderState?.matchIndex[F] ?? 0;
      const open = toF
        .slice(resetAt)
        .filter((m) => m.entries.length > 0 && !answered.has(m) && m.prevLogEntry.index + m.entries.length > matchIndex);
      if (open.length > 2) {
        throw new Error(`${when}: ${open.length} AppendEntries of the current epoch unanswered (prev ${open.map((m) => m.prevLogEntry.index).join(', ')}), above maxInflightMessages 2`);
      }
    };
    const reply = (message: AppendEntriesMessage<Data>, r: AppendEntriesReply, when: string): void => {
      answered.add(message);
      message.replyChannel(r);
      pump();
      checkWindow(when);
    };
    checkWindow('after the reset');

    // F stores entry 2 from the probe and says so: streaming again, the new window fills.
    reply(probe, { follower: F, followerTerm: 1, success: true, matchIndex: 2 }, 'after the probe succeeded');
    // Late reply to m2 (epoch A): it reached F before the probe, when F lacked entry 2: rejected.
    reply(m2, { follower: F, followerTerm: 1, success: false, matchIndex: 1 }, 'after the late rejection of m2');
    // Late reply to m1 (epoch A): it reached F after the probe: success up to 2, nothing new.
    reply(m1, { follower: F, followerTerm: 1, success: true, matchIndex: 2 }, 'after the late success of m1');
    // Another proposal gives the leader one more chance to send.
    solo.server.propose('e9');
    pump();
    checkWindow('after one more proposal');
  });
});
