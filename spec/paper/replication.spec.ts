// Figure 2, "Rules for Servers / Leaders" (nextIndex / matchIndex bookkeeping) and the
// contract that reply closures cope with late, duplicated and reordered replies.
// Covers rule 11 (nextIndex back-off repairs a diverged or far-behind log, in a number of
// round trips that does not grow with the gap, §5.3), the leaders' idle heartbeat, and rule 15 (reply handling copes
// with replies that arrive late, twice, out of order, or after the sender changed term or role).

import { Harness, Wire, ackAppend, entries, logOf, makeState, nackAppend, repeat } from './harness';

describe('Rule 11 — nextIndex back-off repairs a diverged log in few round trips', () => {
  // Reference: §5.3 ("If a follower's log is inconsistent with the leader's, the AppendEntries consistency check will fail ... the leader decrements nextIndex and retries ... Eventually nextIndex will reach a point where the leader and follower logs match"; the optimisation in the last paragraphs of §5.3), Figure 2 "Leaders" ("If AppendEntries fails because of log inconsistency: decrement nextIndex and retry").

  interface Scenario {
    leader: number[];
    diverged: number[];
    behind: number[];
    divergentTerms: number;
    leaderStateTerm: number;
  }

  const scenarios: Record<string, (gap: number) => Scenario> = {
    // The follower holds a suffix of terms 2 and 3 the leader never had; the leader a suffix of terms 4 and 5.
    'divergent suffix of several terms': (gap) => ({
      leader: [...repeat(1, 3), ...repeat(4, gap), 5, 5],
      diverged: [...repeat(1, 3), ...repeat(2, gap), ...repeat(3, gap)],
      behind: [1, 1],
      divergentTerms: 2,
      leaderStateTerm: 5,
    }),
    // The follower's divergent suffix is longer than the leader's log and of a newer term.
    'divergent suffix longer than the leader log, of a newer term': (gap) => ({
      leader: [...repeat(1, 3), ...repeat(2, gap)],
      diverged: [...repeat(1, 3), ...repeat(3, 2 * gap)],
      behind: [],
      divergentTerms: 1,
      leaderStateTerm: 3,
    }),
  };

  /** Runs the repair with real follower Servers over a hand-pumped wire; returns the traffic. */
  function repair(scenario: Scenario) {
    const leader = new Harness({ id: 0, clusterSize: 3, maxEntriesPerMessage: 1_000_000, state: makeState({ log: scenario.leader, term: scenario.leaderStateTerm }) });
    const diverged = new Harness({ id: 1, clusterSize: 3, state: makeState({ log: scenario.diverged }) });
    const behind = new Harness({ id: 2, clusterSize: 3, state: makeState({ log: scenario.behind }) });
    leader.elect([2]);
    const wire = new Wire(new Map([[0, leader], [1, diverged], [2, behind]]));
    wire.pump();
    expect(leader.server.role).toBe('leader');
    expect(logOf(diverged.state)).toEqual(logOf(leader.state));
    expect(logOf(behind.state)).toEqual(logOf(leader.state));
    const last = leader.state.currentLogIndex;
    expect(leader.server.leaderState?.matchIndex).toEqual([last, last, last]);
    return {
      leader,
      diverged,
      behind,
      wire,
      rejections: [wire.rejections.get(1) ?? 0, wire.rejections.get(2) ?? 0],
      requests: [wire.requests.get(1) ?? 0, wire.requests.get(2) ?? 0],
    };
  }

  it.each(Object.keys(scenarios))('nextIndex back-off: the leader repairs a diverged and a far-behind follower to equal its log (%s)', (name) => {
    // Reference: §5.3, Figure 2 "Leaders"
    const make = scenarios[name];
    if (make === undefined) throw new Error(name);
    const { leader, diverged, behind, wire } = repair(make(5));
    // And then an entry of the leader's own term commits everything, everywhere (§5.4.2).
    leader.server.propose('z');
    wire.pump();
    leader.server.triggerHeartbeat();
    wire.pump();
    const last = leader.state.currentLogIndex;
    for (const h of [leader, diverged, behind]) {
      expect(h.server.volatileState).toEqual({ commitIndex: last, lastApplied: last });
      expect(h.committedEntries()).toEqual(logOf(leader.state));
    }
  });

  it.each(Object.keys(scenarios))('nextIndex back-off: rejections do not grow with the gap (gap 10 vs gap 1000; %s)', (name) => {
    // Reference: §5.3 (skipping a conflicting term per round trip instead of one entry); SPEC "backing up one entry per round trip is too slow"
    const make = scenarios[name];
    if (make === undefined) throw new Error(name);
    const small = repair(make(10));
    const large = repair(make(1000));
    const bound = make(10).divergentTerms + 2;
    expect(small.rejections[0]).toBeLessThanOrEqual(bound);
    expect(large.rejections[0]).toBeLessThanOrEqual(bound);
    expect(small.rejections[1]).toBeLessThanOrEqual(2);
    expect(large.rejections[1]).toBeLessThanOrEqual(2);
    expect(large.rejections).toEqual(small.rejections);
    // With no cap on message size, the number of AppendEntries does not grow either.
    expect(large.requests).toEqual(small.requests);
  });
});

