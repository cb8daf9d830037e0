// Hardening: channels that call back into a server synchronously.
//
// Contract: a `messageChannel` or `replyChannel` that calls back synchronously into the
// server handling an input (processMessage, tick, propose, proposeAll, trigger*, or the
// sender's reply callback invoked from inside its own messageChannel) gets ReentrancyError
// (a RaftError) from the inner call, and the inner call changes nothing. Event listeners
// may still call back into the server.

import { RaftError, ReentrancyError, type AppendEntriesMessage, type AppendEntriesReply, type Message, type ProposeResult, type RequestVoteReply, type Server } from '../../lib';
import { appendEntries, deliverTo, entriesFrom, Solo, storeWith, type Data } from './helpers';

/** Everything an inner call could change, as seen from outside. */
function snapshot(solo: Solo): unknown {
  const s = solo.server;
  return {
    role: s.role,
    term: s.currentTerm,
    votedFor: solo.state.votedFor,
    leaderId: s.leaderId,
    logLength: solo.state.currentLogIndex,
    volatile: s.volatileState,
    leaderState: s.leaderState,
    sent: solo.sent.length,
  };
}

/** Runs `inner`, returning what it threw and whether the server's visible state changed. */
function attempt(solo: Solo, inner: () => unknown): { error: unknown; changed: boolean } {
  const before = JSON.stringify(snapshot(solo));
  let error: unknown;
  try {
    inner();
  } catch (e) {
    error = e;
  }
  return { error, changed: JSON.stringify(snapshot(solo)) !== before };
}

describe('re-entrancy: the issue\'s cases', () => {
  it('a follower replying synchronously with a higher term, from inside the leader\'s messageChannel, is refused', () => {
    const leader = new Solo(0, 3, undefined, { electionTimeout: 1000, heartbeatTimeout: 50 });
    leader.elect([2]);
    const ledTerm = leader.server.currentTerm;
    leader.take();
    // Follower 1 is already in a later term: it refuses and answers with that term.
    const follower = new Solo(1, 3, storeWith([], ledTerm + 1));
      let inner: { error: unknown; changed: boolean } | undefined;
    leader.onSend = (to, message) => {
      if (to !== 1 || message.type !== 'appendEntries') return;
      // A channel that delivers synchronously, and a reply path that calls straight back.
      follower.server.processMessage({
        ...message,
        replyChannel: (reply: AppendEntriesReply) => {
          inner = attempt(leader, () => message.replyChannel(reply));
        },
      });
    };
    leader.server.triggerHeartbeat();
    // The leader never stamps an AppendEntries with a term it did not lead (today it steps
    // down mid-loop and sends the rest of its heartbeats with the new term).
    const terms = leader.sent.flatMap(({ message }) => (message.type === 'appendEntries' ? [message.leaderTerm] : []));
    expect(leader.sent.some(({ to }) => to === 2)).toBe(true);
    expect([...new Set(terms)]).toEqual([ledTerm]);
    expect(inner?.error).toBeInstanceOf(ReentrancyError);
    expect(inner?.error).toBeInstanceOf(RaftError);
    expect(inner?.changed).toBe(false);
    expect(leader.server.role).toBe('leader');
    expect(leader.server.currentTerm).toBe(ledTerm);
  });

  it('the same higher-term reply, delivered after the call returned, makes the leader step down', () => {
    const leader = new Solo(0, 3, undefined, { electionTimeout: 1000, heartbeatTimeout: 50 });
    leader.elect([2]);
    const ledTerm = leader.server.currentTerm;
    leader.take();
    const follower = new Solo(1, 3, storeWith([], ledTerm + 1));
    leader.server.triggerHeartbeat();
    const toOne = leader.takeAppendEntries().find(({ to }) => to === 1) as { message: AppendEntriesMessage<Data> };
    for (const reply of deliverTo(follower.server, toOne.message)) toOne.message.replyChannel(reply as AppendEntriesReply);
    expect(leader.server.role).toBe('follower');
    expect(leader.server.currentTerm).toBe(ledTerm + 1);
  });

  it('a replyChannel that re-enters processMessage is refused with ReentrancyError', () => {
    const solo = new Solo(1, 3);
    let inner: { error: unknown; changed: boolean } | undefined;
    const innerReplies: AppendEntriesReply[] = [];
    const outerReplies: RequestVoteReply[] = [];
    solo.server.processMessage({
      type: 'requestVote',
      candidateTerm: 1,
      candidateId: 0,
      candidateLastLogEntry: { index: 0, term: 0 },
      replyChannel: (reply) => {
        outerReplies.push(reply);
        // A later leader's AppendEntries, handed in from inside the reply.
        inner = attempt(solo, () =>
          solo.server.processMessage(appendEntries({ term: 5, leaderId: 2, prev: { index: 0, term: 0 }, entries: entriesFrom(1, [5]), commit: 0 }, innerReplies)),
        );
      },
    });
    expect(outerReplies).toEqual([{ voter: 1, voterTerm: 1, voteGranted: true }]);
    expect(inner?.error).toBeInstanceOf(ReentrancyError);
    expect(inner?.changed).toBe(false);
    expect(innerReplies).toEqual([]);
    expect(solo.server.currentTerm).toBe(1);
    expect(solo.state.currentLogIndex).toBe(0);
  });
});

