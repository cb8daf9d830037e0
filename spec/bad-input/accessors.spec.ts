import { InvalidMessageError, type AppendEntriesMessage, type Message, type RequestVoteMessage } from '../../lib';
import { validateAppendEntriesReply, validateMessage, validateRequestVoteReply } from '../../lib/validation';
import { candidateWithLog, followerWithLog, leaderWithLog, type Harness } from './harness';

/**
 * Validation reads each field once and hands back a checked plain copy: a getter
 * (or Proxy) that answers differently on a second read cannot slip a value past it.
 */

const RECEIVER = { id: 1, clusterSize: 3 };

/**
 * `fields`, with every property turned into a getter that counts its reads and answers
 * `first` values on the first read and `later` values (when given) afterwards.
 */
function shifty<O extends Record<string, unknown>>(first: O, later: Partial<Record<keyof O, unknown>> = {}): { object: O; reads: Record<string, number> } {
  const reads: Record<string, number> = {};
  const object = {} as O;
  for (const key of Object.keys(first)) {
    reads[key] = 0;
    Object.defineProperty(object, key, {
      enumerable: true,
      get() {
        reads[key] = (reads[key] as number) + 1;
        return reads[key] === 1 || !(key in later) ? first[key] : later[key as keyof O];
      },
    });
  }
  return { object, reads };
}

function allOnce(reads: Record<string, number>): void {
  for (const [key, count] of Object.entries(reads)) expect([key, count]).toEqual([key, 1]);
}

describe('validateMessage returns a checked copy and reads each field once', () => {
  it('AppendEntries: every field, position and entry field is read exactly once', () => {
    const reply = (): void => {};
    const prev = shifty({ index: 3, term: 2 });
    const entry0 = shifty({ index: 4, term: 4, data: 'x' });
    const entry1 = shifty({ index: 5, term: 5, data: 'y' });
    const message = shifty({ type: 'appendEntries', leaderTerm: 5, leaderId: 0, prevLogEntry: prev.object, entries: [entry0.object, entry1.object], leaderCommitIndex: 5, replyChannel: reply });
    const copy = validateMessage<string>(message.object, RECEIVER);
    for (const counter of [message, prev, entry0, entry1]) allOnce(counter.reads);
    expect(copy).toEqual({
      type: 'appendEntries',
      leaderTerm: 5,
      leaderId: 0,
      prevLogEntry: { index: 3, term: 2 },
      entries: [
        { index: 4, term: 4, data: 'x' },
        { index: 5, term: 5, data: 'y' },
      ],
      leaderCommitIndex: 5,
      replyChannel: reply,
    });
    if (copy.type !== 'appendEntries') throw new Error('wrong type');
    expect(Object.keys(copy).sort()).toEqual(['entries', 'leaderCommitIndex', 'leaderId', 'leaderTerm', 'prevLogEntry', 'replyChannel', 'type']);
    // New plain objects, not the sender's (which are the getter-laden objects above).
    expect(copy.entries.every((entry) => Object.getPrototypeOf(entry) === Object.prototype)).toBe(true);
    expect(copy.entries[0]).not.toBe(entry0.object);
    expect(Object.getOwnPropertyDescriptor(copy.entries[0], 'term')).toMatchObject({ value: 4 });
    // Reading the copy reads the original no more.
    void [copy.leaderTerm, copy.prevLogEntry.term, copy.entries[1]?.term, copy.entries[1]?.data];
    for (const counter of [message, prev, entry0, entry1]) allOnce(counter.reads);
  });

  it('RequestVote: every field read once; the copy has exactly the fields of RequestVoteMessage', () => {
    const reply = (): void => {};
    const last = shifty({ index: 3, term: 2 });
    const message = shifty({ type: 'requestVote', candidateTerm: 5, candidateId: 0, candidateLastLogEntry: last.object, replyChannel: reply, extra: 'ignored' });
    const copy = validateMessage<string>(message.object, RECEIVER);
    allOnce(last.reads);
    expect(message.reads.extra).toBe(0);
    const { extra: _extra, ...reads } = message.reads;
    allOnce(reads);
    expect(copy).toEqual({ type: 'requestVote', candidateTerm: 5, candidateId: 0, candidateLastLogEntry: { index: 3, term: 2 }, replyChannel: reply });
    expect(copy).not.toBe(message.object);
  });

  it('the copy holds the values validation saw, whatever the getters answer later', () => {
    const data = { payload: 1 };
    const entry = shifty({ index: 4, term: 4, data }, { index: 99, term: 99, data: 'other' });
    const message = shifty(
      { type: 'appendEntries', leaderTerm: 5, leaderId: 0, prevLogEntry: { index: 3, term: 2 }, entries: [entry.object], leaderCommitIndex: 4, replyChannel: () => {} },
      { type: 'requestVote', leaderTerm: 99, leaderId: 1, prevLogEntry: { index: 9, term: 99 }, entries: 'not an array', leaderCommitIndex: -1, replyChannel: 'not a function' },
    );
    const copy = validateMessage<unknown>(message.object, RECEIVER);
    // The original now answers garbage; the copy does not.
    expect((message.object as Record<string, unknown>).leaderTerm).toBe(99);
    expect(copy).toMatchObject({ type: 'appendEntries', leaderTerm: 5, leaderId: 0, prevLogEntry: { index: 3, term: 2 }, leaderCommitIndex: 4 });
    if (copy.type !== 'appendEntries') throw new Error('wrong type');
    expect(copy.entries).toEqual([{ index: 4, term: 4, data }]);
    expect(copy.entries[0]?.data).toBe(data); // the application's data is passed by reference, not cloned
    expect(typeof copy.replyChannel).toBe('function');
  });

  it('entries are copied into a new array: changing the sent array afterwards changes nothing', () => {
    const entries = [{ index: 4, term: 4, data: 'x' }];
    const copy = validateMessage<string>({ type: 'appendEntries', leaderTerm: 5, leaderId: 0, prevLogEntry: { index: 3, term: 2 }, entries, leaderCommitIndex: 4, replyChannel: () => {} }, RECEIVER);
    entries.push({ index: 5, term: 9, data: 'y' });
    (entries[0] as { term: number }).term = 99;
    expect(copy.type === 'appendEntries' && copy.entries).toEqual([{ index: 4, term: 4, data: 'x' }]);
  });

  it('an entries Proxy whose length grows after the first read is copied at its first length', () => {
    let lengthReads = 0;
    const entries = new Proxy([{ index: 4, term: 4, data: 'x' }], {
      get: (target, key) => (key === 'length' ? (++lengthReads === 1 ? 1 : 1_000) : Reflect.get(target, key)) as unknown,
    });
    const copy = validateMessage<string>({ type: 'appendEntries', leaderTerm: 5, leaderId: 0, prevLogEntry: { index: 3, term: 2 }, entries, leaderCommitIndex: 4, replyChannel: () => {} }, RECEIVER);
    expect(lengthReads).toBe(1);
    expect(copy.type === 'appendEntries' && copy.entries.length).toBe(1);
  });

  it('still refuses with InvalidMessageError when the typed overload is given a typed message', () => {
    const message: RequestVoteMessage = { type: 'requestVote', candidateTerm: 1, candidateId: 1, candidateLastLogEntry: { index: 0, term: 0 }, replyChannel: () => {} };
    expect(() => validateMessage(message, RECEIVER)).toThrow(InvalidMessageError);
  });
});

