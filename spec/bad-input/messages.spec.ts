import { InvalidMessageError, RaftError, type Message } from '../../lib';
import { STATES, followerWithLog, snapshot, type Harness } from './harness';

/**
 * Every message here goes to server 1 of a 3-server cluster, and carries term 5, above the
 * term of every state the receiver is put in: a message that slipped past validation would
 * visibly change the receiver (its term at least).
 */
const RECEIVER = 1;

type Replier = { calls: unknown[]; fn: (reply: unknown) => void };

function replier(): Replier {
  const calls: unknown[] = [];
  return { calls, fn: (reply) => calls.push(reply) };
}

function validRequestVote(reply: Replier): Record<string, unknown> {
  return { type: 'requestVote', candidateTerm: 5, candidateId: 0, candidateLastLogEntry: { index: 3, term: 2 }, replyChannel: reply.fn };
}

function validAppendEntries(reply: Replier): Record<string, unknown> {
  return {
    type: 'appendEntries',
    leaderTerm: 5,
    leaderId: 0,
    prevLogEntry: { index: 3, term: 2 },
    entries: [
      { index: 4, term: 4, data: 'x' },
      { index: 5, term: 5, data: 'y' },
    ],
    leaderCommitIndex: 5,
    replyChannel: reply.fn,
  };
}

type Mutation = (message: Record<string, unknown>) => unknown;
type Case = [name: string, base: 'requestVote' | 'appendEntries' | 'none', mutate: Mutation, field: string];

const set =
  (key: string, value: unknown): Mutation =>
  (m) => ({ ...m, [key]: value });
const without =
  (key: string): Mutation =>
  (m) => {
    const copy = { ...m };
    delete copy[key];
    return copy;
  };
const entries =
  (...list: unknown[]): Mutation =>
  (m) => ({ ...m, entries: list });
const e = (index: unknown, term: unknown, data: unknown = 'd'): Record<string, unknown> => ({ index, term, data });

