// Figure 2, "Persistent state on all servers (updated on stable storage before responding to RPCs)"
// and the RPC results of both RPCs.
// Covers rule 14: exactly one reply to every request, synchronously, before processMessage
// returns; persistence (sync) before any reply or message that depends on new writes; a
// server works with a persistent state that has neither appendEntries nor sync.

import { BufferedState, Harness, Wire, entries, entry, fill, logOf, minimalState, type Snapshot } from './harness';
import type { AppendEntriesReply, LogEntry, Message, RequestVoteReply, ServerId } from '../../lib';

/** A durable snapshot holds entry `e` at its index. */
function holdsDurably(durable: Snapshot, e: { index: number; term: number }): boolean {
  return e.index === 0 || durable.log[e.index - 1]?.term === e.term;
}

/**
 * A server over a {@link BufferedState} whose every outgoing message and reply is checked
 * against what is durable at that moment; violations are collected.
 */
function durableServer(spec: { log?: number[]; term?: number; id?: ServerId; clusterSize?: number } = {}) {
  const state = fill(new BufferedState(), { log: spec.log ?? [], ...(spec.term !== undefined ? { term: spec.term } : {}) });
  state.sync();
  const violations: string[] = [];
  const checkMessage = (to: ServerId, message: Message<string>) => {
    const d = state.durable;
    if (state.dirty) violations.push(`message to ${to} handed out with unsynced writes: ${state.journal.join(', ')}`);
    if (message.type === 'requestVote') {
      if (d.currentTerm !== message.candidateTerm) violations.push(`RequestVote of term ${message.candidateTerm} sent while durable term is ${d.currentTerm}`);
      if (d.votedFor !== message.candidateId) violations.push(`RequestVote sent before the self-vote was durable (durable votedFor ${d.votedFor})`);
    } else if (message.type === 'appendEntries') {
      if (d.currentTerm !== message.leaderTerm) violations.push(`AppendEntries of term ${message.leaderTerm} sent while durable term is ${d.currentTerm}`);
      for (const e of [message.prevLogEntry, ...message.entries]) {
        if (!holdsDurably(d, e)) violations.push(`AppendEntries carries entry ${e.index}@${e.term} not yet durable`);
      }
    }
  };
  const h = new Harness({ id: spec.id ?? 0, clusterSize: spec.clusterSize ?? 3, state, onSend: checkMessage });
  const checkVoteReply = (candidateId: ServerId) => (reply: RequestVoteReply) => {
    const d = state.durable;
    if (state.dirty) violations.push(`vote reply handed out with unsynced writes: ${state.journal.join(', ')}`);
    if (d.currentTerm !== reply.voterTerm) violations.push(`vote reply says term ${reply.voterTerm}, durable term is ${d.currentTerm}`);
    if (reply.voteGranted && d.votedFor !== candidateId) violations.push(`vote granted to ${candidateId} but durable votedFor is ${d.votedFor}`);
  };
  const checkAppendReply = (sentEntries: readonly LogEntry<string>[]) => (reply: AppendEntriesReply) => {
    const d = state.durable;
    if (state.dirty) violations.push(`append reply handed out with unsynced writes: ${state.journal.join(', ')}`);
    if (d.currentTerm !== reply.followerTerm) violations.push(`append reply says term ${reply.followerTerm}, durable term is ${d.currentTerm}`);
    if (reply.success) {
      for (const e of sentEntries) if (!holdsDurably(d, e)) violations.push(`success reply before entry ${e.index}@${e.term} was durable`);
      if (d.log.length < reply.matchIndex) violations.push(`success up to ${reply.matchIndex} but durable log has ${d.log.length} entries`);
    }
  };
  return { h, state, violations, checkVoteReply, checkAppendReply };
}

type Setup = ReturnType<typeof durableServer>;

