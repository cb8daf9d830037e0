import { InvalidMessageError, RaftError, type AppendEntriesMessage, type Message, type RequestVoteMessage } from '../../lib';
import { STATES, candidateWithLog, leaderWithLog, snapshot, type Harness } from './harness';

/**
 * Values no well-behaved transport produces but a buggy or hostile peer (or a host that
 * passes objects through without serialising them) can: Symbols, BigInts, null-prototype
 * objects, Proxies, getters that throw, non-arrays where an array belongs, replies that are
 * not objects. Each must be refused with an InvalidMessageError (a RaftError) naming the
 * field, never a plain TypeError or whatever a getter threw; the receiver's observable state
 * must not change and no reply may be sent.
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

// ------------------------------------------------------------------ hostile building blocks

class GetterError extends Error {}

/** A copy of `target` whose `key` is a getter that throws `thrown`. */
function throwingGetter<O extends object>(target: O, key: string, thrown: unknown = new GetterError(`getter of ${key}`)): O {
  const copy = { ...target };
  Object.defineProperty(copy, key, {
    enumerable: true,
    get() {
      throw thrown;
    },
  });
  return copy;
}

/** A Proxy over `target` whose get trap throws for `keys` (for every key when omitted). */
function throwingTrap<O extends object>(target: O, keys?: readonly (string | symbol)[]): O {
  return new Proxy(target, {
    get(t, key, receiver) {
      if (keys === undefined || keys.includes(key)) throw new GetterError(`trap for ${String(key)}`);
      return Reflect.get(t, key, receiver) as unknown;
    },
  });
}

/** A Proxy that was revoked: typeof says 'object', but touching it throws a TypeError. */
function revoked(target: object = {}): object {
  const { proxy, revoke } = Proxy.revocable(target, {});
  revoke();
  return proxy;
}

/** The same fields on an object with no prototype. */
function bare<O extends object>(fields: O): O {
  return Object.assign(Object.create(null) as O, fields);
}

const e = (index: unknown, term: unknown, data: unknown = 'd'): Record<string, unknown> => ({ index, term, data });

type Build = (reply: Replier) => unknown;
type MessageCase = [name: string, build: Build, field: string];

const rv = (change: Record<string, unknown>): Build => (r) => ({ ...validRequestVote(r), ...change });
const ae = (change: Record<string, unknown>): Build => (r) => ({ ...validAppendEntries(r), ...change });
const aeEntries = (...list: unknown[]): Build => ae({ entries: list });

