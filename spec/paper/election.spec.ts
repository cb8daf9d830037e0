// Figure 2, "Rules for Servers / Followers and Candidates" (elections).
// Covers rule 6 (election start on timeout, randomised election deadline, timer reset by
// the leader and by a granted vote), rule 7 (majority win, duplicates and stale grants,
// a new leader's immediate heartbeat with no entry of its own) and rule 16 (a cluster of
// one elects itself on its first timeout and commits a proposal at once).

import { Harness, makeState, termsOf } from './harness';

describe('Rule 6 — election start on timeout', () => {
  // Reference: §5.2 ("To begin an election, a follower increments its current term and transitions to candidate state. It then votes for itself and issues RequestVote RPCs in parallel to each of the other servers"), Figure 2 "Followers" and "Candidates".

  function follower(): Harness {
    return new Harness({
      id: 2,
      clusterSize: 5,
      electionTimeout: 100,
      electionTimeoutRange: 50,
      heartbeatTimeout: 20,
      state: makeState({ log: [1, 1, 3], term: 3 }),
    });
  }

  function expectElectionStarted(h: Harness): void {
    expect(h.server.role).toBe('candidate');
    expect(h.server.currentTerm).toBe(4);
    expect(h.state.votedFor).toBe(2);
    expect(h.server.leaderId).toBeUndefined();
    expect(h.roleChanges()).toEqual([['candidate', 4]]);
    const requests = h.takeVoteRequests();
    expect(requests.map((r) => r.to).sort()).toEqual([0, 1, 3, 4]);
    for (const { message } of requests) {
      expect(message).toMatchObject({ type: 'requestVote', candidateTerm: 4, candidateId: 2, candidateLastLogEntry: { index: 3, term: 3 } });
    }
    expect(termsOf(h.state)).toEqual([1, 1, 3]); // a candidate appends nothing
  }

  it('election start: tick at the deadline (not before) makes a follower a candidate that votes for itself and asks everyone', () => {
    // Reference: §5.2, Figure 2 "Followers" ("If election timeout elapses ... convert to candidate")
    const h = follower();
    const deadline = h.server.nextDeadline();
    h.now = deadline - 1;
    h.server.tick();
    expect(h.server.role).toBe('follower');
    expect(h.sent).toEqual([]);
    expect(h.server.currentTerm).toBe(3);
    h.now = deadline;
    h.server.tick();
    expectElectionStarted(h);
  });

  it('election start: triggerTimeout starts the same election at once', () => {
    // Reference: §5.2, Figure 2 "Candidates" (on conversion to candidate)
    const h = follower();
    h.server.triggerTimeout();
    expectElectionStarted(h);
  });

  it('election start: a candidate whose election times out starts a new one in the next term', () => {
    // Reference: §5.2 ("If election timeout elapses: start new election"), Figure 2 "Candidates"
    const h = follower();
    h.server.triggerTimeout();
    h.take();
    h.now = h.server.nextDeadline();
    h.server.tick();
    expect(h.server.role).toBe('candidate');
    expect(h.server.currentTerm).toBe(5);
    expect(h.state.votedFor).toBe(2);
    const requests = h.takeVoteRequests();
    expect(requests).toHaveLength(4);
    for (const { message } of requests) expect(message.candidateTerm).toBe(5);
  });

  it('election start: the election deadline is randomised in [electionTimeout, electionTimeout + range)', () => {
    // Reference: §5.2 ("Raft uses randomized election timeouts ... chosen randomly from a fixed interval")
    const electionTimeout = 100;
    const electionTimeoutRange = 50;
    const initial: number[] = [];
    const afterElection: number[] = [];
    for (let seed = 1; seed <= 40; seed++) {
      const h = new Harness({ id: 0, clusterSize: 3, seed, electionTimeout, electionTimeoutRange, heartbeatTimeout: 20 });
      h.now = 1000;
      h.restart(); // the deadline is taken from the clock at construction
      initial.push(h.server.nextDeadline() - 1000);
      h.now = 5000;
      h.server.triggerTimeout();
      afterElection.push(h.server.nextDeadline() - 5000);
    }
    for (const delay of [...initial, ...afterElection]) {
      expect(delay).toBeGreaterThanOrEqual(electionTimeout);
      expect(delay).toBeLessThan(electionTimeout + electionTimeoutRange);
    }
    // Randomised: not one fixed value (40 seeds give many distinct ones).
    expect(new Set(initial).size).toBeGreaterThan(10);
    expect(new Set(afterElection).size).toBeGreaterThan(10);
  });

  it('election start: the deadline honours the extremes of random() (0 gives electionTimeout, ~1 stays below the top)', () => {
    // Reference: §5.2
    const low = new Harness({ id: 0, clusterSize: 3, random: () => 0, electionTimeout: 100, electionTimeoutRange: 50, heartbeatTimeout: 20 });
    expect(low.server.nextDeadline()).toBe(100);
    const high = new Harness({ id: 0, clusterSize: 3, random: () => 0.999999, electionTimeout: 100, electionTimeoutRange: 50, heartbeatTimeout: 20 });
    expect(high.server.nextDeadline()).toBeGreaterThanOrEqual(100);
    expect(high.server.nextDeadline()).toBeLessThan(150);
  });

  it('election timer: AppendEntries from the current leader postpones the election', () => {
    // Reference: §5.2 ("A server remains in follower state as long as it receives valid RPCs from a leader"), Figure 2 "Followers"
    const h = follower();
    const deadline = h.server.nextDeadline();
    h.now = deadline - 1;
    h.appendEntries({ term: 3, leaderId: 0, prev: { index: 3, term: 3 } });
    h.now = deadline;
    h.server.tick();
    expect(h.server.role).toBe('follower');
    expect(h.server.nextDeadline()).toBeGreaterThanOrEqual(deadline - 1 + 100);
    expect(h.sent).toEqual([]);
  });

  it('election timer: granting a vote postpones the election', () => {
    // Reference: Figure 2 "Followers" ("without receiving AppendEntries RPC from current leader or granting vote to candidate")
    const h = follower();
    const deadline = h.server.nextDeadline();
    h.now = deadline - 1;
    expect(h.requestVote({ term: 4, candidateId: 1, last: { index: 3, term: 3 } })[0]?.voteGranted).toBe(true);
    h.now = deadline;
    h.server.tick();
    expect(h.server.role).toBe('follower');
    expect(h.server.nextDeadline()).toBeGreaterThanOrEqual(deadline - 1 + 100);
  });
});

