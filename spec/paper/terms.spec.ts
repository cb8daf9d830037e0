// Figure 2, "Rules for Servers / All Servers" and the first step of both RPC receivers.
// Covers rule 1 (term update: a higher term in any request or reply makes the server adopt
// it, clear its vote and become follower, from every role) and rule 2 (stale-term
// rejection of RequestVote and AppendEntries, with nothing changed).

import { Harness, entries, makeState, termsOf } from './harness';
import type { AppendEntriesMessage, RequestVoteMessage, ServerRole } from '../../lib';

type Role = ServerRole;

/**
 * A server of a 3-server cluster in `role`, at term 3, whose log is [1, 1, 2]. Also
 * returns a RequestVote and an AppendEntries it sent earlier (whose reply closures stay
 * valid), when its history includes them.
 */
function serverIn(role: Role): {
  h: Harness;
  voteRequest?: { to: number; message: RequestVoteMessage };
  appendRequest?: { to: number; message: AppendEntriesMessage<string> };
} {
  const h = new Harness({ id: 0, clusterSize: 3, state: makeState({ log: [1, 1, 2], term: 2 }) });
  if (role === 'follower') {
    // Was a candidate in term 3 (so it has a RequestVote out), then heard from leader 1 of term 3.
    h.server.triggerTimeout();
    const [request] = h.takeVoteRequests();
    h.appendEntries({ term: 3, leaderId: 1, prev: { index: 3, term: 2 } });
    expect(h.server.role).toBe('follower');
    expect(h.server.currentTerm).toBe(3);
    h.events.length = 0;
    return { h, ...(request ? { voteRequest: request } : {}) };
  }
  if (role === 'candidate') {
    h.server.triggerTimeout();
    const [request] = h.takeVoteRequests();
    expect(h.server.role).toBe('candidate');
    expect(h.server.currentTerm).toBe(3);
    h.events.length = 0;
    return { h, ...(request ? { voteRequest: request } : {}) };
  }
  // Leader of term 3 with server 1's vote; server 2's vote request is still unanswered.
  const requests = h.elect([1]);
  const [append] = h.takeAppendEntries();
  expect(h.server.currentTerm).toBe(3);
  h.events.length = 0;
  const request = requests.find((r) => r.to === 2);
  return { h, ...(request ? { voteRequest: request } : {}), ...(append ? { appendRequest: append } : {}) };
}

function expectSteppedDownTo(h: Harness, term: number, from: Role): void {
  expect(h.server.currentTerm).toBe(term);
  expect(h.state.currentTerm).toBe(term);
  expect(h.server.role).toBe('follower');
  expect(h.server.leaderState).toBeUndefined();
  if (from !== 'follower') expect(h.roleChanges()).toEqual([['follower', term]]);
  else expect(h.roleChanges()).toEqual([]);
  // A follower sends no heartbeats and ignores a heartbeat trigger.
  h.take();
  h.server.triggerHeartbeat();
  expect(h.sent).toEqual([]);
}

const roles: Role[] = ['follower', 'candidate', 'leader'];

describe('Rule 1 — term update: a higher term in any RPC makes the server adopt it, clear its vote and become follower', () => {
  // Reference: §5.1 ("If RPC request or response contains term T > currentTerm: set currentTerm = T, convert to follower"), Figure 2 "All Servers".

  it.each(roles)('RequestVote with a higher term: a %s adopts the term, clears its vote, becomes follower', (role) => {
    // Reference: §5.1, Figure 2 "All Servers"
    const { h } = serverIn(role);
    expect(h.state.votedFor).toBe(0); // it voted for itself in term 3
    // The candidate's log is behind ours, so the vote is denied: the vote must be cleared, not replaced.
    const replies = h.requestVote({ term: 7, candidateId: 2, last: { index: 1, term: 1 } });
    expect(replies).toEqual([{ voter: 0, voterTerm: 7, voteGranted: false }]);
    expect(h.state.votedFor).toBeUndefined();
    expect(h.server.leaderId).toBeUndefined();
    expectSteppedDownTo(h, 7, role);
  });

  it.each(roles)('RequestVote with a higher term: a %s that voted in its old term can grant a vote in the new one', (role) => {
    // Reference: §5.1, §5.2 (votedFor belongs to currentTerm)
    const { h } = serverIn(role);
    const replies = h.requestVote({ term: 7, candidateId: 2, last: { index: 3, term: 2 } });
    expect(replies).toEqual([{ voter: 0, voterTerm: 7, voteGranted: true }]);
    expect(h.state.votedFor).toBe(2);
    expectSteppedDownTo(h, 7, role);
  });

  it.each(roles)('AppendEntries with a higher term: a %s adopts the term, clears its vote, follows the sender', (role) => {
    // Reference: §5.1, §5.2, Figure 2 "All Servers" and "Candidates"
    const { h } = serverIn(role);
    const replies = h.appendEntries({ term: 7, leaderId: 2, prev: { index: 3, term: 2 } });
    expect(replies).toEqual([{ follower: 0, followerTerm: 7, success: true, matchIndex: 3 }]);
    expect(h.state.votedFor).toBeUndefined();
    expect(h.server.leaderId).toBe(2);
    expectSteppedDownTo(h, 7, role);
  });

  it.each(roles)('RequestVote reply with a higher term: a %s adopts the term, clears its vote, becomes follower', (role) => {
    // Reference: §5.1 ("request or response"), Figure 2 "All Servers"
    const { h, voteRequest } = serverIn(role);
    if (voteRequest === undefined) throw new Error('setup sent no RequestVote');
    voteRequest.message.replyChannel({ voter: voteRequest.to, voterTerm: 7, voteGranted: false });
    expect(h.state.votedFor).toBeUndefined();
    expect(h.server.leaderId).toBeUndefined();
    expectSteppedDownTo(h, 7, role);
  });

  it.each(roles)('AppendEntries reply with a higher term: a %s (leader now or earlier) adopts the term, clears its vote, becomes follower', (role) => {
    // Reference: §5.1 ("request or response"), Figure 2 "All Servers"
    const { h, appendRequest } = serverIn('leader');
    if (appendRequest === undefined) throw new Error('setup sent no AppendEntries');
    if (role !== 'leader') {
      // The leader is deposed by a term-4 vote request first; the reply arrives later.
      h.requestVote({ term: 4, candidateId: 2, last: { index: 1, term: 1 } });
      if (role === 'candidate') h.server.triggerTimeout(); // candidate of term 5
      expect(h.server.role).toBe(role);
      h.events.length = 0;
    }
    expect(h.server.currentTerm).toBeLessThan(7);
    appendRequest.message.replyChannel({ follower: appendRequest.to, followerTerm: 7, success: false, matchIndex: 0 });
    expect(h.state.votedFor).toBeUndefined();
    expect(h.server.leaderId).toBeUndefined();
    expectSteppedDownTo(h, 7, role);
  });
});

