// Check-quorum (SPEC Part 2, thesis §6.2 and §9.6): a leader that has not heard from a
// majority within an election timeout steps down; a server in a current leader's lease
// refuses votes without adopting the candidate's term, unless the candidate runs for a
// leadership transfer.

import { InMemoryPersistentState, type AppendEntriesReply } from '../../lib';
import { Solo, appendEntries, storeWith } from '../hardening/helpers';
import { ELECTION_TIMEOUT, HEARTBEAT_TIMEOUT, STABLE, electLeader, makeCluster, others, recordEvents, requestVote, serverAt, terms } from './helpers';

describe('check-quorum: a leader without a majority steps down', () => {
  test('a minority leader steps down within one election timeout of losing the majority', () => {
    const cluster = makeCluster(5, { checkQuorum: true });
    const leader = electLeader(cluster);
    cluster.advance(3 * HEARTBEAT_TIMEOUT + 7); // mid-way between heartbeats
    const term = leader.currentTerm;
    const events = recordEvents(leader);
    const [a] = others(cluster, leader.id) as [number];
    const cut = cluster.now;
    cluster.partition([leader.id, a], others(cluster, leader.id, a));
    expect(cluster.runUntil(() => leader.role !== 'leader', 10 * ELECTION_TIMEOUT)).toBe(true);
    const elapsed = cluster.now - cut;
    expect(elapsed).toBeLessThanOrEqual(ELECTION_TIMEOUT);
    // It had heard from the majority at most a heartbeat period before the cut.
    expect(elapsed).toBeGreaterThanOrEqual(ELECTION_TIMEOUT - HEARTBEAT_TIMEOUT);
    expect(leader.role).toBe('follower');
    expect(leader.leaderId).toBeUndefined();
    expect(leader.currentTerm).toBe(term); // stepping down changes no term
    expect(events.roles).toEqual([['follower', term]]);
    expect(events.leaders).toEqual([[undefined, term]]);
    expect(leader.propose('x').type).toBe('delay');
  });

  test('a leader that keeps hearing from a majority never steps down', () => {
    const cluster = makeCluster(5, { checkQuorum: true });
    const leader = electLeader(cluster);
    const term = leader.currentTerm;
    const [a, b] = others(cluster, leader.id) as [number, number];
    cluster.partition([leader.id, a, b], others(cluster, leader.id, a, b)); // a bare majority
    cluster.advance(100 * ELECTION_TIMEOUT);
    expect(leader.role).toBe('leader');
    expect(leader.currentTerm).toBe(term);
  });

  test('without checkQuorum a leader cut off from everybody stays leader (Part 1 behaviour)', () => {
    const cluster = makeCluster(3);
    const leader = electLeader(cluster);
    cluster.disconnect(leader.id);
    cluster.advance(100 * ELECTION_TIMEOUT);
    expect(leader.role).toBe('leader');
  });

  test('a leader of a cluster of one never steps down', () => {
    const cluster = makeCluster(1, STABLE);
    const leader = electLeader(cluster);
    cluster.advance(100 * ELECTION_TIMEOUT);
    expect(leader.role).toBe('leader');
  });
});

