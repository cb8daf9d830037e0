// Leadership transfer (SPEC Part 2, thesis §3.10): the leader stops taking proposals, brings
// the target up to date, sends it timeoutNow, and the target runs at once; the leader gives
// up after an election timeout.

import type { AppendEntriesReply, LogEntry, RequestVoteMessage, TimeoutNowMessage } from '../../lib';
import { Solo, appendEntries, storeWith } from '../hardening/helpers';
import { ELECTION_TIMEOUT, HEARTBEAT_TIMEOUT, STABLE, electLeader, logOf, makeCluster, others, serverAt, tapVotes, timeoutNow } from './helpers';

const CONFIGS = [
  ['no options', {}],
  ['checkQuorum', { checkQuorum: true }],
  ['preVote + checkQuorum', STABLE],
] as const;

describe('leadership transfer through the cluster', () => {
  test.each(CONFIGS)('to an up-to-date follower: it becomes leader in a later term (%s)', (_name, options) => {
    const cluster = makeCluster(3, options);
    const leader = electLeader(cluster);
    for (let k = 0; k < 3; k++) expect(cluster.propose(`a${k}`).type).toBe('appended');
    cluster.advance(HEARTBEAT_TIMEOUT + 1);
    const term = leader.currentTerm;
    const target = serverAt(cluster, others(cluster, leader.id)[0] as number);
    const votes = tapVotes(cluster);
    expect(cluster.transferLeadership(target.id)).toEqual({ type: 'started' });
    expect(cluster.runUntil(() => cluster.leader() === target, ELECTION_TIMEOUT)).toBe(true);
    expect(target.currentTerm).toBeGreaterThan(term);
    expect(leader.role).toBe('follower');
    // The target ran at once, without a poll, its RequestVotes marked for the transfer.
    const fromTarget = votes.filter(({ from }) => from === target.id);
    expect(fromTarget.length).toBeGreaterThan(0);
    for (const { message } of fromTarget) {
      expect(message.leadershipTransfer).toBe(true);
      expect(message.preVote).toBeUndefined();
    }
    // The old leader forwards proposals to the new one; the new one takes them.
    cluster.advance(HEARTBEAT_TIMEOUT + 1);
    expect(leader.propose('after')).toEqual({ type: 'forward', leaderId: target.id });
    expect(cluster.propose('after').type).toBe('appended');
    cluster.advance(HEARTBEAT_TIMEOUT + 1);
    expect(logOf(leader).map((e) => e.data)).toEqual(['a0', 'a1', 'a2', 'after']);
  });

  test('to a lagging follower: it is caught up first, its log equals the leader\'s when timeoutNow reaches it', () => {
    const cluster = makeCluster(3, STABLE);
    const leader = electLeader(cluster);
    const target = serverAt(cluster, others(cluster, leader.id)[0] as number);
    cluster.disconnect(target.id);
    for (let k = 0; k < 20; k++) expect(cluster.propose(`x${k}`).type).toBe('appended');
    cluster.advance(1);
    cluster.reconnect(target.id);
    expect(logOf(target).length).toBeLessThan(logOf(leader).length);
    const seen: Array<{ target: LogEntry<string>[]; leader: LogEntry<string>[]; message: TimeoutNowMessage }> = [];
    cluster.network.tap(({ to, message }) => {
      if (message.type === 'timeoutNow') seen.push({ target: logOf(serverAt(cluster, to)), leader: logOf(leader), message });
    });
    const leaderLog = logOf(leader);
    expect(cluster.transferLeadership(target.id)).toEqual({ type: 'started' });
    expect(cluster.runUntil(() => cluster.leader() === target, ELECTION_TIMEOUT)).toBe(true);
    expect(seen).toHaveLength(1);
    const [first] = seen as [(typeof seen)[number]];
    expect(first.target).toEqual(first.leader);
    expect(first.target).toEqual(leaderLog);
    expect(first.message.leaderId).toBe(leader.id);
  });

  test('to a crashed follower: it aborts after an election timeout; propose answers delay meanwhile and appended after', () => {
    const cluster = makeCluster(3);
    const leader = electLeader(cluster);
    const target = others(cluster, leader.id)[0] as number;
    cluster.crash(target);
    const term = leader.currentTerm;
    expect(cluster.transferLeadership(target)).toEqual({ type: 'started' });
    expect(leader.propose('during')).toEqual({ type: 'delay' });
    expect(leader.proposeAll(['during'])).toEqual({ type: 'delay' });
    cluster.advance(ELECTION_TIMEOUT - 1);
    expect(leader.propose('still during')).toEqual({ type: 'delay' });
    cluster.advance(1);
    expect(leader.role).toBe('leader');
    expect(leader.currentTerm).toBe(term);
    const after = leader.propose('after');
    expect(after.type).toBe('appended');
    cluster.advance(HEARTBEAT_TIMEOUT + 1);
    expect(logOf(leader).map((e) => e.data)).toEqual(['after']);
    expect(leader.volatileState.commitIndex).toBe(1);
  });

  test('a second transfer to the same target while one runs changes nothing (the deadline stays)', () => {
    const cluster = makeCluster(3);
    const leader = electLeader(cluster);
    const target = others(cluster, leader.id)[0] as number;
    cluster.crash(target);
    const start = cluster.now;
    expect(cluster.transferLeadership(target)).toEqual({ type: 'started' });
    cluster.advance(100);
    expect(cluster.transferLeadership(target)).toEqual({ type: 'started' });
    cluster.advance(start + ELECTION_TIMEOUT - 1 - cluster.now);
    expect(leader.propose('x')).toEqual({ type: 'delay' });
    cluster.advance(1); // one election timeout after the FIRST call
    expect(leader.propose('x').type).toBe('appended');
  });

  test('a second transfer to another target while one runs replaces it', () => {
    const cluster = makeCluster(3, STABLE);
    const leader = electLeader(cluster);
    const [crashed, alive] = others(cluster, leader.id) as [number, number];
    cluster.crash(crashed);
    expect(cluster.transferLeadership(crashed)).toEqual({ type: 'started' });
    expect(leader.propose('x')).toEqual({ type: 'delay' });
    cluster.advance(100);
    expect(cluster.transferLeadership(alive)).toEqual({ type: 'started' });
    expect(cluster.runUntil(() => cluster.leader()?.id === alive, ELECTION_TIMEOUT)).toBe(true);
    expect(serverAt(cluster, alive).currentTerm).toBeGreaterThan(1);
  });

  test('a replacing transfer gets its own election timeout', () => {
    const cluster = makeCluster(5);
    const leader = electLeader(cluster);
    const [a, b] = others(cluster, leader.id) as [number, number];
    cluster.crash(a);
    cluster.crash(b);
    expect(cluster.transferLeadership(a)).toEqual({ type: 'started' });
    cluster.advance(100);
    const replaced = cluster.now;
    expect(cluster.transferLeadership(b)).toEqual({ type: 'started' });
    cluster.advance(replaced + ELECTION_TIMEOUT - 1 - cluster.now);
    expect(leader.propose('x')).toEqual({ type: 'delay' });
    cluster.advance(1);
    expect(leader.propose('x').type).toBe('appended');
  });

  test('a follower answers forward, and a cluster without a leader answers delay', () => {
    const cluster = makeCluster(3);
    expect(cluster.transferLeadership(1)).toEqual({ type: 'delay' });
    const leader = electLeader(cluster);
    const [follower, other] = others(cluster, leader.id) as [number, number];
    expect(serverAt(cluster, follower).transferLeadership(other)).toEqual({ type: 'forward', leaderId: leader.id });
    expect(leader.propose('x').type).toBe('appended'); // a forward starts nothing
  });
});

