// Figure 2, "AppendEntries RPC / Receiver implementation" and "Rules for Servers / Candidates".
// Covers rule 8 (a candidate steps down on AppendEntries of its own term; a leader that
// receives AppendEntries of its own term does not crash, replies once with failure and
// stays leader), rule 9 (the consistency check on prevLogEntry) and rule 10 (conflict
// truncation, and no truncation by a late, duplicated or shorter message).

import { BufferedState, Harness, entries, entry, fill, logOf, makeState, termsOf } from './harness';

describe('Rule 8 — same-term AppendEntries to a candidate or to a leader', () => {
  // Reference: §5.2 ("If the leader's term ... is at least as large as the candidate's current term, then the candidate recognizes the leader as legitimate and returns to follower state"), Figure 2 "Candidates".

  function candidateOfTerm2(): Harness {
    const h = new Harness({ id: 0, clusterSize: 3, state: makeState({ log: [1, 1], term: 1 }) });
    h.server.triggerTimeout();
    expect(h.server.role).toBe('candidate');
    expect(h.server.currentTerm).toBe(2);
    h.take();
    h.events.length = 0;
    return h;
  }

  it('candidate stepping down: AppendEntries of its own term makes a candidate a follower of that leader', () => {
    // Reference: §5.2, Figure 2 "Candidates" ("If AppendEntries RPC received from new leader: convert to follower")
    const h = candidateOfTerm2();
    h.now = 10;
    const replies = h.appendEntries({ term: 2, leaderId: 1, prev: { index: 2, term: 1 }, entries: [entry(3, 2)] });
    expect(replies).toEqual([{ follower: 0, followerTerm: 2, success: true, matchIndex: 3 }]);
    expect(h.server.role).toBe('follower');
    expect(h.server.currentTerm).toBe(2);
    expect(h.server.leaderId).toBe(1);
    expect(h.state.votedFor).toBe(0); // still its vote of term 2
    expect(termsOf(h.state)).toEqual([1, 1, 2]);
    expect(h.roleChanges()).toEqual([['follower', 2]]);
    expect(h.leaderChanges()).toEqual([[1, 2]]);
    expect(h.server.nextDeadline()).toBeGreaterThanOrEqual(10 + 150);
    // It no longer counts votes of that term.
    expect(h.server.propose('p')).toEqual({ type: 'forward', leaderId: 1 });
  });

  it('candidate stepping down: even when the consistency check fails, a candidate recognises the same-term leader', () => {
    // Reference: §5.2, Figure 2 "Candidates"
    const h = candidateOfTerm2();
    const replies = h.appendEntries({ term: 2, leaderId: 2, prev: { index: 7, term: 2 }, entries: [] });
    expect(replies).toHaveLength(1);
    expect(replies[0]).toMatchObject({ follower: 0, followerTerm: 2, success: false });
    expect(h.server.role).toBe('follower');
    expect(h.server.leaderId).toBe(2);
  });

  it('leader receiving AppendEntries of its own term: does not crash, replies once with success=false, stays leader', () => {
    // Reference: §5.2 (Election Safety: at most one leader per term, so this only comes from a faulty peer; it must not take over the leader's log)
    const h = new Harness({ id: 0, clusterSize: 3, state: makeState({ log: [1, 1], term: 1 }) });
    h.elect([1]);
    h.take();
    h.events.length = 0;
    const before = logOf(h.state);
    let replies: unknown[] = [];
    expect(() => {
      replies = h.appendEntries({ term: 2, leaderId: 2, prev: { index: 2, term: 1 }, entries: [entry(3, 2)], commit: 3 });
    }).not.toThrow();
    expect(replies).toHaveLength(1);
    expect(replies[0]).toMatchObject({ follower: 0, followerTerm: 2, success: false });
    expect(h.server.role).toBe('leader');
    expect(h.server.leaderId).toBe(0);
    expect(h.server.currentTerm).toBe(2);
    expect(logOf(h.state)).toEqual(before);
    expect(h.server.volatileState.commitIndex).toBe(0);
    expect(h.events).toEqual([]);
    h.server.triggerHeartbeat();
    expect(h.takeAppendEntries()).toHaveLength(2);
  });
});