const cases: Case[] = [
  // Not an object at all.
  ['message null', 'none', () => null, 'message'],
  ['message undefined', 'none', () => undefined, 'message'],
  ['message a number', 'none', () => 42, 'message'],
  ["message a string", 'none', () => 'appendEntries', 'message'],
  // Unknown type.
  ["type 'snapshot' (unknown)", 'appendEntries', set('type', 'snapshot'), 'type'],
  ["an appendEntries relabelled 'installSnapshot'", 'appendEntries', set('type', 'installSnapshot'), 'lastIncluded'],
  ['type missing', 'appendEntries', without('type'), 'type'],
  ["type 'RequestVote' (wrong case)", 'requestVote', set('type', 'RequestVote'), 'type'],
  ['type a number', 'requestVote', set('type', 1), 'type'],

  // RequestVote fields.
  ['candidateTerm -1', 'requestVote', set('candidateTerm', -1), 'candidateTerm'],
  ['candidateTerm 5.5', 'requestVote', set('candidateTerm', 5.5), 'candidateTerm'],
  ['candidateTerm NaN', 'requestVote', set('candidateTerm', Number.NaN), 'candidateTerm'],
  ['candidateTerm Infinity', 'requestVote', set('candidateTerm', Number.POSITIVE_INFINITY), 'candidateTerm'],
  ["candidateTerm '5' (a string)", 'requestVote', set('candidateTerm', '5'), 'candidateTerm'],
  ['candidateTerm missing', 'requestVote', without('candidateTerm'), 'candidateTerm'],
  ['candidateId -1', 'requestVote', set('candidateId', -1), 'candidateId'],
  ['candidateId 3 (outside the cluster)', 'requestVote', set('candidateId', 3), 'candidateId'],
  ['candidateId 0.5', 'requestVote', set('candidateId', 0.5), 'candidateId'],
  ["candidateId '0' (a string)", 'requestVote', set('candidateId', '0'), 'candidateId'],
  ['candidateId equal to the receiver', 'requestVote', set('candidateId', RECEIVER), 'candidateId'],
  ['candidateLastLogEntry missing', 'requestVote', without('candidateLastLogEntry'), 'candidateLastLogEntry'],
  ['candidateLastLogEntry null', 'requestVote', set('candidateLastLogEntry', null), 'candidateLastLogEntry'],
  ['candidateLastLogEntry.index -1', 'requestVote', set('candidateLastLogEntry', { index: -1, term: 2 }), 'candidateLastLogEntry.index'],
  ['candidateLastLogEntry.index 1.5', 'requestVote', set('candidateLastLogEntry', { index: 1.5, term: 2 }), 'candidateLastLogEntry.index'],
  ['candidateLastLogEntry.term -2', 'requestVote', set('candidateLastLogEntry', { index: 3, term: -2 }), 'candidateLastLogEntry.term'],
  ['candidateLastLogEntry index 0 with term 1', 'requestVote', set('candidateLastLogEntry', { index: 0, term: 1 }), 'candidateLastLogEntry.term'],
  ['candidateLastLogEntry index 3 with term 0', 'requestVote', set('candidateLastLogEntry', { index: 3, term: 0 }), 'candidateLastLogEntry.term'],
  ['candidateLastLogEntry.term above candidateTerm', 'requestVote', set('candidateLastLogEntry', { index: 3, term: 6 }), 'candidateLastLogEntry.term'],
  ['requestVote replyChannel missing', 'requestVote', without('replyChannel'), 'replyChannel'],
  ['requestVote replyChannel a string', 'requestVote', set('replyChannel', 'reply-to-0'), 'replyChannel'],
  ['requestVote replyChannel an object', 'requestVote', set('replyChannel', {}), 'replyChannel'],

  // AppendEntries fields.
  ['leaderTerm -1', 'appendEntries', set('leaderTerm', -1), 'leaderTerm'],
  ['leaderTerm 5.5', 'appendEntries', set('leaderTerm', 5.5), 'leaderTerm'],
  ['leaderTerm NaN', 'appendEntries', set('leaderTerm', Number.NaN), 'leaderTerm'],
  ["leaderTerm '5' (a string)", 'appendEntries', set('leaderTerm', '5'), 'leaderTerm'],
  ['leaderTerm missing', 'appendEntries', without('leaderTerm'), 'leaderTerm'],
  ['leaderId -1', 'appendEntries', set('leaderId', -1), 'leaderId'],
  ['leaderId 3 (outside the cluster)', 'appendEntries', set('leaderId', 3), 'leaderId'],
  ['leaderId 2.5', 'appendEntries', set('leaderId', 2.5), 'leaderId'],
  ['leaderId equal to the receiver', 'appendEntries', set('leaderId', RECEIVER), 'leaderId'],
  ['leaderId missing', 'appendEntries', without('leaderId'), 'leaderId'],
  ['prevLogEntry missing', 'appendEntries', without('prevLogEntry'), 'prevLogEntry'],
  ['prevLogEntry a number', 'appendEntries', set('prevLogEntry', 3), 'prevLogEntry'],
  ['prevLogEntry.index -1', 'appendEntries', set('prevLogEntry', { index: -1, term: 2 }), 'prevLogEntry.index'],
  ['prevLogEntry.index 2.5', 'appendEntries', set('prevLogEntry', { index: 2.5, term: 2 }), 'prevLogEntry.index'],
  ['prevLogEntry.term -1', 'appendEntries', set('prevLogEntry', { index: 3, term: -1 }), 'prevLogEntry.term'],
  ['prevLogEntry.term 1.5', 'appendEntries', set('prevLogEntry', { index: 3, term: 1.5 }), 'prevLogEntry.term'],
  ['prevLogEntry index 0 with term > 0', 'appendEntries', (m) => ({ ...m, prevLogEntry: { index: 0, term: 1 }, entries: [e(1, 1)] }), 'prevLogEntry.term'],
  ['prevLogEntry index > 0 with term 0', 'appendEntries', set('prevLogEntry', { index: 3, term: 0 }), 'prevLogEntry.term'],
  ['prevLogEntry.term above leaderTerm', 'appendEntries', (m) => ({ ...m, prevLogEntry: { index: 3, term: 6 }, entries: [] }), 'prevLogEntry.term'],
  ['entries missing', 'appendEntries', without('entries'), 'entries'],
  ['entries not an array', 'appendEntries', set('entries', { 0: e(4, 4), length: 1 }), 'entries'],
  ['entries[0] null', 'appendEntries', entries(null), 'entries[0]'],
  ['entries[1] a string', 'appendEntries', entries(e(4, 4), 'entry'), 'entries[1]'],
  ['entries starting past prevLogEntry.index + 1 (a gap)', 'appendEntries', entries(e(5, 4)), 'entries[0].index'],
  ['entries starting at prevLogEntry.index (overlap)', 'appendEntries', entries(e(3, 4)), 'entries[0].index'],
  ['entries with a gap inside', 'appendEntries', entries(e(4, 4), e(6, 4)), 'entries[1].index'],
  ['entries with a repeated index', 'appendEntries', entries(e(4, 4), e(4, 4)), 'entries[1].index'],
  ['entries in reverse order', 'appendEntries', entries(e(5, 4), e(4, 4)), 'entries[0].index'],
  ['an entry index missing', 'appendEntries', entries({ term: 4, data: 'd' }), 'entries[0].index'],
  ['an entry index 4.5', 'appendEntries', entries(e(4.5, 4)), 'entries[0].index'],
  ['entry terms decreasing', 'appendEntries', entries(e(4, 5), e(5, 4)), 'entries[1].term'],
  ['an entry term below prevLogEntry.term', 'appendEntries', (m) => ({ ...m, prevLogEntry: { index: 3, term: 3 }, entries: [e(4, 2)] }), 'entries[0].term'],
  ['an entry term above leaderTerm', 'appendEntries', entries(e(4, 4), e(5, 6)), 'entries[1].term'],
  ['an entry term 0', 'appendEntries', (m) => ({ ...m, prevLogEntry: { index: 0, term: 0 }, entries: [e(1, 0)] }), 'entries[0].term'],
  ['an entry term -1', 'appendEntries', entries(e(4, -1)), 'entries[0].term'],
  ['an entry term 4.5', 'appendEntries', entries(e(4, 4.5)), 'entries[0].term'],
  ["an entry term '4' (a string)", 'appendEntries', entries(e(4, '4')), 'entries[0].term'],
  ['leaderCommitIndex -1', 'appendEntries', set('leaderCommitIndex', -1), 'leaderCommitIndex'],
  ['leaderCommitIndex 1.5', 'appendEntries', set('leaderCommitIndex', 1.5), 'leaderCommitIndex'],
  ['leaderCommitIndex missing', 'appendEntries', without('leaderCommitIndex'), 'leaderCommitIndex'],
  ['appendEntries replyChannel missing', 'appendEntries', without('replyChannel'), 'replyChannel'],
  ['appendEntries replyChannel null', 'appendEntries', set('replyChannel', null), 'replyChannel'],
  ['appendEntries replyChannel a number', 'appendEntries', set('replyChannel', 7), 'replyChannel'],
];