describe('timeoutNow on the receiver', () => {
  /** Server 1 of 3 following leader 0 of term 3. */
  function follower(options: { preVote?: boolean; checkQuorum?: boolean } = {}): Solo {
    const solo = new Solo(1, 3, storeWith([1, 3], 3), options);
    const acks: AppendEntriesReply[] = [];
    solo.server.processMessage(appendEntries({ term: 3, leaderId: 0, prev: { index: 2, term: 3 } }, acks));
    if (acks[0]?.success !== true) throw new Error('setup: not following');
    solo.take();
    return solo;
  }

  test('from the leader of the current term: an election at once, skipping pre-vote, marked leadershipTransfer', () => {
    const solo = follower(STABLE);
    expect(timeoutNow(solo.server, { term: 3, leaderId: 0 })).toEqual([{ follower: 1, followerTerm: 4 }]);
    expect(solo.server.role).toBe('candidate');
    expect(solo.server.currentTerm).toBe(4);
    const votes = solo.take().flatMap(({ message }) => (message.type === 'requestVote' ? [message as RequestVoteMessage] : []));
    expect(votes).toHaveLength(2);
    for (const message of votes) {
      expect(message.leadershipTransfer).toBe(true);
      expect(message.preVote).toBeUndefined();
      expect(message.candidateTerm).toBe(4);
    }
  });

  test('from a stale term: refused with the receiver\'s term, no election', () => {
    const solo = follower(STABLE);
    expect(timeoutNow(solo.server, { term: 2, leaderId: 0 })).toEqual([{ follower: 1, followerTerm: 3 }]);
    expect(solo.server.role).toBe('follower');
    expect(solo.server.currentTerm).toBe(3);
    expect(solo.server.leaderId).toBe(0);
    expect(solo.take()).toEqual([]);
  });

  test('from a server that is not the leader of the current term: refused with the receiver\'s term, no election', () => {
    const solo = follower();
    expect(timeoutNow(solo.server, { term: 3, leaderId: 2 })).toEqual([{ follower: 1, followerTerm: 3 }]);
    expect(solo.server.role).toBe('follower');
    expect(solo.server.currentTerm).toBe(3);
    expect(solo.take()).toEqual([]);
    // A server that knows no leader refuses too.
    const lost = new Solo(1, 3, storeWith([1], 3));
    expect(timeoutNow(lost.server, { term: 3, leaderId: 0 })).toEqual([{ follower: 1, followerTerm: 3 }]);
    expect(lost.server.role).toBe('follower');
    expect(lost.take()).toEqual([]);
  });

  test('a leader answers a timeoutNow of its own term without an election', () => {
    const solo = new Solo(1, 3, storeWith([], 0));
    solo.elect([2]);
    const term = solo.server.currentTerm;
    solo.take();
    expect(timeoutNow(solo.server, { term, leaderId: 0 })).toEqual([{ follower: 1, followerTerm: term }]);
    expect(solo.server.role).toBe('leader');
    expect(solo.server.currentTerm).toBe(term);
  });
});
