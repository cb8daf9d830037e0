// Figure 2, "Rules for Servers / Leaders" (last bullet), "AppendEntries receiver" step 5,
// and "All Servers" (apply committed entries).
// Covers rule 12 (a leader commits only by counting replicas of an entry of its current
// term: the Figure 8 situation, §5.4.2) and rule 13 (a follower's commitIndex is
// min(leaderCommit, index of the last new entry), never decreases, and the `committed`
// event delivers each index once, in order, with lastApplied following).

import fc from 'fast-check';
import { Harness, ackAppend, entries, entry, logOf, makeState, nackAppend, type Data } from './harness';
import type { LogEntry } from '../../lib';

describe('Rule 12 — a leader commits only entries of its current term by counting (Figure 8)', () => {
  // Reference: §5.4.2 ("Raft never commits log entries from previous terms by counting replicas. Only log entries from the leader's current term are committed by counting replicas"), Figure 8, Figure 2 "Leaders" last bullet ("and log[N].term == currentTerm").

  /**
   * Figure 8 with servers S1..S5 as ids 0..4:
   *  (a) S1 leads term 2 and stores index 2 (term 2) on S1 and S2;
   *  (b) S5 is elected for term 3 (votes of S3, S4, S5) and stores a different index 2 (term 3) on itself only;
   *  (c) S1 is elected for term 4 and replicates its index 2 (term 2) to S3: now on S1, S2, S3, a majority.
   * Returns S1 at the end of (c), with its outstanding heartbeats to S4 and S5.
   */
  function figure8c() {
    // S1's durable state after (a) and after seeing term 3.
    const s1 = new Harness({ id: 0, clusterSize: 5, state: makeState({ log: [1, 2], term: 3 }) });
    s1.elect([1, 2]); // (c): S2 and S3 vote for S1 in term 4 (their logs [1, 2] and [1] are not more up to date)
    expect(s1.server.currentTerm).toBe(4);
    const heartbeats = s1.takeAppendEntries();
    const to = (id: number) => {
      const h = heartbeats.find((x) => x.to === id);
      if (h === undefined) throw new Error(`no heartbeat to ${id}`);
      return h.message;
    };
    for (const { message } of heartbeats) expect(message.prevLogEntry).toEqual({ index: 2, term: 2 });
    ackAppend(1, to(1)); // S2 already holds [1, 2]
    nackAppend(2, to(2), 1); // S3 holds [1] only
    const [repair] = s1.takeAppendEntries();
    expect(repair?.to).toBe(2);
    expect(repair?.message.prevLogEntry).toEqual({ index: 1, term: 1 });
    expect(repair?.message.entries).toEqual([entry(2, 2)]);
    if (repair === undefined) throw new Error('no repair message');
    ackAppend(2, repair.message);
    expect(s1.server.leaderState?.matchIndex).toEqual([2, 2, 2, 0, 0]);
    return { s1, toS4: to(3), toS5: to(4) };
  }

  it('current-term commit rule (Figure 8): an older-term entry stored on a majority is NOT committed by counting', () => {
    // Reference: §5.4.2, Figure 8 (c)
    const { s1 } = figure8c();
    expect(s1.server.volatileState).toEqual({ commitIndex: 0, lastApplied: 0 });
    expect(s1.committedEntries()).toEqual([]);
    s1.server.triggerHeartbeat();
    for (const { message } of s1.takeAppendEntries()) expect(message.leaderCommitIndex).toBe(0);
  });

  it('current-term commit rule (Figure 8 d): that entry could still be overwritten, since S5 can win term 5 with S2, S3, S4', () => {
    // Reference: §5.4.2, Figure 8 (d) — why (c) must not commit: S5's last entry (index 2, term 3) is more up to date than [1, 2]
    for (const [id, log] of [[1, [1, 2]], [2, [1, 2]], [3, [1]]] as const) {
      const voter = new Harness({ id, clusterSize: 5, state: makeState({ log: [...log], term: 4 }) });
      expect(voter.requestVote({ term: 5, candidateId: 4, last: { index: 2, term: 3 } })[0]?.voteGranted).toBe(true);
    }
  });

  it('current-term commit rule (Figure 8 e): once an entry of its own term is on a majority, the leader commits it and everything before', () => {
    // Reference: §5.4.2, Figure 8 (e) ("if S1 replicates an entry from its current term on a majority ... then this entry is committed")
    const { s1 } = figure8c();
    expect(s1.server.propose('x')).toEqual({ type: 'appended', index: 3, term: 4 });
    const sent = s1.takeAppendEntries();
    const toS2 = sent.find((x) => x.to === 1)?.message;
    const toS3 = sent.find((x) => x.to === 2)?.message;
    if (toS2 === undefined || toS3 === undefined) throw new Error('propose did not send to S2 and S3');
    expect(toS2.entries.map((e) => e.index)).toEqual([3]);
    ackAppend(1, toS2);
    // S1 and S2 hold index 3, S3 holds index 2: index 2 is on a majority but is of term 2, still nothing.
    expect(s1.server.volatileState.commitIndex).toBe(0);
    expect(s1.committedEntries()).toEqual([]);
    ackAppend(2, toS3);
    expect(s1.server.volatileState).toEqual({ commitIndex: 3, lastApplied: 3 });
    expect(s1.committedEntries()).toEqual([entry(1, 1), entry(2, 2), { index: 3, term: 4, data: 'x' }]);
    // Exactly one committed event for the three entries, each index once.
    expect(s1.events.filter((e) => e.kind === 'committed')).toHaveLength(1);
    s1.server.triggerHeartbeat();
    for (const { message } of s1.takeAppendEntries()) expect(message.leaderCommitIndex).toBe(3);
  });
});

