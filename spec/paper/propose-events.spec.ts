// Client interaction (§8) and the notifications of the public contract.
// Covers rule 17 (propose: a leader appends and starts replication in the same call; a
// follower that knows the leader says forward; otherwise delay; the first proposal of a
// fresh cluster has index 1) and rule 18 (roleChange on every role change with the new
// term; leaderChange whenever the known leader changes, to undefined and to itself).

import { InMemoryCluster } from '../../lib';
import { Harness, ackAppend, makeState, termsOf } from './harness';

describe('Rule 17 — propose', () => {
  // Reference: §5.3 ("The leader appends the command to its log as a new entry, then issues AppendEntries RPCs in parallel"), §8 ("If the client contacts a follower, the follower will reject the client's request and supply information about the most recent leader"); SPEC ProposeResult.

  it('propose on a leader: returns the appended {index, term} and sends the entry to every follower within the same call', () => {
    // Reference: §5.3
    const h = new Harness({ id: 0, clusterSize: 3 });
    h.elect([1]);
    h.take();
    expect(h.server.propose('a')).toEqual({ type: 'appended', index: 1, term: 1 });
    const sent = h.takeAppendEntries();
    expect(sent.map((s) => s.to).sort()).toEqual([1, 2]);
    for (const { message } of sent) {
      expect(message).toMatchObject({ leaderTerm: 1, leaderId: 0, prevLogEntry: { index: 0, term: 0 }, entries: [{ index: 1, term: 1, data: 'a' }] });
    }
    // Once follower 1 has answered, the next proposal goes out in its own call too, with index 2.
    const toS1 = sent.find((s) => s.to === 1)?.message;
    if (toS1 === undefined) throw new Error('nothing sent to 1');
    ackAppend(1, toS1);
    h.take();
    expect(h.server.propose('b')).toEqual({ type: 'appended', index: 2, term: 1 });
    expect(h.takeAppendEntries().find((s) => s.to === 1)?.message.entries).toEqual([{ index: 2, term: 1, data: 'b' }]);
  });

  it('propose on a follower that knows the leader: returns forward to that leader, appends and sends nothing', () => {
    // Reference: §8
    const h = new Harness({ id: 0, clusterSize: 3, state: makeState({ log: [1], term: 1 }) });
    h.appendEntries({ term: 2, leaderId: 2, prev: { index: 1, term: 1 } });
    expect(h.server.propose('a')).toEqual({ type: 'forward', leaderId: 2 });
    expect(termsOf(h.state)).toEqual([1]);
    expect(h.sent).toEqual([]);
  });

  it('propose on a candidate, or on a follower that knows no leader: returns delay, appends and sends nothing', () => {
    // Reference: §8 (no leader is known during an election)
    const fresh = new Harness({ id: 0, clusterSize: 3 });
    expect(fresh.server.propose('a')).toEqual({ type: 'delay' });
    expect(fresh.state.currentLogIndex).toBe(0);

    const candidate = new Harness({ id: 0, clusterSize: 3 });
    candidate.server.triggerTimeout();
    candidate.take();
    expect(candidate.server.propose('a')).toEqual({ type: 'delay' });
    expect(candidate.state.currentLogIndex).toBe(0);
    expect(candidate.sent).toEqual([]);

    // A follower whose leader is of an older term knows no leader once it moves to a newer term.
    const orphan = new Harness({ id: 0, clusterSize: 3 });
    orphan.appendEntries({ term: 1, leaderId: 1 });
    orphan.requestVote({ term: 2, candidateId: 2, last: { index: 0, term: 0 } });
    expect(orphan.server.leaderId).toBeUndefined();
    expect(orphan.server.propose('a')).toEqual({ type: 'delay' });
  });

  it('propose: the first proposal of a fresh cluster has index 1 (a new leader appends no entry of its own)', () => {
    // Reference: SPEC clarifications (no leader no-op entry); §5.3 (indices start at 1)
    const cluster = InMemoryCluster.make<string>(3, { seed: 7 });
    expect(cluster.runUntil(() => cluster.leader() !== undefined, 10_000)).toBe(true);
    const leader = cluster.leader();
    expect(leader?.persistentState.currentLogIndex).toBe(0);
    const result = cluster.propose('first');
    expect(result).toEqual({ type: 'appended', index: 1, term: leader?.currentTerm });
  });
});