describe('Leaders: heartbeats during idle periods', () => {
  // Reference: §5.2 ("Leaders send periodic heartbeats (AppendEntries RPCs that carry no log entries) to all followers"), Figure 2 "Leaders" first bullet ("repeat during idle periods to prevent election timeouts").

  it('leader heartbeats: an idle leader sends AppendEntries to every follower once per heartbeatTimeout, not before', () => {
    // Reference: §5.2, Figure 2 "Leaders"
    const h = new Harness({ id: 0, clusterSize: 3, heartbeatTimeout: 50, electionTimeout: 150 });
    h.elect([1]);
    h.take();
    expect(h.server.nextDeadline()).toBe(50);
    h.now = 49;
    h.server.tick();
    expect(h.sent).toEqual([]);
    h.now = 50;
    h.server.tick();
    const beats = h.takeAppendEntries();
    expect(beats.map((b) => b.to).sort()).toEqual([1, 2]);
    for (const { message } of beats) expect(message).toMatchObject({ leaderTerm: 1, leaderId: 0, entries: [] });
    expect(h.server.nextDeadline()).toBe(100);
    h.server.triggerTimeout(); // a leader ignores election timeouts
    expect(h.server.role).toBe('leader');
    expect(h.server.currentTerm).toBe(1);
  });
});