const messageCases: MessageCase[] = [
  // The message itself.
  ['message a Symbol', () => Symbol('appendEntries'), 'message'],
  ['message a BigInt', () => 5n, 'message'],
  ['message a boolean', () => true, 'message'],
  ['message a function', () => () => 'appendEntries', 'message'],
  ['message a revoked Proxy', () => revoked(), 'type'],
  ['message a Proxy whose every read throws', (r) => throwingTrap(validAppendEntries(r)), 'type'],
  ['message an array', () => ['appendEntries', 5, 0], 'type'],
  ['message with a getter on type that throws', (r) => throwingGetter(validAppendEntries(r), 'type'), 'type'],
  ['message with a getter on type that throws a string', (r) => throwingGetter(validAppendEntries(r), 'type', 'nope'), 'type'],
  ['type a Symbol', rv({ type: Symbol('requestVote') }), 'type'],
  ['type a null-prototype object', rv({ type: bare({}) }), 'type'],

  // RequestVote.
  ['candidateTerm a Symbol', rv({ candidateTerm: Symbol('5') }), 'candidateTerm'],
  ['candidateTerm a BigInt', rv({ candidateTerm: 5n }), 'candidateTerm'],
  ['candidateTerm a null-prototype object', rv({ candidateTerm: bare({ valueOf: () => 5 }) }), 'candidateTerm'],
  ['candidateTerm a Number object', rv({ candidateTerm: Object(5) as unknown }), 'candidateTerm'],
  ['candidateTerm getter that throws', (r) => throwingGetter(validRequestVote(r), 'candidateTerm'), 'candidateTerm'],
  ['candidateTerm getter that throws a Symbol', (r) => throwingGetter(validRequestVote(r), 'candidateTerm', Symbol('boom')), 'candidateTerm'],
  ['candidateTerm getter that throws a revoked Proxy', (r) => throwingGetter(validRequestVote(r), 'candidateTerm', revoked()), 'candidateTerm'],
  ['candidateId a BigInt', rv({ candidateId: 0n }), 'candidateId'],
  ['candidateId a Symbol', rv({ candidateId: Symbol('0') }), 'candidateId'],
  ['candidateId getter that throws', (r) => throwingGetter(validRequestVote(r), 'candidateId'), 'candidateId'],
  ['candidateLastLogEntry a Symbol', rv({ candidateLastLogEntry: Symbol('pos') }), 'candidateLastLogEntry'],
  ['candidateLastLogEntry a BigInt', rv({ candidateLastLogEntry: 3n }), 'candidateLastLogEntry'],
  ['candidateLastLogEntry a revoked Proxy', rv({ candidateLastLogEntry: revoked() }), 'candidateLastLogEntry.index'],
  ['candidateLastLogEntry.index a BigInt', rv({ candidateLastLogEntry: { index: 3n, term: 2 } }), 'candidateLastLogEntry.index'],
  ['candidateLastLogEntry.term a Symbol', rv({ candidateLastLogEntry: { index: 3, term: Symbol('2') } }), 'candidateLastLogEntry.term'],
  ['candidateLastLogEntry null-prototype with a BigInt term', rv({ candidateLastLogEntry: bare({ index: 3, term: 2n }) }), 'candidateLastLogEntry.term'],
  ['candidateLastLogEntry.term getter that throws', rv({ candidateLastLogEntry: throwingGetter({ index: 3, term: 2 }, 'term') }), 'candidateLastLogEntry.term'],
  ['candidateLastLogEntry a Proxy whose trap throws on term', rv({ candidateLastLogEntry: throwingTrap({ index: 3, term: 2 }, ['term']) }), 'candidateLastLogEntry.term'],
  ['requestVote replyChannel a Symbol', rv({ replyChannel: Symbol('reply') }), 'replyChannel'],
  ['requestVote replyChannel getter that throws', (r) => throwingGetter(validRequestVote(r), 'replyChannel'), 'replyChannel'],

  // AppendEntries.
  ['leaderTerm a BigInt', ae({ leaderTerm: 5n }), 'leaderTerm'],
  ['leaderTerm a Symbol', ae({ leaderTerm: Symbol('5') }), 'leaderTerm'],
  ['leaderTerm a null-prototype object', ae({ leaderTerm: bare({}) }), 'leaderTerm'],
  ['leaderTerm getter that throws', (r) => throwingGetter(validAppendEntries(r), 'leaderTerm'), 'leaderTerm'],
  ['leaderTerm read through a Proxy trap that throws', (r) => throwingTrap(validAppendEntries(r), ['leaderTerm']), 'leaderTerm'],
  ['leaderId a BigInt', ae({ leaderId: 0n }), 'leaderId'],
  ['leaderId a Symbol', ae({ leaderId: Symbol('0') }), 'leaderId'],
  ['prevLogEntry a BigInt', ae({ prevLogEntry: 3n }), 'prevLogEntry'],
  ['prevLogEntry a Symbol', ae({ prevLogEntry: Symbol('prev') }), 'prevLogEntry'],
  ['prevLogEntry a revoked Proxy', ae({ prevLogEntry: revoked() }), 'prevLogEntry.index'],
  ['prevLogEntry.index getter that throws', ae({ prevLogEntry: throwingGetter({ index: 3, term: 2 }, 'index') }), 'prevLogEntry.index'],
  ['prevLogEntry.term a BigInt', ae({ prevLogEntry: { index: 3, term: 2n } }), 'prevLogEntry.term'],
  ['prevLogEntry null-prototype with a Symbol index', ae({ prevLogEntry: bare({ index: Symbol('3'), term: 2 }) }), 'prevLogEntry.index'],
  ['entries a string', ae({ entries: 'xy' }), 'entries'],
  ['entries a number', ae({ entries: 2 }), 'entries'],
  ['entries a BigInt', ae({ entries: 2n }), 'entries'],
  ['entries a Symbol', ae({ entries: Symbol('entries') }), 'entries'],
  ['entries a Set', ae({ entries: new Set([e(4, 4)]) }), 'entries'],
  ['entries a Map', ae({ entries: new Map([[0, e(4, 4)]]) }), 'entries'],
  ['entries a typed array', ae({ entries: new Uint8Array(2) }), 'entries'],
  ['entries a null-prototype array-like', ae({ entries: bare({ 0: e(4, 4), length: 1 }) }), 'entries'],
  ['entries a revoked Proxy', ae({ entries: revoked([]) }), 'entries'],
  ['entries a Proxy of an array whose length trap throws', ae({ entries: throwingTrap([e(4, 4)], ['length']) }), 'entries.length'],
  ['entries a Proxy of an array claiming length -1', ae({ entries: new Proxy([e(4, 4)], { get: (t, k) => (k === 'length' ? -1 : Reflect.get(t, k)) as unknown }) }), 'entries.length'],
  ['entries a Proxy of an array claiming length 1.5', ae({ entries: new Proxy([e(4, 4)], { get: (t, k) => (k === 'length' ? 1.5 : Reflect.get(t, k)) as unknown }) }), 'entries.length'],
  ['entries a Proxy of an array whose trap throws on element 1', ae({ entries: throwingTrap([e(4, 4), e(5, 5)], ['1']) }), 'entries[1]'],
  ['entries a sparse array (hole at 0)', ae({ entries: [, e(5, 5)] }), 'entries[0]'],
  ['entries[0] a Symbol', aeEntries(Symbol('entry')), 'entries[0]'],
  ['entries[0] a BigInt', aeEntries(4n), 'entries[0]'],
  ['entries[0] a revoked Proxy', aeEntries(revoked()), 'entries[0].index'],
  ['entries[0].index a BigInt', aeEntries(e(4n, 4)), 'entries[0].index'],
  ['entries[0].index a Symbol', aeEntries(e(Symbol('4'), 4)), 'entries[0].index'],
  ['entries[0].term a BigInt', aeEntries(e(4, 4n)), 'entries[0].term'],
  ['entries[1].term a Symbol', aeEntries(e(4, 4), e(5, Symbol('5'))), 'entries[1].term'],
  ['entries[1] null-prototype with a BigInt term', aeEntries(e(4, 4), bare({ index: 5, term: 5n, data: 'y' })), 'entries[1].term'],
  ['entries[1].term getter that throws', aeEntries(e(4, 4), throwingGetter(e(5, 5), 'term')), 'entries[1].term'],
  ['entries[1].data getter that throws', aeEntries(e(4, 4), throwingGetter(e(5, 5), 'data')), 'entries[1].data'],
  ['entries[2].index getter that throws a revoked Proxy', aeEntries(e(4, 4), e(5, 5), throwingGetter(e(6, 5), 'index', revoked())), 'entries[2].index'],
  ['entries getter that throws', (r) => throwingGetter(validAppendEntries(r), 'entries'), 'entries'],
  ['leaderCommitIndex a BigInt', ae({ leaderCommitIndex: 5n }), 'leaderCommitIndex'],
  ['leaderCommitIndex a Symbol', ae({ leaderCommitIndex: Symbol('5') }), 'leaderCommitIndex'],
  ['leaderCommitIndex getter that throws', (r) => throwingGetter(validAppendEntries(r), 'leaderCommitIndex'), 'leaderCommitIndex'],
  ['appendEntries replyChannel a BigInt', ae({ replyChannel: 1n }), 'replyChannel'],
  ['appendEntries replyChannel a revoked Proxy', ae({ replyChannel: revoked() }), 'replyChannel'],
  ['appendEntries replyChannel read through a Proxy trap that throws', (r) => throwingTrap(validAppendEntries(r), ['replyChannel']), 'replyChannel'],
];