describe('check-quorum: votes refused in a leader\'s lease', () => {
  test('a follower that heard from a current leader refuses a vote without adopting the candidate\'s term', () => {
    const cluster = makeCluster(3, { checkQuorum: true });
    const leader = electLeader(cluster);
    const [follower, candidate] = others(cluster, leader.id).map((id) => serverAt(cluster, id)) as [ReturnType<typeof serverAt<string>>, ReturnType<typeof serverAt<string>>];
    const term = follower.currentTerm;
    const votedFor = follower.persistentState.votedFor;
    const replies = requestVote(follower, { term: term + 5, candidateId: candidate.id, last: { index: 100, term: term + 5 } });
    expect(replies).toEqual([{ voter: follower.id, voterTerm: term, voteGranted: false }]);
    expect(follower.currentTerm).toBe(term);
    expect(follower.persistentState.votedFor).toBe(votedFor);
    expect(follower.leaderId).toBe(leader.id);
    expect(follower.role).toBe('follower');
    expect(terms(cluster)).toEqual([term, term, term]);
  });

  test('the leader itself refuses a vote of a later term and stays leader', () => {
    const cluster = makeCluster(3, { checkQuorum: true });
    const leader = electLeader(cluster);
    const term = leader.currentTerm;
    const candidate = others(cluster, leader.id)[0] as number;
    expect(requestVote(leader, { term: term + 1, candidateId: candidate, last: { index: 100, term: term + 1 } })).toEqual([{ voter: leader.id, voterTerm: term, voteGranted: false }]);
    expect(leader.role).toBe('leader');
    expect(leader.currentTerm).toBe(term);
  });

  test('a RequestVote with leadershipTransfer: true is not refused for the lease', () => {
    const cluster = makeCluster(3, { checkQuorum: true });
    const leader = electLeader(cluster);
    const [follower, candidate] = others(cluster, leader.id) as [number, number];
    const server = serverAt(cluster, follower);
    const term = server.currentTerm;
    const replies = requestVote(server, { term: term + 1, candidateId: candidate, last: { index: 100, term: term + 1 }, leadershipTransfer: true });
    expect(replies).toEqual([{ voter: follower, voterTerm: term + 1, voteGranted: true }]);
    expect(server.currentTerm).toBe(term + 1);
    expect(server.persistentState.votedFor).toBe(candidate);
  });

  test('without checkQuorum a real vote is not refused for the lease (only polls are)', () => {
    const cluster = makeCluster(3, { preVote: true });
    const leader = electLeader(cluster);
    const [follower, candidate] = others(cluster, leader.id) as [number, number];
    const server = serverAt(cluster, follower);
    const term = server.currentTerm;
    expect(requestVote(server, { term: term + 1, candidateId: candidate, last: { index: 100, term: term + 1 } })).toEqual([{ voter: follower, voterTerm: term + 1, voteGranted: true }]);
  });

  test('once the lease is over (an election timeout without the leader) the vote is granted', () => {
    const voter = new Solo(1, 3, storeWith([1], 1), { checkQuorum: true });
    const acks: AppendEntriesReply[] = [];
    voter.server.processMessage(appendEntries({ term: 1, leaderId: 0, prev: { index: 1, term: 1 } }, acks));
    const vote = { term: 2, candidateId: 2, last: { index: 1, term: 1 } };
    voter.now = ELECTION_TIMEOUT - 1;
    expect(requestVote(voter.server, vote)).toEqual([{ voter: 1, voterTerm: 1, voteGranted: false }]);
    voter.now = ELECTION_TIMEOUT;
    expect(requestVote(voter.server, vote)).toEqual([{ voter: 1, voterTerm: 2, voteGranted: true }]);
  });
});

describe('check-quorum: a lower-term AppendEntries is still answered', () => {
  test('the stale leader gets a reply with the higher term and steps down', () => {
    // Server 1 follows leader 2 of term 2 (and is in its lease); server 0 still thinks it leads term 1.
    const receiver = new Solo(1, 3, storeWith([1], 2), STABLE);
    const fromCurrent: AppendEntriesReply[] = [];
    receiver.server.processMessage(appendEntries({ term: 2, leaderId: 2, prev: { index: 1, term: 1 } }, fromCurrent));
    expect(fromCurrent[0]?.success).toBe(true);
    const old = new Solo(0, 3, new InMemoryPersistentState<string>(), { checkQuorum: true });
    old.elect([2]);
    expect(old.server.currentTerm).toBe(1);
    old.server.triggerHeartbeat();
    const heartbeat = old.takeAppendEntries().find(({ to }) => to === 1);
    expect(heartbeat).toBeDefined();
    const replies: AppendEntriesReply[] = [];
    const message = (heartbeat as NonNullable<typeof heartbeat>).message;
    receiver.server.processMessage({ ...message, replyChannel: (reply: AppendEntriesReply) => void replies.push(reply) });
    expect(replies).toHaveLength(1);
    expect(replies[0]).toMatchObject({ follower: 1, followerTerm: 2, success: false });
    expect(receiver.server.currentTerm).toBe(2);
    expect(receiver.server.leaderId).toBe(2);
    message.replyChannel(replies[0] as AppendEntriesReply);
    expect(old.server.role).toBe('follower');
    expect(old.server.currentTerm).toBe(2);
  });

  test('a partitioned old leader steps down and rejoins as a follower of the new leader (preVote + checkQuorum)', () => {
    const cluster = makeCluster(5, STABLE);
    const old = electLeader(cluster);
    cluster.disconnect(old.id);
    expect(cluster.runUntil(() => cluster.leader() !== undefined && cluster.leader() !== old, 20 * ELECTION_TIMEOUT)).toBe(true);
    const next = cluster.leader() as NonNullable<ReturnType<typeof cluster.leader>>;
    expect(old.role).toBe('follower');
    expect(next.currentTerm).toBeGreaterThan(old.currentTerm);
    const term = next.currentTerm;
    cluster.reconnect(old.id);
    cluster.advance(10 * ELECTION_TIMEOUT);
    expect(cluster.leader()).toBe(next);
    expect(old.role).toBe('follower');
    expect(old.leaderId).toBe(next.id);
    expect(terms(cluster)).toEqual([term, term, term, term, term]);
  });
});