describe('Rule 18 — events', () => {
  // Reference: §5.1 (the three roles and their transitions, Figure 4), §5.2; SPEC ServerEvents and clarifications ("Events fire synchronously, inside the call"; "roleChange fires on every change of role, with the new term"; "leaderChange fires whenever the known leader of the current term changes, including to undefined and including a server learning that it is the leader itself").

  it('events: roleChange fires on every role change (and only then), synchronously, with the new term', () => {
    // Reference: §5.1 Figure 4 (state transitions)
    const h = new Harness({ id: 0, clusterSize: 3 });
    const step = (action: () => void) => {
      const before = h.roleChanges().length;
      action();
      return h.roleChanges().slice(before);
    };
    expect(step(() => h.server.triggerTimeout())).toEqual([['candidate', 1]]);
    h.take();
    expect(step(() => h.server.triggerTimeout())).toEqual([]); // candidate again, in term 2: no change of role
    const requests = h.takeVoteRequests();
    expect(step(() => requests[0]?.message.replyChannel({ voter: requests[0].to, voterTerm: 2, voteGranted: true }))).toEqual([['leader', 2]]);
    expect(step(() => h.server.triggerTimeout())).toEqual([]); // a leader ignores it
    const append = h.takeAppendEntries()[0];
    if (append === undefined) throw new Error('no heartbeat');
    expect(step(() => append.message.replyChannel({ follower: append.to, followerTerm: 5, success: false, matchIndex: 0 }))).toEqual([['follower', 5]]);
    expect(step(() => h.server.triggerTimeout())).toEqual([['candidate', 6]]);
    expect(step(() => h.appendEntries({ term: 6, leaderId: 1 }))).toEqual([['follower', 6]]);
    expect(step(() => h.appendEntries({ term: 7, leaderId: 2 }))).toEqual([]); // follower stays follower
  });

  it('events: leaderChange fires when the known leader changes, including to undefined and to itself', () => {
    // Reference: §5.2, §8 (clients find the leader)
    const h = new Harness({ id: 0, clusterSize: 3 });
    const step = (action: () => void) => {
      const before = h.leaderChanges().length;
      action();
      return h.leaderChanges().slice(before);
    };
    expect(step(() => h.appendEntries({ term: 1, leaderId: 1 }))).toEqual([[1, 1]]);
    expect(step(() => h.appendEntries({ term: 1, leaderId: 1 }))).toEqual([]); // same leader: nothing
    expect(step(() => h.server.triggerTimeout())).toEqual([[undefined, 2]]);
    const requests = h.takeVoteRequests();
    expect(step(() => requests[0]?.message.replyChannel({ voter: requests[0].to, voterTerm: 2, voteGranted: true }))).toEqual([[0, 2]]);
    expect(h.server.leaderId).toBe(0);
    expect(step(() => h.requestVote({ term: 3, candidateId: 1, last: { index: 0, term: 0 } }))).toEqual([[undefined, 3]]);
    expect(step(() => h.appendEntries({ term: 3, leaderId: 2 }))).toEqual([[2, 3]]);
    // A leader of a newer term replaces the known one (an intermediate `undefined` is allowed).
    const changes = step(() => h.appendEntries({ term: 4, leaderId: 1 }));
    expect(changes[changes.length - 1]).toEqual([1, 4]);
    expect(changes.slice(0, -1).every(([id]) => id === undefined)).toBe(true);
    expect(h.server.leaderId).toBe(1);
  });
});