/** Runs `act`; returns what it threw. */
function caught(act: () => void): unknown {
  try {
    act();
  } catch (error) {
    return error;
  }
  return undefined;
}

function expectInvalid(error: unknown, field: string): void {
  if (!(error instanceof InvalidMessageError)) {
    throw new Error(`expected an InvalidMessageError for \`${field}\`, got ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`);
  }
  expect(error).toBeInstanceOf(RaftError);
  expect(error.code).toBe('INVALID_MESSAGE');
  expect(error.field).toBe(field);
  expect(error.message).toContain(`\`${field}\``);
  expect(error).not.toBeInstanceOf(GetterError);
}

describe('processMessage refuses hostile values with InvalidMessageError, changing nothing', () => {
  it('has at least 40 cases', () => {
    expect(messageCases.length).toBeGreaterThanOrEqual(40);
  });

  describe.each(STATES)('received by %s', (_state, make) => {
    it.each(messageCases)('%s', (_name, build, field) => {
      const h: Harness = make();
      const reply = replier();
      const message = build(reply);
      const before = snapshot(h);
      expectInvalid(caught(() => h.server.processMessage(message as Message<string>)), field);
      expect(reply.calls).toEqual([]);
      expect(snapshot(h)).toEqual(before);
      // Still usable: a valid message is processed normally afterwards.
      const after = replier();
      h.server.processMessage(validAppendEntries(after) as unknown as Message<string>);
      expect(after.calls).toEqual([expect.objectContaining({ follower: RECEIVER, followerTerm: 5 })]);
    });
  });

  it('control: null-prototype messages with valid fields are accepted like plain ones', () => {
    const h = leaderWithLog();
    const reply = replier();
    const base = validAppendEntries(reply);
    const message = bare({
      ...base,
      prevLogEntry: bare({ index: 3, term: 2 }),
      entries: [bare({ index: 4, term: 4, data: 'x' }), bare({ index: 5, term: 5, data: 'y' })],
    });
    h.server.processMessage(message as unknown as Message<string>);
    expect(reply.calls).toEqual([{ follower: RECEIVER, followerTerm: 5, success: true, matchIndex: 5 }]);
    expect(h.server.persistentState.getLogEntry(5)).toEqual({ index: 5, term: 5, data: 'y' });
  });

  it('control: BigInt and Symbol entry data is the application\'s business, stored as given', () => {
    const h = candidateWithLog();
    const reply = replier();
    const data = Symbol('payload');
    const message = { ...validAppendEntries(reply), entries: [e(4, 4, 10n), e(5, 5, data)] };
    h.server.processMessage(message as unknown as Message<string>);
    expect(reply.calls).toHaveLength(1);
    expect(h.server.persistentState.getLogEntry(4)?.data).toBe(10n);
    expect(h.server.persistentState.getLogEntry(5)?.data).toBe(data);
  });

  it('the error message describes a BigInt and a Symbol as such, and getters\' errors by message', () => {
    const h = candidateWithLog();
    const message1 = caught(() => h.server.processMessage({ ...validAppendEntries(replier()), leaderTerm: 5n } as unknown as Message<string>));
    expect((message1 as Error).message).toContain('5n');
    const message2 = caught(() => h.server.processMessage({ ...validRequestVote(replier()), candidateId: Symbol('who') } as unknown as Message<string>));
    expect((message2 as Error).message).toContain('Symbol(who)');
    const message3 = caught(() => h.server.processMessage(throwingGetter(validRequestVote(replier()), 'candidateTerm') as unknown as Message<string>));
    expect((message3 as Error).message).toContain('getter of candidateTerm');
    expect((message3 as { cause?: unknown }).cause).toBeInstanceOf(GetterError);
  });
});