describe('Rule 7 — a candidate wins exactly with a majority', () => {
  // Reference: §5.2 ("A candidate wins an election if it receives votes from a majority of the servers in the full cluster for the same term"), Figure 2 "Candidates".

  it('majority win: in a cluster of 5, one grant (2 of 5) is not enough, a duplicate grant counts once, a denial counts not, the second voter wins', () => {
    // Reference: §5.2, Figure 2 "Candidates" ("If votes received from majority of servers: become leader")
    const h = new Harness({ id: 0, clusterSize: 5 });
    h.server.triggerTimeout();
    const requests = h.takeVoteRequests();
    const to = (id: number) => {
      const r = requests.find((x) => x.to === id);
      if (r === undefined) throw new Error(`no RequestVote to ${id}`);
      return r.message;
    };
    to(1).replyChannel({ voter: 1, voterTerm: 1, voteGranted: true });
    expect(h.server.role).toBe('candidate');
    to(1).replyChannel({ voter: 1, voterTerm: 1, voteGranted: true });
    expect(h.server.role).toBe('candidate');
    to(3).replyChannel({ voter: 3, voterTerm: 1, voteGranted: false });
    expect(h.server.role).toBe('candidate');
    to(2).replyChannel({ voter: 2, voterTerm: 1, voteGranted: true });
    expect(h.server.role).toBe('leader');
    expect(h.server.currentTerm).toBe(1);
    expect(h.server.leaderId).toBe(0);
  });

  it.each([2, 3, 4, 5, 6, 7])('majority win: in a cluster of %i, a candidate needs exactly floor(n/2) grants besides its own vote', (n) => {
    // Reference: §5.2
    const h = new Harness({ id: 0, clusterSize: n });
    h.server.triggerTimeout();
    const requests = h.takeVoteRequests();
    const needed = Math.floor(n / 2);
    for (const { to, message } of requests.slice(0, needed)) {
      expect(h.server.role).toBe('candidate'); // still short of a majority
      message.replyChannel({ voter: to, voterTerm: 1, voteGranted: true });
    }
    expect(h.server.role).toBe('leader');
  });

  it('majority win: grants for an older term are ignored', () => {
    // Reference: §5.2 ("votes from a majority ... for the same term")
    const h = new Harness({ id: 0, clusterSize: 5 });
    h.server.triggerTimeout();
    const oldRequests = h.takeVoteRequests(); // term 1
    h.server.triggerTimeout(); // term 2
    const newRequests = h.takeVoteRequests();
    for (const { to, message } of oldRequests) message.replyChannel({ voter: to, voterTerm: 1, voteGranted: true });
    expect(h.server.role).toBe('candidate');
    expect(h.server.currentTerm).toBe(2);
    for (const { to, message } of newRequests.slice(0, 2)) message.replyChannel({ voter: to, voterTerm: 2, voteGranted: true });
    expect(h.server.role).toBe('leader');
    expect(h.server.currentTerm).toBe(2);
  });

  it('majority win: a new leader at once sends AppendEntries to every other server and appends no entry of its own', () => {
    // Reference: §5.2 ("It then sends heartbeat messages to all of the other servers"), Figure 2 "Leaders" ("Upon election: send initial empty AppendEntries RPCs"); §8 no-op entry deliberately not used (SPEC: first proposal has index 1)
    const h = new Harness({ id: 1, clusterSize: 5, state: makeState({ log: [1, 2, 2], term: 2 }) });
    h.server.triggerTimeout();
    const requests = h.takeVoteRequests();
    requests[0]?.message.replyChannel({ voter: requests[0].to, voterTerm: 3, voteGranted: true });
    expect(h.sent).toEqual([]); // nothing before winning
    requests[1]?.message.replyChannel({ voter: requests[1].to, voterTerm: 3, voteGranted: true });
    expect(h.server.role).toBe('leader');
    const appends = h.takeAppendEntries();
    expect(appends.map((a) => a.to).sort()).toEqual([0, 2, 3, 4]);
    for (const { message } of appends) {
      expect(message).toMatchObject({ leaderTerm: 3, leaderId: 1, prevLogEntry: { index: 3, term: 2 }, entries: [], leaderCommitIndex: 0 });
    }
    expect(termsOf(h.state)).toEqual([1, 2, 2]);
    expect(h.server.leaderState).toEqual({ nextIndex: [4, 4, 4, 4, 4], matchIndex: [0, 3, 0, 0, 0] });
  });
});

