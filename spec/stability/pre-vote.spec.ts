// Pre-vote (SPEC Part 2, thesis §9.6): a server polls before it raises its term, and nobody
// changes term or vote for a poll.

import { type AppendEntriesReply, type RequestVoteMessage, type RequestVoteReply, type RequestVoteReplyEnvelope } from '../../lib';
import { Solo, appendEntries, deliverTo, storeWith } from '../hardening/helpers';
import { BufferedState, fill } from '../paper/harness';
import { ELECTION_TIMEOUT, STABLE, electLeader, makeCluster, others, recordEvents, requestVote, serverAt, tapVotes, terms } from './helpers';

/** The RequestVotes a Solo has sent since the last take, dropping everything else. */
function takeVotes(solo: Solo): Array<{ to: number; message: RequestVoteMessage }> {
  return solo.take().flatMap(({ to, message }) => (message.type === 'requestVote' ? [{ to, message }] : []));
}

describe('pre-vote', () => {
  test('a poll is a RequestVote with preVote: true for currentTerm + 1, and the poller keeps its term and vote', () => {
    const poller = new Solo(0, 3, storeWith([1, 2], 4), { preVote: true });
    poller.server.triggerTimeout();
    const polls = takeVotes(poller);
    expect(polls.map((p) => p.to).sort()).toEqual([1, 2]);
    for (const { message } of polls) {
      expect(message.preVote).toBe(true);
      expect(message.candidateTerm).toBe(5);
      expect(message.candidateId).toBe(0);
      expect(message.candidateLastLogEntry).toEqual({ index: 2, term: 2 });
      expect('leadershipTransfer' in message).toBe(false);
    }
    expect(poller.server.currentTerm).toBe(4);
    expect(poller.server.persistentState.votedFor).toBeUndefined();
    expect(poller.server.role).toBe('follower');
  });

  test('a poll from a lagging server (stale log) fails and changes no term anywhere', () => {
    const poller = new Solo(0, 3, storeWith([1], 1), { preVote: true });
    const voters = [new Solo(1, 3, storeWith([1, 1, 1], 1), { preVote: true }), new Solo(2, 3, storeWith([1, 1], 1), { preVote: true })];
    poller.server.triggerTimeout();
    const polls = takeVotes(poller);
    expect(polls).toHaveLength(2);
    for (const { to, message } of polls) {
      const replies = deliverTo((voters[to - 1] as Solo).server, message) as RequestVoteReply[];
      expect(replies).toEqual([{ voter: to, voterTerm: 1, voteGranted: false }]);
      for (const reply of replies) message.replyChannel(reply);
    }
    // No real election: nothing but polls was ever sent, and every term is still 1.
    expect(poller.server.role).toBe('follower');
    expect(takeVotes(poller)).toEqual([]);
    expect([poller, ...voters].map((s) => s.server.currentTerm)).toEqual([1, 1, 1]);
    expect([poller, ...voters].map((s) => s.server.persistentState.votedFor)).toEqual([undefined, undefined, undefined]);
  });

  test('a lagging server polling in a live cluster (preVote alone) never raises any term', () => {
    const cluster = makeCluster(3, { preVote: true });
    const leader = electLeader(cluster);
    const [lagger, other] = others(cluster, leader.id) as [number, number];
    cluster.disconnect(lagger);
    for (let k = 0; k < 5; k++) expect(cluster.propose(`x${k}`).type).toBe('appended');
    cluster.advance(10);
    const before = terms(cluster);
    // Isolated, it polls again and again; nobody hears it, and its term stays.
    cluster.advance(20 * ELECTION_TIMEOUT);
    expect(terms(cluster)).toEqual(before);
    // Connected, its polls reach servers that have a longer log (and a current leader).
    cluster.reconnect(lagger);
    cluster.timeout(lagger);
    expect(terms(cluster)).toEqual(before);
    expect(cluster.leader()).toBe(leader);
    expect(serverAt(cluster, other).role).toBe('follower');
  });

  test('a pre-vote reply never counts as a vote: a late granted poll reply during the real election makes no leader', () => {
    const cluster = makeCluster(3, { preVote: true, delivery: 'manual' });
    cluster.timeout(0);
    const polls = cluster.network.allUndelivered();
    expect(polls).toHaveLength(2);
    for (const { to, id } of polls) cluster.network.deliver(to, id);
    const replies = cluster.network.undelivered(0);
    expect(replies).toHaveLength(2);
    for (const { message } of replies) expect((message as RequestVoteReplyEnvelope).reply.voteGranted).toBe(true);
    const [first, late] = replies as [typeof replies[number], typeof replies[number]];
    cluster.network.deliver(0, first.id);
    // The poll won: the real election has started in term 1 with the server's own vote only.
    const server = serverAt(cluster, 0);
    expect(server.role).toBe('candidate');
    expect(server.currentTerm).toBe(1);
    // The other granted poll reply arrives now: it must not count as the second vote.
    cluster.network.deliver(0, late.id);
    expect(server.role).toBe('candidate');
    expect(cluster.leader()).toBeUndefined();
    // The real RequestVotes are waiting (not polls), and a real vote does make it leader.
    const real = cluster.network.allUndelivered().filter(({ message }) => message.type === 'requestVote');
    expect(real).toHaveLength(2);
    for (const { message } of real) expect((message as RequestVoteMessage).preVote).toBeUndefined();
    const one = real[0] as (typeof real)[number];
    cluster.network.deliver(one.to, one.id);
    const vote = cluster.network.undelivered(0).find(({ message }) => message.type === 'requestVoteReply');
    cluster.network.deliver(0, (vote as NonNullable<typeof vote>).id);
    expect(server.role).toBe('leader');
  });

  test('a server that starts polling forgets its leader (leaderChange to undefined) and stays a follower', () => {
    const cluster = makeCluster(3, { preVote: true });
    const leader = electLeader(cluster);
    const follower = serverAt(cluster, others(cluster, leader.id)[0] as number);
    expect(follower.leaderId).toBe(leader.id);
    const events = recordEvents(follower);
    const term = follower.currentTerm;
    cluster.timeout(follower.id); // the others are in the leader's lease: the poll fails
    expect(follower.leaderId).toBeUndefined();
    expect(events.leaders).toEqual([[undefined, term]]);
    expect(follower.role).toBe('follower');
    expect(events.roles).toEqual([]);
    expect(follower.currentTerm).toBe(term);
    // The leader's next heartbeat brings it back.
    cluster.advance(60);
    expect(follower.leaderId).toBe(leader.id);
    expect(events.roles).toEqual([]);
  });

  test('a poller becomes candidate only when the poll wins (no roleChange before)', () => {
    const cluster = makeCluster(3, { preVote: true, delivery: 'manual' });
    const server = serverAt(cluster, 0);
    const events = recordEvents(server);
    cluster.timeout(0);
    expect(server.role).toBe('follower');
    const poll = cluster.network.undelivered(1)[0];
    cluster.network.deliver(1, (poll as NonNullable<typeof poll>).id);
    expect(events.roles).toEqual([]);
    const reply = cluster.network.undelivered(0)[0];
    cluster.network.deliver(0, (reply as NonNullable<typeof reply>).id);
    expect(events.roles).toEqual([['candidate', 1]]);
    expect(server.currentTerm).toBe(1);
  });

  test('a poll of a stale term gets an explicit refusal carrying the voter\'s term, not silence', () => {
    const voter = new Solo(1, 3, storeWith([1, 1], 5), { preVote: true });
    // Poller at term 2 asks about term 3, below the voter's 5; its log is as up to date.
    const replies = requestVote(voter.server, { term: 3, candidateId: 0, last: { index: 2, term: 1 }, preVote: true });
    expect(replies).toEqual([{ voter: 1, voterTerm: 5, voteGranted: false }]);
    // A poll for the voter's own term is refused too.
    expect(requestVote(voter.server, { term: 5, candidateId: 0, last: { index: 2, term: 1 }, preVote: true })).toEqual([{ voter: 1, voterTerm: 5, voteGranted: false }]);
    expect(voter.server.currentTerm).toBe(5);
  });

  test('a poller refused with a later term adopts that term (and stays a follower)', () => {
    const poller = new Solo(0, 3, storeWith([1], 2), { preVote: true });
    poller.server.triggerTimeout();
    const polls = takeVotes(poller);
    const voter = new Solo(1, 3, storeWith([1], 5), { preVote: true });
    const poll = polls.find((p) => p.to === 1) as (typeof polls)[number];
    const replies = deliverTo(voter.server, poll.message) as RequestVoteReply[];
    expect(replies).toEqual([{ voter: 1, voterTerm: 5, voteGranted: false }]);
    poll.message.replyChannel(replies[0] as RequestVoteReply);
    expect(poller.server.currentTerm).toBe(5);
    expect(poller.server.role).toBe('follower');
    expect(poller.server.persistentState.votedFor).toBeUndefined();
  });

  test('nobody changes term or vote for a poll: a granted poll writes nothing to the voter\'s persistent state', () => {
    const store = fill(new BufferedState(), { term: 1, log: [1] });
    store.sync();
    const journal = store.journal.length;
    const voter = new Solo(1, 3, store, { preVote: true });
    const replies = requestVote(voter.server, { term: 2, candidateId: 0, last: { index: 1, term: 1 }, preVote: true });
    expect(replies).toEqual([{ voter: 1, voterTerm: 1, voteGranted: true }]);
    // Refused polls (stale log; later term) write nothing either.
    expect(requestVote(voter.server, { term: 9, candidateId: 2, last: { index: 0, term: 0 }, preVote: true })).toEqual([{ voter: 1, voterTerm: 1, voteGranted: false }]);
    expect(voter.server.currentTerm).toBe(1);
    expect(store.votedFor).toBeUndefined();
    expect(store.journal.slice(journal).filter((op) => op !== 'sync()')).toEqual([]);
    // And a real vote for term 2 afterwards is still free to give.
    expect(requestVote(voter.server, { term: 2, candidateId: 2, last: { index: 1, term: 1 } })).toEqual([{ voter: 1, voterTerm: 2, voteGranted: true }]);
  });

  test('nobody changes term or vote for a poll: the poller writes nothing when it starts polling', () => {
    const store = fill(new BufferedState(), { term: 3, log: [1, 3] });
    store.sync();
    const journal = store.journal.length;
    const poller = new Solo(0, 5, store, { preVote: true });
    poller.server.triggerTimeout();
    expect(takeVotes(poller)).toHaveLength(4);
    expect(store.journal.slice(journal).filter((op) => op !== 'sync()')).toEqual([]);
    expect(poller.server.currentTerm).toBe(3);
    expect(store.votedFor).toBeUndefined();
  });

  test('a voter refuses a poll while it is in a leader\'s lease (preVote alone), and grants it once the lease is over', () => {
    const voter = new Solo(1, 3, storeWith([1], 1), { preVote: true });
    const acks: AppendEntriesReply[] = [];
    voter.server.processMessage(appendEntries({ term: 1, leaderId: 0, prev: { index: 1, term: 1 } }, acks));
    expect(acks[0]?.success).toBe(true);
    const poll = { term: 2, candidateId: 2, last: { index: 5, term: 1 }, preVote: true };
    expect(requestVote(voter.server, poll)).toEqual([{ voter: 1, voterTerm: 1, voteGranted: false }]);
    voter.now = ELECTION_TIMEOUT - 1;
    expect(requestVote(voter.server, poll)).toEqual([{ voter: 1, voterTerm: 1, voteGranted: false }]);
    voter.now = ELECTION_TIMEOUT;
    expect(requestVote(voter.server, poll)).toEqual([{ voter: 1, voterTerm: 1, voteGranted: true }]);
    expect(voter.server.currentTerm).toBe(1);
  });

  test('a leader refuses every poll (it is always in its own lease)', () => {
    const cluster = makeCluster(3, { preVote: true });
    const leader = electLeader(cluster);
    const term = leader.currentTerm;
    const candidateId = others(cluster, leader.id)[0] as number;
    cluster.advance(10 * ELECTION_TIMEOUT);
    expect(requestVote(leader, { term: term + 1, candidateId, last: { index: 100, term }, preVote: true })).toEqual([{ voter: leader.id, voterTerm: term, voteGranted: false }]);
    expect(leader.role).toBe('leader');
    expect(leader.currentTerm).toBe(term);
  });
});