describe('the reply validators return checked copies and read each field once', () => {
  it('validateRequestVoteReply', () => {
    const reply = shifty({ voter: 0, voterTerm: 3, voteGranted: false }, { voteGranted: true, voterTerm: 9 });
    const copy = validateRequestVoteReply(reply.object, 0, 3);
    allOnce(reply.reads);
    expect(copy).toEqual({ voter: 0, voterTerm: 3, voteGranted: false });
  });

  it('validateAppendEntriesReply, without and with hintTerm', () => {
    const plain = shifty({ follower: 0, followerTerm: 3, success: true, matchIndex: 4 }, { matchIndex: 100 });
    const copy = validateAppendEntriesReply(plain.object, 0, 3, 4);
    allOnce(plain.reads);
    expect(copy).toEqual({ follower: 0, followerTerm: 3, success: true, matchIndex: 4 });
    expect('hintTerm' in copy).toBe(false);

    const hinted = shifty({ follower: 0, followerTerm: 3, success: false, matchIndex: 2, hintTerm: 2 }, { hintTerm: -5 });
    const hintedCopy = validateAppendEntriesReply(hinted.object, 0, 3, 4);
    allOnce(hinted.reads);
    expect(hintedCopy).toEqual({ follower: 0, followerTerm: 3, success: false, matchIndex: 2, hintTerm: 2 });
  });

  it('an undefined hintTerm counts as absent and is left out of the copy', () => {
    const copy = validateAppendEntriesReply({ follower: 0, followerTerm: 3, success: false, matchIndex: 2, hintTerm: undefined }, 0, 3, 4);
    expect(Object.keys(copy).sort()).toEqual(['follower', 'followerTerm', 'matchIndex', 'success']);
  });
});

/*
 * The server must act on the copies validation returns (processMessage on the checked
 * message, the reply closures on the checked replies). A server that validates and then
 * reads the original again fails every test below.
 */