describe('Rule 15 — reply handling copes with late, duplicated and reordered replies', () => {
  // Reference: §5.1 ("Raft RPCs ... servers retry RPCs if they do not receive a response in a timely manner"; the network may duplicate and reorder), §5.3, §5.5 (RPCs are idempotent); SPEC "The sender's handling of a reply copes with replies that arrive late, twice, out of order, or after it changed term or role".

  it('late replies: a vote reply arriving after the candidate became leader changes nothing', () => {
    // Reference: §5.2
    const h = new Harness({ id: 0, clusterSize: 5 });
    const requests = h.elect([1, 2]);
    h.take();
    const state = h.server.leaderState;
    for (const { to, message } of requests.filter((r) => r.to >= 3)) {
      message.replyChannel({ voter: to, voterTerm: 1, voteGranted: to === 3 });
    }
    requests[0]?.message.replyChannel({ voter: requests[0].to, voterTerm: 1, voteGranted: true }); // duplicate
    expect(h.server.role).toBe('leader');
    expect(h.server.currentTerm).toBe(1);
    expect(h.server.leaderState).toEqual(state);
    expect(h.sent).toEqual([]);
    expect(h.roleChanges()).toEqual([['candidate', 1], ['leader', 1]]);
  });

  it('late replies: vote grants arriving after the candidate stepped down to follower in the same term are ignored', () => {
    // Reference: §5.2 (a candidate that recognised a leader is a follower; only candidates count votes)
    const h = new Harness({ id: 0, clusterSize: 3 });
    h.server.triggerTimeout();
    const requests = h.takeVoteRequests();
    h.appendEntries({ term: 1, leaderId: 2, prev: { index: 0, term: 0 } });
    expect(h.server.role).toBe('follower');
    for (const { to, message } of requests) message.replyChannel({ voter: to, voterTerm: 1, voteGranted: true });
    expect(h.server.role).toBe('follower');
    expect(h.server.leaderId).toBe(2);
    expect(h.sent).toEqual([]);
  });

  it('late replies: vote grants for an earlier term do not elect a candidate of a later term', () => {
    // Reference: §5.2 ("votes from a majority ... for the same term")
    const h = new Harness({ id: 0, clusterSize: 3 });
    h.server.triggerTimeout();
    const old = h.takeVoteRequests();
    h.server.triggerTimeout();
    h.take();
    for (const { to, message } of old) message.replyChannel({ voter: to, voterTerm: 1, voteGranted: true });
    expect(h.server.role).toBe('candidate');
    expect(h.server.currentTerm).toBe(2);
  });

  it('duplicates: a duplicated AppendEntries success reply does not count twice towards commitment', () => {
    // Reference: §5.3 ("replicated it on a majority"), Figure 2 "Leaders" (matchIndex)
    const h = new Harness({ id: 0, clusterSize: 5 });
    h.elect([1, 2]);
    h.take();
    h.server.propose('x');
    const sent = h.takeAppendEntries();
    const toS1 = sent.find((s) => s.to === 1)?.message;
    const toS2 = sent.find((s) => s.to === 2)?.message;
    if (toS1 === undefined || toS2 === undefined) throw new Error('propose did not send');
    ackAppend(1, toS1);
    ackAppend(1, toS1);
    ackAppend(1, toS1);
    expect(h.server.volatileState.commitIndex).toBe(0);
    expect(h.server.leaderState?.matchIndex).toEqual([1, 1, 0, 0, 0]);
    ackAppend(2, toS2);
    expect(h.server.volatileState.commitIndex).toBe(1);
    ackAppend(2, toS2);
    expect(h.committedEntries()).toEqual([{ index: 1, term: 1, data: 'x' }]);
  });

  it('reordering: an old rejection does not move nextIndex backwards past matchIndex', () => {
    // Reference: §5.3, Figure 2 "Leaders" (nextIndex, matchIndex "increases monotonically")
    const h = new Harness({ id: 0, clusterSize: 3, state: makeState({ log: repeat(1, 5), term: 1 }) });
    h.elect([2]);
    const heartbeat = h.takeAppendEntries().find((s) => s.to === 1)?.message;
    if (heartbeat === undefined) throw new Error('no heartbeat to 1');
    expect(heartbeat.prevLogEntry).toEqual({ index: 5, term: 1 });
    nackAppend(1, heartbeat, 3); // follower 1 holds [1, 1, 1]
    const probe = h.takeAppendEntries().find((s) => s.to === 1)?.message;
    if (probe === undefined) throw new Error('no probe to 1');
    expect(probe.prevLogEntry).toEqual({ index: 3, term: 1 });
    expect(probe.entries).toEqual(entries(4, [1, 1]));
    ackAppend(1, probe);
    expect(h.server.leaderState?.matchIndex[1]).toBe(5);
    expect(h.server.leaderState?.nextIndex[1]).toBe(6);
    // The first rejection arrives again, and a stray one with a lower hint.
    nackAppend(1, heartbeat, 3);
    nackAppend(1, heartbeat, 0);
    expect(h.server.leaderState?.matchIndex[1]).toBe(5);
    expect(h.server.leaderState?.nextIndex[1]).toBe(6);
    expect(h.take()).toEqual([]);
    // The next heartbeat still starts after the match.
    h.server.triggerHeartbeat();
    expect(h.takeAppendEntries().find((s) => s.to === 1)?.message.prevLogEntry).toEqual({ index: 5, term: 1 });
  });

  it('duplicates: a replayed older rejection while probing neither moves nextIndex nor sends anything', () => {
    // Reference: §5.3 (nextIndex moves back only in answer to the probe it sent), §5.5 (duplicated RPC replies)
    // Leader log [1 x4, 3 x16]; follower 1 holds [1 x4, 2 x5].
    const h = new Harness({ id: 0, clusterSize: 3, state: makeState({ log: [...repeat(1, 4), ...repeat(3, 16)], term: 3 }) });
    h.elect([2]);
    const heartbeat = h.takeAppendEntries().find((s) => s.to === 1)?.message;
    if (heartbeat === undefined) throw new Error('no heartbeat to 1');
    nackAppend(1, heartbeat, 9); // the follower is 11 entries short
    const probe = h.takeAppendEntries().find((s) => s.to === 1)?.message;
    expect(probe?.prevLogEntry).toEqual({ index: 9, term: 3 });
    if (probe === undefined) throw new Error('no probe');
    nackAppend(1, probe, 4); // its entry 9 is of term 2: skip the whole term-2 run
    const second = h.takeAppendEntries().find((s) => s.to === 1)?.message;
    expect(second?.prevLogEntry).toEqual({ index: 4, term: 1 });
    expect(h.server.leaderState?.nextIndex[1]).toBe(5);
    // The heartbeat's rejection is delivered a second time.
    nackAppend(1, heartbeat, 9);
    expect(h.server.leaderState?.nextIndex[1]).toBe(5);
    expect(h.take()).toEqual([]);
  });

  it('reordering: a late rejection arriving while the leader pipelines does not move nextIndex below matchIndex + 1', () => {
    // Reference: §5.3, Figure 2 "Leaders" (matchIndex increases monotonically; entries up to matchIndex are known to be replicated)
    const h = new Harness({ id: 0, clusterSize: 3, maxEntriesPerMessage: 2, state: makeState({ log: repeat(1, 10), term: 1 }) });
    h.elect([2]);
    const heartbeat = h.takeAppendEntries().find((s) => s.to === 1)?.message;
    if (heartbeat === undefined) throw new Error('no heartbeat to 1');
    nackAppend(1, heartbeat, 3); // follower 1 holds [1, 1, 1]
    const probe = h.takeAppendEntries().find((s) => s.to === 1)?.message;
    if (probe === undefined) throw new Error('no probe');
    expect(probe.prevLogEntry.index).toBe(3);
    ackAppend(1, probe); // now known to match up to 5; the leader streams the rest
    expect(h.server.leaderState?.matchIndex[1]).toBe(5);
    h.take();
    nackAppend(1, heartbeat, 3); // the old rejection, delivered again
    const state = h.server.leaderState;
    expect(state?.matchIndex[1]).toBe(5);
    expect(state?.nextIndex[1]).toBeGreaterThanOrEqual(6);
    for (const { message } of h.takeAppendEntries().filter((s) => s.to === 1)) expect(message.prevLogEntry.index).toBeGreaterThanOrEqual(5);
  });

  it('reordering: a success reply with a smaller matchIndex arriving late does not lower matchIndex', () => {
    // Reference: Figure 2 "Leaders" (matchIndex increases monotonically)
    const h = new Harness({ id: 0, clusterSize: 3 });
    h.elect([1]);
    const heartbeat = h.takeAppendEntries().find((s) => s.to === 1)?.message;
    if (heartbeat === undefined) throw new Error('no heartbeat');
    ackAppend(1, heartbeat);
    h.server.propose('a');
    h.server.propose('b');
    const toS1 = h.takeAppendEntries().filter((s) => s.to === 1).map((s) => s.message);
    const last = toS1[toS1.length - 1];
    const first = toS1[0];
    if (first === undefined || last === undefined) throw new Error('nothing sent to 1');
    expect(last.prevLogEntry.index + last.entries.length).toBe(2);
    ackAppend(1, last);
    expect(h.server.leaderState?.matchIndex[1]).toBe(2);
    expect(h.server.volatileState.commitIndex).toBe(2);
    ackAppend(1, first);
    ackAppend(1, heartbeat);
    expect(h.server.leaderState?.matchIndex[1]).toBe(2);
    expect(h.server.leaderState?.nextIndex[1]).toBe(3);
    expect(h.server.volatileState.commitIndex).toBe(2);
    expect(h.committedEntries().map((e) => e.index)).toEqual([1, 2]);
  });

  it('late replies: an AppendEntries reply arriving after the leader stepped down changes nothing', () => {
    // Reference: §5.1 (a deposed leader is a follower), §5.3
    const h = new Harness({ id: 0, clusterSize: 3 });
    h.elect([1]);
    h.server.propose('x');
    const sent = h.takeAppendEntries();
    h.requestVote({ term: 2, candidateId: 2, last: { index: 0, term: 0 } }); // deposed (vote denied: its log is behind)
    expect(h.server.role).toBe('follower');
    h.events.length = 0;
    for (const { to, message } of sent) {
      if (message.entries.length > 0) ackAppend(to, message);
      else nackAppend(to, message, 0);
    }
    expect(h.server.role).toBe('follower');
    expect(h.server.currentTerm).toBe(2);
    expect(h.server.leaderState).toBeUndefined();
    expect(h.server.volatileState.commitIndex).toBe(0);
    expect(h.sent).toEqual([]);
    expect(h.events).toEqual([]);
  });

  it('late replies: an AppendEntries success from an earlier leadership does not count in a later one', () => {
    // Reference: §5.3, §5.4.2 (the follower's log may have changed in between; only replies of the current term count)
    const h = new Harness({ id: 0, clusterSize: 3 });
    h.elect([1]); // term 1
    h.server.propose('x');
    const old = h.takeAppendEntries().filter((s) => s.message.entries.length > 0);
    expect(old.length).toBeGreaterThan(0);
    h.requestVote({ term: 2, candidateId: 2, last: { index: 0, term: 0 } }); // deposed in term 2
    h.elect([2]); // leader again, term 3
    h.take();
    for (const { to, message } of old) ackAppend(to, message, 1);
    expect(h.server.leaderState?.matchIndex).toEqual([1, 0, 0]);
    expect(h.server.volatileState.commitIndex).toBe(0);
    expect(h.committedEntries()).toEqual([]);
  });
});