// ------------------------------------------------------------------ replies

type ReplyCase = [name: string, reply: () => unknown, field: string];

const vote = (change: Record<string, unknown>) => (): unknown => ({ voter: 0, voterTerm: 3, voteGranted: true, ...change });
const ack = (change: Record<string, unknown>) => (): unknown => ({ follower: 0, followerTerm: 3, success: true, matchIndex: 4, ...change });
const nack = (change: Record<string, unknown>) => (): unknown => ({ follower: 0, followerTerm: 3, success: false, matchIndex: 2, ...change });

const voteReplyCases: ReplyCase[] = [
  ['reply undefined', () => undefined, 'reply'],
  ['reply a Symbol', () => Symbol('granted'), 'reply'],
  ['reply a BigInt', () => 1n, 'reply'],
  ['reply true', () => true, 'reply'],
  ['reply a function', () => () => true, 'reply'],
  ['reply a revoked Proxy', () => revoked(), 'voter'],
  ['reply a Proxy whose every read throws', () => throwingTrap({ voter: 0, voterTerm: 3, voteGranted: true }), 'voter'],
  ['voter a BigInt', vote({ voter: 0n }), 'voter'],
  ['voter a Symbol', vote({ voter: Symbol('0') }), 'voter'],
  ['voter getter that throws', () => throwingGetter({ voter: 0, voterTerm: 3, voteGranted: true }, 'voter'), 'voter'],
  ['voterTerm a BigInt', vote({ voterTerm: 3n }), 'voterTerm'],
  ['voterTerm a Symbol', vote({ voterTerm: Symbol('3') }), 'voterTerm'],
  ['voterTerm a null-prototype object', vote({ voterTerm: bare({}) }), 'voterTerm'],
  ['voterTerm getter that throws', () => throwingGetter({ voter: 0, voterTerm: 3, voteGranted: true }, 'voterTerm'), 'voterTerm'],
  ['voteGranted a Symbol', vote({ voteGranted: Symbol('yes') }), 'voteGranted'],
  ['voteGranted a Boolean object', vote({ voteGranted: Object(true) as unknown }), 'voteGranted'],
  ['voteGranted getter that throws', () => throwingGetter({ voter: 0, voterTerm: 3, voteGranted: true }, 'voteGranted'), 'voteGranted'],
  ['voteGranted read through a Proxy trap that throws', () => throwingTrap({ voter: 0, voterTerm: 3, voteGranted: true }, ['voteGranted']), 'voteGranted'],
];