describe('pre-vote and check-quorum keep a rejoining server from disrupting the leader', () => {
  /** Isolates a follower for a long while, brings it back, and returns the leader's terms before and after. */
  function isolateAndRejoin(options: { preVote?: boolean; checkQuorum?: boolean }): { leaderBefore: number; termBefore: number; leaderAfter: number | undefined; termAfter: number; isolatedTerm: number } {
    const cluster = makeCluster(5, options);
    const leader = electLeader(cluster);
    const termBefore = leader.currentTerm;
    const isolated = others(cluster, leader.id)[0] as number;
    cluster.disconnect(isolated);
    cluster.advance(20 * ELECTION_TIMEOUT);
    const isolatedTerm = serverAt(cluster, isolated).currentTerm;
    cluster.reconnect(isolated);
    cluster.advance(20 * ELECTION_TIMEOUT);
    const after = cluster.leader();
    return { leaderBefore: leader.id, termBefore, leaderAfter: after?.id, termAfter: after?.currentTerm ?? -1, isolatedTerm };
  }

  test('with preVote and checkQuorum the leader keeps its term; without them the rejoining server raises it', () => {
    const stable = isolateAndRejoin(STABLE);
    expect(stable.isolatedTerm).toBe(stable.termBefore);
    expect(stable.leaderAfter).toBe(stable.leaderBefore);
    expect(stable.termAfter).toBe(stable.termBefore);

    const plain = isolateAndRejoin({});
    expect(plain.isolatedTerm).toBeGreaterThan(plain.termBefore);
    expect(plain.termAfter).toBeGreaterThan(plain.termBefore);
  });

  test('over 50 seeds, a follower isolated and rejoining with preVote + checkQuorum never changes the leader or any term', () => {
    for (let seed = 1; seed <= 50; seed++) {
      const cluster = makeCluster(5, { ...STABLE, seed });
      const leader = electLeader(cluster);
      const term = leader.currentTerm;
      const isolated = others(cluster, leader.id)[seed % 4] as number;
      cluster.disconnect(isolated);
      cluster.advance(10 * ELECTION_TIMEOUT + seed);
      cluster.reconnect(isolated);
      cluster.advance(10 * ELECTION_TIMEOUT);
      expect({ seed, leader: cluster.leader()?.id, terms: terms(cluster) }).toEqual({ seed, leader: leader.id, terms: [term, term, term, term, term] });
    }
  });

  test('a partition that heals does not disrupt the leader (preVote + checkQuorum, minority side of two)', () => {
    const cluster = makeCluster(5, STABLE);
    const leader = electLeader(cluster);
    const term = leader.currentTerm;
    const [a, b, c, d] = others(cluster, leader.id) as [number, number, number, number];
    cluster.partition([leader.id, a, b], [c, d]);
    cluster.advance(20 * ELECTION_TIMEOUT);
    expect(serverAt(cluster, c).currentTerm).toBe(term);
    expect(serverAt(cluster, d).currentTerm).toBe(term);
    expect(cluster.propose('during').type).toBe('appended');
    cluster.heal();
    cluster.advance(20 * ELECTION_TIMEOUT);
    expect(cluster.leader()).toBe(leader);
    expect(terms(cluster)).toEqual([term, term, term, term, term]);
    for (const id of [c, d]) expect(serverAt(cluster, id).leaderId).toBe(leader.id);
  });

  test('a rejoining server whose election timer fires at once is refused by servers in the lease', () => {
    const cluster = makeCluster(3, STABLE);
    const leader = electLeader(cluster);
    const term = leader.currentTerm;
    const isolated = others(cluster, leader.id)[0] as number;
    const votes = tapVotes(cluster);
    cluster.disconnect(isolated);
    cluster.advance(10 * ELECTION_TIMEOUT);
    cluster.reconnect(isolated);
    cluster.timeout(isolated);
    expect(votes.length).toBeGreaterThan(0);
    for (const { message } of votes) expect(message.preVote).toBe(true);
    expect(cluster.leader()).toBe(leader);
    expect(terms(cluster)).toEqual([term, term, term]);
  });

  test('a lagging server does not block elections after the leader dies (preVote + checkQuorum): a new leader within a bounded time', () => {
    const cluster = makeCluster(5, STABLE);
    const leader = electLeader(cluster);
    const [lagger] = others(cluster, leader.id) as [number];
    cluster.disconnect(lagger);
    for (let k = 0; k < 10; k++) expect(cluster.propose(`e${k}`).type).toBe('appended');
    cluster.advance(5 * ELECTION_TIMEOUT);
    cluster.reconnect(lagger);
    cluster.advance(1); // no heartbeat yet: it is still behind when the leader dies
    const committed = leader.volatileState.commitIndex;
    expect(committed).toBe(10);
    cluster.crash(leader.id);
    const start = cluster.now;
    const elected = cluster.runUntil(() => cluster.leader() !== undefined, 10_000);
    expect(elected).toBe(true);
    // Followers' leases end one election timeout after the last heartbeat, their timers within
    // electionTimeout + range of it; allow a few split polls on top.
    expect(cluster.now - start).toBeLessThanOrEqual(4 * (ELECTION_TIMEOUT + 150));
    const next = cluster.leader() as NonNullable<ReturnType<typeof cluster.leader>>;
    expect(next.currentTerm).toBeGreaterThan(leader.currentTerm);
    expect(next.persistentState.currentLogIndex).toBeGreaterThanOrEqual(committed);
    // And the lagger catches up under it.
    cluster.advance(2 * ELECTION_TIMEOUT);
    expect(serverAt(cluster, lagger).persistentState.currentLogIndex).toBe(next.persistentState.currentLogIndex);
  });
});