describe('Rule 9 — consistency check on prevLogEntry', () => {
  // Reference: §5.3 ("If the follower does not find an entry in its log with the same index and term, then it refuses the new entries"), Figure 2 AppendEntries receiver step 2.

  // The follower's log is [1, 1, 2]; the leader is server 1 of term 3.
  const mismatches: Array<[string, { index: number; term: number }]> = [
    ['missing index (past the end of the log)', { index: 5, term: 2 }],
    ['different term at the last index', { index: 3, term: 3 }],
    ['different term at an earlier index', { index: 2, term: 2 }],
  ];

  it.each(mismatches)('consistency check: AppendEntries whose prevLogEntry the follower lacks is rejected, nothing appended: %s', (_name, prev) => {
    // Reference: §5.3, Figure 2 AppendEntries step 2 ("Reply false if log doesn't contain an entry at prevLogIndex whose term matches prevLogTerm")
    const h = new Harness({ id: 0, clusterSize: 3, state: makeState({ log: [1, 1, 2], term: 2 }) });
    const before = logOf(h.state);
    const replies = h.appendEntries({ term: 3, leaderId: 1, prev, entries: entries(prev.index + 1, [3, 3]), commit: prev.index + 2 });
    expect(replies).toHaveLength(1);
    const reply = replies[0];
    expect(reply).toMatchObject({ follower: 0, followerTerm: 3, success: false });
    expect(reply?.matchIndex).toBeLessThan(prev.index); // a hint below the rejected position
    expect(logOf(h.state)).toEqual(before);
    expect(h.server.volatileState).toEqual({ commitIndex: 0, lastApplied: 0 });
    expect(h.committedEntries()).toEqual([]);
  });

  it('consistency check: a matching prevLogEntry (or index 0) is accepted', () => {
    // Reference: §5.3, Figure 2 AppendEntries steps 2 and 4
    const h = new Harness({ id: 0, clusterSize: 3, state: makeState({ log: [1, 1, 2], term: 2 }) });
    expect(h.appendEntries({ term: 3, leaderId: 1, prev: { index: 3, term: 2 }, entries: [entry(4, 3)] })).toEqual([
      { follower: 0, followerTerm: 3, success: true, matchIndex: 4 },
    ]);
    expect(h.appendEntries({ term: 3, leaderId: 1, prev: { index: 0, term: 0 }, entries: [] })).toEqual([
      { follower: 0, followerTerm: 3, success: true, matchIndex: 0 },
    ]);
    expect(termsOf(h.state)).toEqual([1, 1, 2, 3]);
  });
});

describe('Rule 10 — conflict truncation, and no truncation by stale messages', () => {
  // Reference: §5.3 ("the leader handles inconsistencies by forcing the followers' logs to duplicate its own"), Figure 2 AppendEntries receiver steps 3 and 4.

  it('conflict truncation: an entry conflicting with a new one is deleted with all that follow it', () => {
    // Reference: §5.3, Figure 2 AppendEntries step 3 ("If an existing entry conflicts with a new one (same index but different terms), delete the existing entry and all that follow it")
    const h = new Harness({ id: 0, clusterSize: 3, state: makeState({ log: [1, 1, 1, 1], term: 1 }) });
    const replies = h.appendEntries({ term: 2, leaderId: 1, prev: { index: 2, term: 1 }, entries: [entry(3, 2)] });
    expect(replies).toEqual([{ follower: 0, followerTerm: 2, success: true, matchIndex: 3 }]);
    expect(logOf(h.state)).toEqual(entries(1, [1, 1, 2]));
  });

  it('conflict truncation: matching entries are kept and the first conflicting one is replaced with all that follow', () => {
    // Reference: §5.3, Figure 2 AppendEntries steps 3 and 4 ("Append any new entries not already in the log")
    const h = new Harness({ id: 0, clusterSize: 3, state: makeState({ log: [1, 1, 2, 2, 2], term: 2 }) });
    const replies = h.appendEntries({ term: 3, leaderId: 1, prev: { index: 1, term: 1 }, entries: entries(2, [1, 2, 3]) });
    expect(replies).toEqual([{ follower: 0, followerTerm: 3, success: true, matchIndex: 4 }]);
    expect(logOf(h.state)).toEqual(entries(1, [1, 1, 2, 3]));
  });

  it('conflict truncation: a late, duplicated or shorter AppendEntries does not remove matching entries', () => {
    // Reference: §5.3, Figure 2 AppendEntries step 3 (only a *conflicting* entry is deleted), step 4 ("not already in the log")
    const state = fill(new BufferedState(), { term: 2 });
    const h = new Harness({ id: 0, clusterSize: 3, state });
    // The leader of term 2 replicates [1, 1, 2, 2] in one message.
    expect(h.appendEntries({ term: 2, leaderId: 1, prev: { index: 0, term: 0 }, entries: entries(1, [1, 1, 2, 2]) })[0]?.success).toBe(true);
    const full = logOf(state);
    state.journal.length = 0;
    // An earlier, shorter message of the same leader arrives late.
    expect(h.appendEntries({ term: 2, leaderId: 1, prev: { index: 1, term: 1 }, entries: [entry(2, 1)] })).toEqual([
      { follower: 0, followerTerm: 2, success: true, matchIndex: 2 },
    ]);
    expect(logOf(state)).toEqual(full);
    // A stale heartbeat from before the entries were sent.
    expect(h.appendEntries({ term: 2, leaderId: 1, prev: { index: 2, term: 1 }, entries: [] })).toEqual([
      { follower: 0, followerTerm: 2, success: true, matchIndex: 2 },
    ]);
    expect(logOf(state)).toEqual(full);
    // The whole message again.
    expect(h.appendEntries({ term: 2, leaderId: 1, prev: { index: 0, term: 0 }, entries: entries(1, [1, 1, 2, 2]) })).toEqual([
      { follower: 0, followerTerm: 2, success: true, matchIndex: 4 },
    ]);
    expect(logOf(state)).toEqual(full);
    // Not even transiently: nothing was truncated or rewritten.
    expect(state.journal.filter((op) => op !== 'sync()')).toEqual([]);
  });
});