describe('the server acts on what validation checked, not on a second read', () => {
  function deliver(h: Harness, message: unknown): unknown {
    try {
      h.server.processMessage(message as Message<string>);
    } catch (error) {
      return error;
    }
    return undefined;
  }

  it('an AppendEntries whose leaderTerm getter answers 5 and then 99: the receiver moves to term 5, not 99', () => {
    const h = followerWithLog();
    const replies: unknown[] = [];
    const message = shifty(
      { type: 'appendEntries', leaderTerm: 5, leaderId: 0, prevLogEntry: { index: 3, term: 2 }, entries: [], leaderCommitIndex: 3, replyChannel: (r: unknown) => replies.push(r) },
      { leaderTerm: 99 },
    );
    expect(deliver(h, message.object)).toBeUndefined();
    expect(h.server.currentTerm).toBe(5);
    expect(replies).toEqual([{ follower: 1, followerTerm: 5, success: true, matchIndex: 3 }]);
  });

  it('an AppendEntries whose entries getter answers a valid batch and then a bad one: the valid batch is stored', () => {
    const h = followerWithLog();
    const message = shifty(
      { type: 'appendEntries', leaderTerm: 5, leaderId: 0, prevLogEntry: { index: 3, term: 2 }, entries: [{ index: 4, term: 5, data: 'x' }], leaderCommitIndex: 3, replyChannel: () => {} },
      { entries: [{ index: 4, term: 99, data: 'evil' }, { index: 5, term: 99, data: 'evil' }] },
    );
    expect(deliver(h, message.object)).toBeUndefined();
    expect(h.server.persistentState.currentLogIndex).toBe(4);
    expect(h.server.persistentState.getLogEntry(4)).toEqual({ index: 4, term: 5, data: 'x' });
  });

  it('a RequestVote whose type getter answers requestVote and then appendEntries is handled as the RequestVote it was checked as', () => {
    const h = followerWithLog();
    const replies: unknown[] = [];
    const message = shifty(
      { type: 'requestVote', candidateTerm: 5, candidateId: 0, candidateLastLogEntry: { index: 3, term: 2 }, replyChannel: (r: unknown) => replies.push(r) },
      { type: 'appendEntries' },
    );
    expect(deliver(h, message.object)).toBeUndefined();
    expect(replies).toEqual([{ voter: 1, voterTerm: 5, voteGranted: true }]);
  });

  it('a replyChannel getter that answers a function and then throws: the checked function gets the one reply', () => {
    const h = followerWithLog();
    const replies: unknown[] = [];
    const message = shifty(
      { type: 'requestVote', candidateTerm: 5, candidateId: 0, candidateLastLogEntry: { index: 3, term: 2 }, replyChannel: (r: unknown) => replies.push(r) },
      { replyChannel: 'not a function' },
    );
    expect(deliver(h, message.object)).toBeUndefined();
    expect(replies).toHaveLength(1);
  });

  it('a vote reply whose voteGranted getter answers false and then true is not counted as a vote', () => {
    const h = candidateWithLog();
    const sent = h.sent.find((s) => s.to === 0 && s.message.type === 'requestVote');
    if (sent === undefined || sent.message.type !== 'requestVote') throw new Error('no vote request');
    const reply = shifty({ voter: 0, voterTerm: 3, voteGranted: false }, { voteGranted: true });
    sent.message.replyChannel(reply.object);
    expect(h.server.role).toBe('candidate');
  });

  it('an AppendEntries reply whose matchIndex getter answers 4 and then 100 records 4', () => {
    const h = leaderWithLog();
    h.server.propose('x');
    const sent = [...h.sent].reverse().find((s) => s.to === 0 && s.message.type === 'appendEntries');
    if (sent === undefined || sent.message.type !== 'appendEntries') throw new Error('no AppendEntries');
    const request: AppendEntriesMessage<string> = sent.message;
    const reply = shifty({ follower: 0, followerTerm: 3, success: true, matchIndex: 4 }, { matchIndex: 100 });
    request.replyChannel(reply.object);
    expect(h.server.leaderState?.matchIndex[0]).toBe(4);
    expect(h.server.volatileState.commitIndex).toBe(4);
  });

  it('a getter that throws on its second read never runs twice: the message is handled once, without an error', () => {
    const h = followerWithLog();
    const replies: unknown[] = [];
    let reads = 0;
    const message = {
      type: 'appendEntries',
      leaderId: 0,
      prevLogEntry: { index: 3, term: 2 },
      entries: [],
      leaderCommitIndex: 3,
      replyChannel: (r: unknown) => replies.push(r),
      get leaderTerm(): number {
        if (++reads > 1) throw new Error('read twice');
        return 5;
      },
    };
    expect(deliver(h, message)).toBeUndefined();
    expect(reads).toBe(1);
    expect(replies).toHaveLength(1);
  });
});
