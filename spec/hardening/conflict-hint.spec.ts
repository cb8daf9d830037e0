// Hardening: the conflict hint carries the term of the follower's entry at the hint.
//
// Contract: a failed AppendEntries reply may carry `hintTerm`, the term of the follower's
// entry at `matchIndex` (0 for index 0). The follower computes the hint like etcd's
// findConflictByTerm: the largest index <= min(prevLogEntry.index, its last index) whose
// term is <= prevLogEntry.term, and hintTerm is that entry's term. The leader then skips
// back to the last entry of its own log (at or before the hint) whose term is <= hintTerm,
// so repairing a follower costs a resend of the divergent stretch only, never of the
// matching prefix. Replies without hintTerm (older peers) still work.

import type { AppendEntriesMessage, AppendEntriesReply, ServerId } from '../../lib';
import { appendEntries, deliverTo, run, sameLog, Solo, storeWith, termsOf, type Data } from './helpers';

describe('conflict hint: the follower', () => {
  it('prevLogEntry beyond its log: matchIndex is its last index and hintTerm that entry\'s term', () => {
    const follower = new Solo(1, 3, storeWith([1, 1, 2, 2]));
    const replies: AppendEntriesReply[] = [];
    follower.server.processMessage(appendEntries({ term: 3, leaderId: 0, prev: { index: 10, term: 3 } }, replies));
    expect(replies).toEqual([{ follower: 1, followerTerm: 3, success: false, matchIndex: 4, hintTerm: 2 }]);
  });

  it('a term conflict at prevLogEntry: the largest index <= prev.index whose term is <= prev.term, with its term', () => {
    // Follower's log: terms 1 1 1 4 4 5 5. The leader's entry 6 has term 3, the follower's has 5.
    // Entries 4..6 have terms above 3 and cannot match; entry 3 (term 1) might.
    const follower = new Solo(1, 3, storeWith([1, 1, 1, 4, 4, 5, 5]));
    const replies: AppendEntriesReply[] = [];
    follower.server.processMessage(appendEntries({ term: 6, leaderId: 0, prev: { index: 6, term: 3 } }, replies));
    expect(replies).toEqual([{ follower: 1, followerTerm: 6, success: false, matchIndex: 3, hintTerm: 1 }]);
  });

  it('a conflict down to an empty prefix: matchIndex 0 with hintTerm 0', () => {
    const follower = new Solo(1, 3, storeWith([2, 2, 2]));
    const replies: AppendEntriesReply[] = [];
    follower.server.processMessage(appendEntries({ term: 3, leaderId: 0, prev: { index: 2, term: 1 } }, replies));
    expect(replies).toEqual([{ follower: 1, followerTerm: 3, success: false, matchIndex: 0, hintTerm: 0 }]);
  });
});

describe('conflict hint: the leader', () => {
  it('skips back to its last entry whose term is <= hintTerm, at or before the hint', () => {
    // Leader's log: terms 1 1 1 1 2 2, leading term 3. A follower that holds 1..5 with
    // entry 5 of term 1 rejects prev (6, 2) with matchIndex 5, hintTerm 1: the leader's
    // last entry of term <= 1 at or before 5 is 4, so it probes with prevLogEntry 4.
    const leader = new Solo(0, 3, storeWith([1, 1, 1, 1, 2, 2]), { electionTimeout: 1000, heartbeatTimeout: 50 });
    leader.elect([2]);
    const probe = leader.takeAppendEntries().find(({ to }) => to === 1);
    expect(probe?.message.prevLogEntry).toEqual({ index: 6, term: 2 });
    probe?.message.replyChannel({ follower: 1, followerTerm: 3, success: false, matchIndex: 5, hintTerm: 1 });
    const next = leader.takeAppendEntries().filter(({ to }) => to === 1);
    expect(next).toHaveLength(1);
    expect(next[0]?.message.prevLogEntry).toEqual({ index: 4, term: 1 });
  });

  it('a long diverged follower is repaired by resending only the divergent stretch', () => {
    // Follower: 10,009 entries of term 1 (restarted: commitIndex 0). Leader: 1..10,004 of
    // term 1, then 10,005..10,010 of term 2, leading term 3. The logs share 1..10,004; the
    // true divergence is 10,005..10,010 (6 entries). Today the term-1 run makes the
    // follower hint 0 and the leader resends all ~10,010 entries.
    const shared = 10_004;
    const leaderTerms = [...run(1, shared), ...run(2, 6)];
    const leader = new Solo(0, 3, storeWith(leaderTerms, 2), { electionTimeout: 1000, heartbeatTimeout: 50 });
    const followerState = storeWith(run(1, 10_009), 2);
    const follower = new Solo(1, 3, followerState, { electionTimeout: 1000, heartbeatTimeout: 50 });
    leader.elect([2]);
    expect(leader.server.currentTerm).toBe(3);

    let entriesSent = 0;
    let messages = 0;
    for (let round = 0; round < 40 && !sameLog(leader.state, followerState); round++) {
      // Deliver everything to follower 1 (messages to 2 are lost), replies after the call.
      for (let k = 0; k < 1000 && leader.sent.length > 0; k++) {
        for (const { to, message } of leader.takeAppendEntries()) {
          if (to !== 1) continue;
          messages++;
          entriesSent += message.entries.length;
          for (const reply of deliverTo(follower.server, message)) message.replyChannel(reply as AppendEntriesReply);
        }
      }
      leader.now += 50;
      follower.now += 50;
      leader.server.tick();
    }
    expect(sameLog(leader.state, followerState)).toBe(true);
    expect(termsOf(followerState).slice(shared)).toEqual(run(2, 6));
    // At most the 6 divergent entries plus a small constant; never the shared prefix.
    expect(entriesSent).toBeLessThanOrEqual(20);
    expect(messages).toBeLessThanOrEqual(20);
  });

  it('still repairs a follower whose replies carry no hintTerm (an older peer)', () => {
    const leaderTerms = [...run(1, 50), ...run(2, 20), ...run(4, 10)];
    const leader = new Solo(0, 3, storeWith(leaderTerms, 4), { electionTimeout: 1000, heartbeatTimeout: 50, maxEntriesPerMessage: 7 });
    const followerState = storeWith([...run(1, 50), ...run(3, 40)], 3);
    const follower = new Solo(1, 3, followerState, { electionTimeout: 1000, heartbeatTimeout: 50 });
    leader.elect([2]);
    const stripped = (reply: AppendEntriesReply): AppendEntriesReply => ({
      follower: reply.follower,
      followerTerm: reply.followerTerm,
      success: reply.success,
      matchIndex: reply.matchIndex,
    });
    const deliver = (to: ServerId, message: AppendEntriesMessage<Data>): void => {
      if (to !== 1) return;
      for (const reply of deliverTo(follower.server, message)) message.replyChannel(stripped(reply as AppendEntriesReply));
    };
    for (let round = 0; round < 40 && !sameLog(leader.state, followerState); round++) {
      for (let k = 0; k < 1000 && leader.sent.length > 0; k++) {
        for (const { to, message } of leader.takeAppendEntries()) deliver(to, message);
      }
      leader.now += 50;
      follower.now += 50;
      leader.server.tick();
    }
    expect(sameLog(leader.state, followerState)).toBe(true);
    // A proposal of the leader's term then commits with this follower's help.
    leader.server.propose('new');
    for (let k = 0; k < 100 && leader.sent.length > 0; k++) {
      for (const { to, message } of leader.takeAppendEntries()) deliver(to, message);
    }
    expect(leader.server.volatileState.commitIndex).toBe(leaderTerms.length + 1);
  });
});