const appendReplyCases: ReplyCase[] = [
  ['reply undefined', () => undefined, 'reply'],
  ['reply a Symbol', () => Symbol('ok'), 'reply'],
  ['reply a BigInt', () => 4n, 'reply'],
  ['reply a string', () => 'success', 'reply'],
  ['reply a revoked Proxy', () => revoked(), 'follower'],
  ['reply a Proxy whose every read throws', () => throwingTrap({ follower: 0, followerTerm: 3, success: true, matchIndex: 4 }), 'follower'],
  ['follower a BigInt', ack({ follower: 0n }), 'follower'],
  ['follower a Symbol', ack({ follower: Symbol('0') }), 'follower'],
  ['followerTerm a BigInt', ack({ followerTerm: 3n }), 'followerTerm'],
  ['followerTerm a Symbol', ack({ followerTerm: Symbol('3') }), 'followerTerm'],
  ['followerTerm getter that throws', () => throwingGetter({ follower: 0, followerTerm: 3, success: true, matchIndex: 4 }, 'followerTerm'), 'followerTerm'],
  ['success a Symbol', ack({ success: Symbol('true') }), 'success'],
  ['success a null-prototype object', ack({ success: bare({}) }), 'success'],
  ['success getter that throws', () => throwingGetter({ follower: 0, followerTerm: 3, success: true, matchIndex: 4 }, 'success'), 'success'],
  ['matchIndex a BigInt', ack({ matchIndex: 4n }), 'matchIndex'],
  ['matchIndex a Symbol', ack({ matchIndex: Symbol('4') }), 'matchIndex'],
  ['matchIndex read through a Proxy trap that throws', () => throwingTrap({ follower: 0, followerTerm: 3, success: true, matchIndex: 4 }, ['matchIndex']), 'matchIndex'],
  // hintTerm: absent, or an integer in [0, followerTerm] that is 0 exactly when matchIndex is 0; success or not.
  ['hintTerm -1', nack({ hintTerm: -1 }), 'hintTerm'],
  ['hintTerm 1.5', nack({ hintTerm: 1.5 }), 'hintTerm'],
  ['hintTerm NaN', nack({ hintTerm: Number.NaN }), 'hintTerm'],
  ['hintTerm Infinity', nack({ hintTerm: Number.POSITIVE_INFINITY }), 'hintTerm'],
  ["hintTerm '2' (a string)", nack({ hintTerm: '2' }), 'hintTerm'],
  ['hintTerm null', nack({ hintTerm: null }), 'hintTerm'],
  ['hintTerm a BigInt', nack({ hintTerm: 2n }), 'hintTerm'],
  ['hintTerm a Symbol', nack({ hintTerm: Symbol('2') }), 'hintTerm'],
  ['hintTerm an object', nack({ hintTerm: { term: 2 } }), 'hintTerm'],
  ['hintTerm above followerTerm', nack({ hintTerm: 4 }), 'hintTerm'],
  ['hintTerm 0 with matchIndex above 0', nack({ hintTerm: 0 }), 'hintTerm'],
  ['hintTerm above 0 with matchIndex 0', nack({ matchIndex: 0, hintTerm: 1 }), 'hintTerm'],
  ['hintTerm getter that throws', () => throwingGetter({ follower: 0, followerTerm: 3, success: false, matchIndex: 2, hintTerm: 2 }, 'hintTerm'), 'hintTerm'],
  ['hintTerm -1 on success', ack({ hintTerm: -1 }), 'hintTerm'],
  ["hintTerm 'x' on success", ack({ hintTerm: 'x' }), 'hintTerm'],
  ['hintTerm above followerTerm on success', ack({ hintTerm: 9 }), 'hintTerm'],
];