// Server 0 of 3, log [1, 1, 2], term 2; each case prepares it, then sends one request.
const situations: Array<[string, (s: Setup) => void, (s: Setup) => unknown[]]> = [
  ['RequestVote granted (newer term)', () => {}, (s) => s.h.requestVote({ term: 3, candidateId: 1, last: { index: 3, term: 2 } }, s.checkVoteReply(1))],
  [
    'RequestVote granted again to the same candidate',
    (s) => void s.h.requestVote({ term: 3, candidateId: 1, last: { index: 3, term: 2 } }),
    (s) => s.h.requestVote({ term: 3, candidateId: 1, last: { index: 3, term: 2 } }, s.checkVoteReply(1)),
  ],
  [
    'RequestVote denied: already voted for another',
    (s) => void s.h.requestVote({ term: 3, candidateId: 2, last: { index: 3, term: 2 } }),
    (s) => s.h.requestVote({ term: 3, candidateId: 1, last: { index: 3, term: 2 } }, s.checkVoteReply(1)),
  ],
  ['RequestVote denied: stale term', () => {}, (s) => s.h.requestVote({ term: 1, candidateId: 1, last: { index: 9, term: 1 } }, s.checkVoteReply(1))],
  ['RequestVote denied: log behind (newer term adopted)', () => {}, (s) => s.h.requestVote({ term: 4, candidateId: 1, last: { index: 1, term: 1 } }, s.checkVoteReply(1))],
  [
    'RequestVote to a leader, newer term (steps down, grants)',
    (s) => void s.h.elect([1]),
    (s) => s.h.requestVote({ term: 4, candidateId: 2, last: { index: 3, term: 2 } }, s.checkVoteReply(2)),
  ],
  [
    'AppendEntries success: new entries (newer term adopted)',
    () => {},
    (s) => {
      const es = [entry(4, 3), entry(5, 3)];
      return s.h.appendEntries({ term: 3, leaderId: 1, prev: { index: 3, term: 2 }, entries: es, commit: 5 }, s.checkAppendReply(es));
    },
  ],
  [
    'AppendEntries success: conflict truncation',
    () => {},
    (s) => {
      const es = entries(3, [3, 3]);
      return s.h.appendEntries({ term: 3, leaderId: 1, prev: { index: 2, term: 1 }, entries: es }, s.checkAppendReply(es));
    },
  ],
  ['AppendEntries success: heartbeat', () => {}, (s) => s.h.appendEntries({ term: 2, leaderId: 1, prev: { index: 3, term: 2 }, commit: 3 }, s.checkAppendReply([]))],
  [
    'AppendEntries failure: consistency check (newer term adopted)',
    () => {},
    (s) => s.h.appendEntries({ term: 3, leaderId: 1, prev: { index: 7, term: 3 }, entries: [entry(8, 3)] }, s.checkAppendReply([entry(8, 3)])),
  ],
  ['AppendEntries failure: stale term', (s) => void s.h.requestVote({ term: 3, candidateId: 1 }), (s) => s.h.appendEntries({ term: 2, leaderId: 1 }, s.checkAppendReply([]))],
  [
    'AppendEntries to a leader of the same term',
    (s) => void s.h.elect([1]),
    (s) => s.h.appendEntries({ term: 3, leaderId: 2, prev: { index: 3, term: 2 }, entries: [entry(4, 3)] }, s.checkAppendReply([entry(4, 3)])),
  ],
  [
    'AppendEntries to a candidate of the same term',
    (s) => s.h.server.triggerTimeout(),
    (s) => s.h.appendEntries({ term: 3, leaderId: 1, prev: { index: 3, term: 2 }, entries: [entry(4, 3)] }, s.checkAppendReply([entry(4, 3)])),
  ],
];