describe('re-entrancy: every entry point, called from inside a channel', () => {
  const calls: Array<[string, (server: Server<Data>) => unknown]> = [
    ['processMessage', (s) => s.processMessage({ type: 'requestVote', candidateTerm: 9, candidateId: 2, candidateLastLogEntry: { index: 9, term: 9 }, replyChannel: () => undefined } as Message<Data>)],
    ['tick', (s) => s.tick()],
    ['triggerTimeout', (s) => s.triggerTimeout()],
    ['triggerHeartbeat', (s) => s.triggerHeartbeat()],
    ['propose', (s) => s.propose('inner')],
    ['proposeAll', (s) => s.proposeAll(['inner', 'inner2'])],
  ];

  it.each(calls)('%s from inside the leader\'s messageChannel: ReentrancyError, nothing changes', (_name, call) => {
    const leader = new Solo(0, 3, undefined, { electionTimeout: 1000, heartbeatTimeout: 50 });
    leader.elect([2]);
    leader.take();
    leader.now = 10_000; // every timer is due: an inner tick would have work
    let inner: { error: unknown; changed: boolean } | undefined;
    leader.onSend = () => {
      if (inner === undefined) inner = attempt(leader, () => call(leader.server));
    };
    leader.server.triggerHeartbeat();
    expect(inner?.error).toBeInstanceOf(ReentrancyError);
    expect(inner?.changed).toBe(false);
  });

  it.each(calls)('%s from inside a follower\'s replyChannel: ReentrancyError, nothing changes', (_name, call) => {
    const follower = new Solo(1, 3, undefined, { electionTimeout: 1000, heartbeatTimeout: 50 });
    follower.now = 10_000;
    let inner: { error: unknown; changed: boolean } | undefined;
    follower.server.processMessage({
      type: 'appendEntries',
      leaderTerm: 1,
      leaderId: 0,
      prevLogEntry: { index: 0, term: 0 },
      entries: entriesFrom(1, [1]),
      leaderCommitIndex: 0,
      replyChannel: () => {
        inner = attempt(follower, () => call(follower.server));
      },
    });
    expect(inner?.error).toBeInstanceOf(ReentrancyError);
    expect(inner?.changed).toBe(false);
  });
});

describe('re-entrancy: event listeners may call back', () => {
  it('a roleChange listener that proposes on becoming leader works', () => {
    const solo = new Solo(0, 3, undefined, { electionTimeout: 1000, heartbeatTimeout: 50 });
    let result: ProposeResult | undefined;
    let error: unknown;
    solo.server.on('roleChange', (role) => {
      if (role !== 'leader') return;
      try {
        result = solo.server.propose('hello');
      } catch (e) {
        error = e;
      }
    });
    solo.elect([1]);
    expect(error).toBeUndefined();
    expect(result).toEqual({ type: 'appended', index: 1, term: 1 });
    const carrying = solo.sent.filter(({ message }) => message.type === 'appendEntries' && message.entries.some((e) => e.data === 'hello'));
    expect(carrying.map(({ to }) => to).sort()).toEqual([1, 2]);
  });

  it('a committed listener that proposes again works (a cluster of one)', () => {
    const solo = new Solo(0, 1);
    solo.server.triggerTimeout();
    const results: ProposeResult[] = [];
    solo.server.on('committed', (entries) => {
      if (entries.some((e) => e.data === 'first')) results.push(solo.server.propose('second'));
    });
    solo.server.propose('first');
    expect(results).toEqual([{ type: 'appended', index: 2, term: 1 }]);
    expect(solo.server.volatileState.commitIndex).toBe(2);
  });
});