function build(base: Case[1], mutate: Mutation, reply: Replier): unknown {
  const message = base === 'requestVote' ? validRequestVote(reply) : validAppendEntries(reply);
  return mutate(message);
}

describe('processMessage: InvalidMessageError for every malformed message', () => {
  describe.each(STATES)('received by %s', (_state, make) => {
    it.each([
      ['requestVote', validRequestVote],
      ['appendEntries', validAppendEntries],
    ] as const)('control: the valid base %s is accepted, answered once, and moves the receiver to term 5', (_type, base) => {
      const h: Harness = make();
      const reply = replier();
      h.server.processMessage(base(reply) as unknown as Message<string>);
      expect(reply.calls).toHaveLength(1);
      expect(h.server.currentTerm).toBe(5);
      expect(h.server.role).toBe('follower');
    });

    it.each(cases)('%s', (_name, base, mutate, field) => {
      const h: Harness = make();
      const reply = replier();
      const message = build(base, mutate, reply);
      const before = snapshot(h);
      let error: unknown;
      try {
        h.server.processMessage(message as Message<string>);
      } catch (caught) {
        error = caught;
      }
      expect(error).toBeInstanceOf(InvalidMessageError);
      expect(error).toBeInstanceOf(RaftError);
      expect(error).toBeInstanceOf(Error);
      expect((error as InvalidMessageError).field).toBe(field);
      expect((error as Error).message).toContain(field);
      expect(reply.calls).toEqual([]);
      expect(snapshot(h)).toEqual(before);
      // The server is still usable: a valid message is processed normally afterwards.
      const after = replier();
      h.server.processMessage(validAppendEntries(after) as unknown as Message<string>);
      expect(after.calls).toEqual([expect.objectContaining({ follower: RECEIVER, followerTerm: 5 })]);
      expect(h.server.currentTerm).toBe(5);
      expect(h.server.leaderId).toBe(0);
    });
  });

  it('a batch whose last entry is invalid is refused whole: no valid prefix is stored', () => {
    const h: Harness = followerWithLog();
    const reply = replier();
    const before = snapshot(h);
    const message = { ...validAppendEntries(reply), entries: [e(4, 4), e(5, 5), e(6, 7)] }; // entry 6's term is above leaderTerm
    expect(() => h.server.processMessage(message as unknown as Message<string>)).toThrow(InvalidMessageError);
    expect(snapshot(h)).toEqual(before);
    expect(h.server.persistentState.currentLogIndex).toBe(3);
    expect(reply.calls).toEqual([]);
  });

  it('a message from a stale term that is also malformed is refused as malformed, not answered', () => {
    const h: Harness = followerWithLog();
    const reply = replier();
    const message = { ...validAppendEntries(reply), leaderTerm: 1, prevLogEntry: { index: 0, term: 0 }, entries: [e(1, 2)] };
    expect(() => h.server.processMessage(message as unknown as Message<string>)).toThrow(InvalidMessageError);
    expect(reply.calls).toEqual([]);
  });
});