describe('Rule 13 — follower commit rule', () => {
  // Reference: §5.3 ("Once a follower learns that a log entry is committed, it applies the entry to its local state machine"), Figure 2 AppendEntries receiver step 5 ("If leaderCommit > commitIndex, set commitIndex = min(leaderCommit, index of last new entry)").

  it('follower commit rule: commitIndex = min(leaderCommitIndex, index of the last new entry)', () => {
    // Reference: Figure 2 AppendEntries step 5
    const h = new Harness({ id: 1, clusterSize: 3 });
    h.appendEntries({ term: 1, leaderId: 0, prev: { index: 0, term: 0 }, entries: entries(1, [1, 1, 1]), commit: 2 });
    expect(h.server.volatileState).toEqual({ commitIndex: 2, lastApplied: 2 });
    h.appendEntries({ term: 1, leaderId: 0, prev: { index: 3, term: 1 }, entries: [], commit: 5 });
    expect(h.server.volatileState).toEqual({ commitIndex: 3, lastApplied: 3 });
  });

  it('follower commit rule: stale extra entries beyond what the leader sent are NOT committed, even if leaderCommitIndex is larger', () => {
    // Reference: Figure 2 AppendEntries step 5 ("index of last new entry"); the F# original set commitIndex = leaderCommit
    // The follower holds [1, 1, 1, 1, 1]: entries 3..5 are from a deposed leader of term 1.
    // The leader of term 2 holds [1, 1, 2, 2, 2, 2] and has committed all 6.
    const h = new Harness({ id: 1, clusterSize: 3, state: makeState({ log: [1, 1, 1, 1, 1], term: 1 }) });
    const replies = h.appendEntries({ term: 2, leaderId: 0, prev: { index: 2, term: 1 }, entries: [], commit: 6 });
    expect(replies).toEqual([{ follower: 1, followerTerm: 2, success: true, matchIndex: 2 }]);
    expect(h.server.volatileState).toEqual({ commitIndex: 2, lastApplied: 2 });
    expect(h.committedEntries()).toEqual(entries(1, [1, 1]));
    // The next message brings index 3 of term 2, which replaces the stale suffix.
    h.appendEntries({ term: 2, leaderId: 0, prev: { index: 2, term: 1 }, entries: [entry(3, 2)], commit: 6 });
    expect(logOf(h.state)).toEqual(entries(1, [1, 1, 2]));
    expect(h.server.volatileState).toEqual({ commitIndex: 3, lastApplied: 3 });
    expect(h.committedEntries()).toEqual(entries(1, [1, 1, 2]));
  });

  it('follower commit rule: commitIndex never decreases (a stale AppendEntries with a smaller leaderCommitIndex)', () => {
    // Reference: Figure 2 AppendEntries step 5 (only "If leaderCommit > commitIndex"); §5.3 (committed entries are durable)
    const h = new Harness({ id: 1, clusterSize: 3 });
    h.appendEntries({ term: 1, leaderId: 0, prev: { index: 0, term: 0 }, entries: entries(1, [1, 1, 1, 1]), commit: 3 });
    expect(h.server.volatileState).toEqual({ commitIndex: 3, lastApplied: 3 });
    const eventsBefore = h.events.length;
    // Late messages of the same leader, sent before it had committed that far.
    h.appendEntries({ term: 1, leaderId: 0, prev: { index: 1, term: 1 }, entries: [entry(2, 1)], commit: 1 });
    expect(h.server.volatileState).toEqual({ commitIndex: 3, lastApplied: 3 });
    h.appendEntries({ term: 1, leaderId: 0, prev: { index: 0, term: 0 }, entries: [], commit: 0 });
    expect(h.server.volatileState).toEqual({ commitIndex: 3, lastApplied: 3 });
    expect(h.events.length).toBe(eventsBefore);
  });

  it('follower commit rule: committed fires with entries in order, each index once, lastApplied following commitIndex', () => {
    // Reference: Figure 2 "All Servers" ("If commitIndex > lastApplied: increment lastApplied, apply log[lastApplied]")
    const h = new Harness({ id: 1, clusterSize: 3 });
    const log = entries(1, [1, 1, 2, 2, 2, 3, 3]);
    const steps: Array<[number, number, number]> = [
      // [prev index, number of entries, leaderCommit]
      [0, 2, 0],
      [2, 3, 1],
      [5, 2, 4],
      [3, 0, 7], // stale shorter message with a large commit: capped at 3, below 4: nothing
      [7, 0, 6],
      [7, 0, 7],
      [7, 0, 7], // duplicate
    ];
    for (const [p, k, c] of steps) {
      h.appendEntries({ term: 3, leaderId: 0, prev: { index: p, term: log[p - 1]?.term ?? 0 }, entries: log.slice(p, p + k), commit: c });
      const { commitIndex, lastApplied } = h.server.volatileState;
      expect(lastApplied).toBe(commitIndex);
      expect(h.committedEntries()).toEqual(log.slice(0, commitIndex));
    }
    expect(h.server.volatileState.commitIndex).toBe(7);
    expect(h.events.filter((e) => e.kind === 'committed').map((e) => (e.kind === 'committed' ? e.entries.map((x) => x.index) : []))).toEqual([
      [1],
      [2, 3, 4],
      [5, 6],
      [7],
    ]);
  });

  it('follower commit rule (property): over any sequence of a leader\'s messages, commitIndex is the max of min(leaderCommit, last new index), and exactly the leader\'s prefix is committed', () => {
    // Reference: Figure 2 AppendEntries steps 2-5, "All Servers" (apply in order); §5.3 Log Matching
    // The leader's log uses even terms, the follower's divergent suffix odd terms, so they never agree at a diverging index.
    const arbitrary = fc
      .record({
        leaderSteps: fc.array(fc.boolean(), { minLength: 1, maxLength: 14 }),
        common: fc.nat(14),
        followerSteps: fc.array(fc.boolean(), { maxLength: 10 }),
        messages: fc.array(fc.tuple(fc.nat(), fc.nat(), fc.nat()), { minLength: 1, maxLength: 25 }),
      })
      .map(({ leaderSteps, common, followerSteps, messages }) => {
        let term = 2;
        const leaderTerms = leaderSteps.map((up) => (term += up ? 2 : 0));
        const shared = leaderTerms.slice(0, Math.min(common, leaderTerms.length));
        let fterm = (shared[shared.length - 1] ?? 0) + 1;
        const followerTerms = [...shared, ...followerSteps.map((up) => (fterm += up ? 2 : 0))];
        return { leaderTerms, followerTerms, messages };
      });
    fc.assert(
      fc.property(arbitrary, ({ leaderTerms, followerTerms, messages }) => {
        const leaderTerm = 100;
        const leaderLog: LogEntry<Data>[] = entries(1, leaderTerms);
        const n = leaderLog.length;
        const h = new Harness({ id: 1, clusterSize: 3, state: makeState({ log: followerTerms, term: 99 }) });
        let expectedCommit = 0;
        for (const [a, b, c] of messages) {
          const p = a % (n + 1);
          const k = b % (n - p + 1);
          const commit = c % (n + 1);
          const prevTerm = leaderLog[p - 1]?.term ?? 0;
          const held = p === 0 || h.state.getLogEntry(p)?.term === prevTerm;
          const replies = h.appendEntries({ term: leaderTerm, leaderId: 0, prev: { index: p, term: prevTerm }, entries: leaderLog.slice(p, p + k), commit });
          expect(replies).toHaveLength(1);
          expect(replies[0]?.success).toBe(held);
          if (held) {
            expectedCommit = Math.max(expectedCommit, Math.min(commit, p + k));
            expect(logOf(h.state).slice(0, p + k)).toEqual(leaderLog.slice(0, p + k));
          }
          const { commitIndex, lastApplied } = h.server.volatileState;
          expect(commitIndex).toBe(expectedCommit);
          expect(lastApplied).toBe(commitIndex);
          expect(h.committedEntries()).toEqual(leaderLog.slice(0, commitIndex));
        }
      }),
      { numRuns: 300, seed: 20240607 },
    );
  });
});
