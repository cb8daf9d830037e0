/**
 * Figure 2's trap of the late success: an AppendEntries reply sent for a message of an
 * earlier term of leadership must not raise `matchIndex` when it reaches the same server
 * leading a later term. Between the two terms the leader's own log may have been rewritten,
 * so the follower's "I hold up to index 2" speaks of entries the new leader does not have;
 * counting it would commit an entry a majority does not hold.
 */
import { appendEntries, entriesFrom, Solo } from './helpers';

describe('a success reply from an earlier term of leadership', () => {
  it('does not raise matchIndex nor commit anything when it reaches the server leading a later term', () => {
    const node = new Solo(0, 3);
    node.elect([1]); // term 1, with server 1's vote
    const leader = node.server;
    expect(leader.proposeAll(['a', 'b']).type).toBe('appended');
    const held = node.takeAppendEntries().find(({ to, message }) => to === 1 && message.entries.length === 2);
    expect(held).toBeDefined();

    // Server 2 leads term 2 and rewrites index 1 of server 0's log; server 0 follows.
    leader.processMessage(appendEntries({ term: 2, leaderId: 2, prev: { index: 0, term: 0 }, entries: entriesFrom(1, [2]) }, []));
    expect(leader.role).toBe('follower');
    expect(leader.persistentState.currentLogIndex).toBe(1);

    // Server 0 leads again, in term 3, with server 2's vote, and appends index 2 of term 3.
    node.elect([2]);
    expect(leader.currentTerm).toBe(3);
    expect(leader.proposeAll(['c']).type).toBe('appended');
    node.take();

    // The late success of term 1 ("server 1 holds up to index 2") arrives now.
    held?.message.replyChannel({ follower: 1, followerTerm: 1, success: true, matchIndex: 2 });
    expect(leader.leaderState?.matchIndex[1]).toBe(0);
    expect(leader.volatileState.commitIndex).toBe(0);
  });
});