describe('Rule 16 — a cluster of one', () => {
  // Reference: §5.2 (a candidate with a majority of votes, here its own, becomes leader), §5.3 (an entry is committed once stored on a majority).

  it('single-server cluster: elects itself on its first timeout and commits a proposal at once', () => {
    // Reference: §5.2, §5.3; SPEC "A cluster of one elects itself on its first timeout and commits a proposal at once"
    const h = new Harness({ id: 0, clusterSize: 1 });
    h.now = h.server.nextDeadline();
    h.server.tick();
    expect(h.server.role).toBe('leader');
    expect(h.server.currentTerm).toBe(1);
    expect(h.server.leaderId).toBe(0);
    expect(h.roleChanges()).toEqual([['candidate', 1], ['leader', 1]]);
    expect(h.sent).toEqual([]);
    expect(h.server.propose('x')).toEqual({ type: 'appended', index: 1, term: 1 });
    expect(h.server.volatileState).toEqual({ commitIndex: 1, lastApplied: 1 });
    expect(h.committedEntries()).toEqual([{ index: 1, term: 1, data: 'x' }]);
    expect(h.server.propose('y')).toEqual({ type: 'appended', index: 2, term: 1 });
    expect(h.committedEntries()).toEqual([{ index: 1, term: 1, data: 'x' }, { index: 2, term: 1, data: 'y' }]);
  });
});