function voteRequestTo0(h: Harness): RequestVoteMessage {
  const sent = h.sent.find((s) => s.to === 0 && s.message.type === 'requestVote');
  if (sent === undefined || sent.message.type !== 'requestVote') throw new Error('no vote request to 0');
  return sent.message;
}

/** Leader 1 of 3, term 3, after proposing 'x' at index 4: the AppendEntries to 0 (prevLogEntry 3). */
function leaderAfterProposal(): { h: Harness; request: AppendEntriesMessage<string> } {
  const h = leaderWithLog();
  h.server.propose('x');
  const request = [...h.sent].reverse().find((s) => s.to === 0 && s.message.type === 'appendEntries');
  if (request === undefined || request.message.type !== 'appendEntries') throw new Error('no AppendEntries to 0');
  expect(request.message.prevLogEntry).toEqual({ index: 3, term: 2 });
  expect(request.message.entries).toHaveLength(1);
  return { h, request: request.message };
}

describe('reply closures refuse hostile replies with InvalidMessageError, changing nothing', () => {
  it('has at least 40 cases', () => {
    expect(voteReplyCases.length + appendReplyCases.length).toBeGreaterThanOrEqual(40);
  });

  describe('RequestVote replies (candidate 1 of 3, term 3, request sent to 0)', () => {
    it.each(voteReplyCases)('%s', (_name, reply, field) => {
      const h = candidateWithLog();
      const request = voteRequestTo0(h);
      const before = snapshot(h);
      expectInvalid(caught(() => (request.replyChannel as (r: unknown) => void)(reply())), field);
      expect(snapshot(h)).toEqual(before);
      expect(h.server.role).toBe('candidate');
      request.replyChannel({ voter: 0, voterTerm: 3, voteGranted: true });
      expect(h.server.role).toBe('leader');
    });

    it('control: a null-prototype vote is counted', () => {
      const h = candidateWithLog();
      (voteRequestTo0(h).replyChannel as (r: unknown) => void)(bare({ voter: 0, voterTerm: 3, voteGranted: true }));
      expect(h.server.role).toBe('leader');
    });
  });

  describe('AppendEntries replies (leader 1 of 3, term 3, entry 4 sent to 0)', () => {
    it.each(appendReplyCases)('%s', (_name, reply, field) => {
      const { h, request } = leaderAfterProposal();
      const before = snapshot(h);
      expectInvalid(caught(() => (request.replyChannel as (r: unknown) => void)(reply())), field);
      expect(snapshot(h)).toEqual(before);
      expect(h.server.role).toBe('leader');
      expect(h.server.volatileState.commitIndex).toBe(2);
      request.replyChannel({ follower: 0, followerTerm: 3, success: true, matchIndex: 4 });
      expect(h.server.volatileState.commitIndex).toBe(4);
    });

    it.each([
      ['absent', {}],
      ['undefined', { hintTerm: undefined }],
      ['0 with matchIndex 0', { matchIndex: 0, hintTerm: 0 }],
      ['2 with matchIndex 2', { hintTerm: 2 }],
      ['3 (= followerTerm) with matchIndex 2', { hintTerm: 3 }],
      ['5 with a later followerTerm 5', { followerTerm: 5, hintTerm: 5 }],
    ])('control: a failure reply with hintTerm %s is accepted', (_name, change) => {
      const { h, request } = leaderAfterProposal();
      expect(() => (request.replyChannel as (r: unknown) => void)({ follower: 0, followerTerm: 3, success: false, matchIndex: 2, ...change })).not.toThrow();
      expect(h.server.currentTerm).toBe((change as { followerTerm?: number }).followerTerm ?? 3);
    });

    it('control: a success reply with a valid hintTerm is accepted (and the hint ignored)', () => {
      const { h, request } = leaderAfterProposal();
      (request.replyChannel as (r: unknown) => void)({ follower: 0, followerTerm: 3, success: true, matchIndex: 4, hintTerm: 3 });
      expect(h.server.volatileState.commitIndex).toBe(4);
    });

    it('control: a null-prototype acknowledgement is counted', () => {
      const { h, request } = leaderAfterProposal();
      (request.replyChannel as (r: unknown) => void)(bare({ follower: 0, followerTerm: 3, success: true, matchIndex: 4 }));
      expect(h.server.volatileState.commitIndex).toBe(4);
    });
  });
});