describe('Rule 2 — stale-term rejection: RequestVote and AppendEntries with a lower term are rejected', () => {
  // Reference: §5.1 ("If a server receives a request with a stale term number, it rejects the request"), Figure 2 receiver step 1.

  function serverAtTerm5(role: Role): Harness {
    const h = new Harness({ id: 0, clusterSize: 3, state: makeState({ log: [1, 2, 4], term: 4 }) });
    if (role === 'follower') {
      h.appendEntries({ term: 5, leaderId: 2, prev: { index: 3, term: 4 } });
    } else if (role === 'candidate') {
      h.server.triggerTimeout();
    } else {
      h.elect([1]);
    }
    expect(h.server.currentTerm).toBe(5);
    expect(h.server.role).toBe(role);
    h.take();
    h.events.length = 0;
    return h;
  }

  it.each(roles)('RequestVote with a lower term: a %s denies it, replies with its own term, changes nothing', (role) => {
    // Reference: §5.1, Figure 2 RequestVote receiver step 1 ("Reply false if term < currentTerm")
    const h = serverAtTerm5(role);
    const votedFor = h.state.votedFor;
    const leaderId = h.server.leaderId;
    const deadline = h.server.nextDeadline();
    // The candidate's log is more up to date than ours: only the term can deny it.
    const replies = h.requestVote({ term: 4, candidateId: 1, last: { index: 9, term: 4 } });
    expect(replies).toEqual([{ voter: 0, voterTerm: 5, voteGranted: false }]);
    expect(h.server.currentTerm).toBe(5);
    expect(h.state.votedFor).toBe(votedFor);
    expect(h.server.role).toBe(role);
    expect(h.server.leaderId).toBe(leaderId);
    expect(h.server.nextDeadline()).toBe(deadline);
    expect(termsOf(h.state)).toEqual([1, 2, 4]);
    expect(h.events).toEqual([]);
  });

  it.each(roles)('AppendEntries with a lower term: a %s rejects it, replies with its own term, leaves its log alone', (role) => {
    // Reference: §5.1, Figure 2 AppendEntries receiver step 1 ("Reply false if term < currentTerm")
    const h = serverAtTerm5(role);
    const votedFor = h.state.votedFor;
    const leaderId = h.server.leaderId;
    const deadline = h.server.nextDeadline();
    // prevLogEntry matches, and the entries would conflict with ours and extend the log:
    // accepting them would truncate index 3 and append.
    const replies = h.appendEntries({ term: 4, leaderId: 1, prev: { index: 2, term: 2 }, entries: entries(3, [3, 3, 3]), commit: 5 });
    expect(replies).toHaveLength(1);
    expect(replies[0]).toMatchObject({ follower: 0, followerTerm: 5, success: false });
    expect(termsOf(h.state)).toEqual([1, 2, 4]);
    expect(h.server.volatileState).toEqual({ commitIndex: 0, lastApplied: 0 });
    expect(h.server.currentTerm).toBe(5);
    expect(h.state.votedFor).toBe(votedFor);
    expect(h.server.role).toBe(role);
    expect(h.server.leaderId).toBe(leaderId); // a deposed leader is not recognised
    expect(h.server.nextDeadline()).toBe(deadline); // nor does it postpone an election
    expect(h.events).toEqual([]);
  });
});