describe('Rule 14 — exactly one reply to every request, after persistence', () => {
  // Reference: Figure 2 ("Persistent state on all servers (Updated on stable storage before responding to RPCs)"; RPC "Results"), §5.1 (RPCs), §5.2; SPEC "The receiver of a request calls its replyChannel exactly once ... before processMessage returns; and only after its persistent state holds what the reply promises".

  it.each(situations)('exactly one reply, synchronously, after sync: %s', (_name, before, send) => {
    // Reference: Figure 2, §5.1
    const s = durableServer({ log: [1, 1, 2], term: 2 });
    before(s);
    s.h.take();
    const replies = send(s); // the helper returns what the replyChannel received by the time processMessage returned
    expect(replies).toHaveLength(1);
    expect(s.violations).toEqual([]);
  });

  it('persistence before messages: RequestVote leaves only after the new term and the self-vote are durable', () => {
    // Reference: Figure 2 (currentTerm, votedFor on stable storage), §5.2
    const s = durableServer({ log: [1, 1, 2], term: 2, clusterSize: 5 });
    s.h.server.triggerTimeout();
    expect(s.h.takeVoteRequests()).toHaveLength(4);
    expect(s.violations).toEqual([]);
  });

  it('persistence before messages: AppendEntries leave only after the entries they carry are durable', () => {
    // Reference: Figure 2 (log[] on stable storage), §5.3
    const s = durableServer({ log: [1, 1, 2], term: 2 });
    s.h.elect([1]);
    s.h.server.propose('a');
    s.h.server.propose('b');
    s.h.server.triggerHeartbeat();
    expect(s.h.takeAppendEntries().length).toBeGreaterThan(0);
    expect(s.violations).toEqual([]);
  });

  it('persistence before commitment: a leader counts its own copy of an entry only once it is durable', () => {
    // Reference: §5.3 (an entry is committed once *stored* on a majority — the leader's own copy included), Figure 2 persistent state
    const s = durableServer({ clusterSize: 1 });
    const problems: string[] = [];
    s.h.server.on('committed', (es) => {
      for (const e of es) if (!holdsDurably(s.state.durable, e)) problems.push(`entry ${e.index} committed before it was durable`);
    });
    s.h.server.triggerTimeout();
    s.h.server.propose('a');
    s.h.server.propose('b');
    expect(s.h.server.volatileState.commitIndex).toBe(2);
    expect(problems).toEqual([]);
  });

  it('pluggable state: a server works with a persistent state that has neither appendEntries nor sync', () => {
    // Reference: SPEC "a Server uses them when present and must still work with an object that has only the methods above"; Figure 2
    const nodes = new Map<ServerId, Harness>();
    const logs: number[][] = [[1, 1], [1, 1, 1, 1], []]; // server 1 has a stale suffix from term 1
    logs.forEach((log, id) => {
      const state = fill(minimalState(), { log, term: 1 });
      expect('sync' in state || 'appendEntries' in state).toBe(false);
      nodes.set(id, new Harness({ id, clusterSize: 3, state }));
    });
    const wire = new Wire(nodes);
    const leader = nodes.get(0) as Harness;
    leader.server.triggerTimeout(); // term 2; server 2 (empty log) votes for it
    wire.pump();
    expect(leader.server.role).toBe('leader');
    for (const data of ['a', 'b', 'c']) leader.server.propose(data);
    wire.pump();
    leader.server.triggerHeartbeat();
    wire.pump();
    const expected = [...entries(1, [1, 1]), ...['a', 'b', 'c'].map((data, k) => ({ index: 3 + k, term: 2, data }))];
    for (const h of nodes.values()) {
      expect(logOf(h.state)).toEqual(expected);
      expect(h.server.volatileState).toEqual({ commitIndex: 5, lastApplied: 5 });
      expect(h.committedEntries()).toEqual(expected);
    }
    // And a restart over the same minimal state keeps term, vote and log.
    const restarted = nodes.get(1) as Harness;
    restarted.restart();
    expect(restarted.server.currentTerm).toBe(2);
    expect(logOf(restarted.state)).toEqual(expected);
  });
});
