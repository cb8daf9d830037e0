// Part 1 is unchanged by the stability options: a cluster without them sends RequestVotes
// of the Part 1 shape, with no preVote or leadershipTransfer key at all.

import { InMemoryPersistentState, type RequestVoteMessage } from '../../lib';
import { Solo } from '../hardening/helpers';
import { ELECTION_TIMEOUT, electLeader, makeCluster, others, tapVotes } from './helpers';

const PART1_KEYS = ['candidateId', 'candidateLastLogEntry', 'candidateTerm', 'replyChannel', 'type'];

describe('Part 1 unchanged', () => {
  test.each([
    ['no options', {}],
    ['preVote: false, checkQuorum: false', { preVote: false, checkQuorum: false }],
  ])('a cluster with %s sends RequestVotes without preVote or leadershipTransfer keys', (_name, options) => {
    const cluster = makeCluster(5, options);
    const votes = tapVotes(cluster);
    const leader = electLeader(cluster);
    // More elections: a follower times out, the leader is cut off and comes back.
    cluster.timeout(others(cluster, leader.id)[0] as number);
    cluster.disconnect(leader.id);
    cluster.advance(10 * ELECTION_TIMEOUT);
    cluster.reconnect(leader.id);
    cluster.advance(10 * ELECTION_TIMEOUT);
    expect(votes.length).toBeGreaterThan(4);
    for (const { message } of votes) {
      expect('preVote' in message).toBe(false);
      expect('leadershipTransfer' in message).toBe(false);
      expect(Object.keys(message).sort()).toEqual(PART1_KEYS);
    }
  });

  test('a Server built without the options sends Part 1 RequestVotes and increments its term at once', () => {
    const solo = new Solo(0, 3, new InMemoryPersistentState<string>());
    solo.server.triggerTimeout();
    expect(solo.server.role).toBe('candidate');
    expect(solo.server.currentTerm).toBe(1);
    const votes = solo.take().flatMap(({ message }) => (message.type === 'requestVote' ? [message as RequestVoteMessage] : []));
    expect(votes).toHaveLength(2);
    for (const message of votes) expect(Object.keys(message).sort()).toEqual(PART1_KEYS);
  });

  test('without the options a follower grants a vote of a later term although it has a current leader', () => {
    const cluster = makeCluster(3);
    const leader = electLeader(cluster);
    const [voter, candidate] = others(cluster, leader.id) as [number, number];
    const server = cluster.servers[voter];
    const replies: unknown[] = [];
    server?.processMessage({ type: 'requestVote', candidateTerm: leader.currentTerm + 1, candidateId: candidate, candidateLastLogEntry: { index: 50, term: leader.currentTerm }, replyChannel: (r) => void replies.push(r) });
    expect(replies).toEqual([{ voter, voterTerm: leader.currentTerm + 1, voteGranted: true }]);
  });
});
