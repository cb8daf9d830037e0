import type { PeerTransport, WireValue } from '../../lib/net/peer-transport';
import { Forwarder } from '../../lib/node/forwarding';
import { CommandFailedError, NoLeaderError, NodeStoppedError, OutcomeUnknownError, OverloadedError, SessionExpiredError } from '../../lib/node/node-errors';
import { errorFor, isNodeEntry, readOutcomes, settledFrom } from '../../lib/node/outcomes';

/** A transport that keeps each request's reply callback, or drops everything. */
function fakeTransport(accepts = true): PeerTransport & { readonly replies: ((answer: WireValue) => void)[] } {
  const replies: ((answer: WireValue) => void)[] = [];
  return {
    id: 1,
    clusterSize: 3,
    replies,
    send: (_to, _body, onReply) => {
      if (accepts && onReply !== undefined) replies.push(onReply);
      return accepts;
    },
    onRequest: () => undefined,
    stats: () => ({ peers: [], refused: { stranger: 0, badSecret: 0, garbage: 0, oversized: 0, handshakeTimeout: 0, overload: 0 } }),
    close: () => Promise.resolve(),
  };
}

describe('Forwarder: a forwarded request ends exactly once', () => {
  it('with the answer; a later failure changes nothing', () => {
    const transport = fakeTransport();
    const forwarder = new Forwarder(transport);
    const answers: WireValue[] = [];
    const failures: Error[] = [];
    expect(forwarder.send(0, { kind: 'readIndex' }, 1000, (a) => answers.push(a), (e) => failures.push(e))).toBe(true);
    transport.replies[0]?.({ index: 7 });
    forwarder.leaderChanged(2);
    forwarder.sweep(5000, 1000);
    forwarder.failAll(new NodeStoppedError());
    transport.replies[0]?.({ index: 8 });
    expect(answers).toEqual([{ index: 7 }]);
    expect(failures).toEqual([]);
  });

  it('at its deadline, with OutcomeUnknownError; a late answer is ignored', () => {
    const transport = fakeTransport();
    const forwarder = new Forwarder(transport);
    const answers: WireValue[] = [];
    const failures: Error[] = [];
    forwarder.send(0, {}, 1000, (a) => answers.push(a), (e) => failures.push(e));
    forwarder.sweep(999, 1000);
    expect(failures).toHaveLength(0);
    forwarder.sweep(1000, 1000);
    expect(failures).toHaveLength(1);
    expect(failures[0]).toBeInstanceOf(OutcomeUnknownError);
    transport.replies[0]?.({});
    expect(answers).toEqual([]);
  });

  it('when the known leader changes to another member (or none), but not when it stays', () => {
    const forwarder = new Forwarder(fakeTransport());
    const failures: Error[] = [];
    forwarder.send(0, {}, 1000, () => undefined, (e) => failures.push(e));
    forwarder.leaderChanged(0);
    expect(failures).toHaveLength(0);
    forwarder.leaderChanged(undefined);
    expect(failures).toHaveLength(1);
    expect(failures[0]?.message).toMatch(/member 0 stopped being the known leader/);
  });

  it('when the node stops, with the error it is given', () => {
    const forwarder = new Forwarder(fakeTransport());
    const failures: Error[] = [];
    forwarder.send(0, {}, 1000, () => undefined, (e) => failures.push(e));
    forwarder.failAll(new NodeStoppedError());
    expect(failures[0]).toBeInstanceOf(NodeStoppedError);
  });

  it('not at all when the transport drops the request at once: send says false', () => {
    const forwarder = new Forwarder(fakeTransport(false));
    const calls: string[] = [];
    expect(forwarder.send(0, {}, 1000, () => calls.push('answer'), () => calls.push('fail'))).toBe(false);
    forwarder.failAll(new NodeStoppedError());
    expect(calls).toEqual([]);
  });
});

describe('outcomes: what crosses between members, and the errors callers get', () => {
  it('maps each failure code to its typed error', () => {
    const session = { clientId: 'c', sequence: 3 };
    expect(errorFor({ ok: false, code: 'NO_LEADER', message: 'm' }, undefined)).toBeInstanceOf(NoLeaderError);
    expect(errorFor({ ok: false, code: 'OVERLOADED', message: 'm' }, undefined)).toBeInstanceOf(OverloadedError);
    // One code per error class (RaftError.code), though an overload is answered like no leader.
    expect(new OverloadedError().code).toBe('OVERLOADED');
    expect(new OverloadedError()).toBeInstanceOf(NoLeaderError);
    expect(new NoLeaderError().code).toBe('NO_LEADER');
    expect(errorFor({ ok: false, code: 'NODE_STOPPED', message: 'm' }, undefined)).toBeInstanceOf(NodeStoppedError);
    expect(errorFor({ ok: false, code: 'SESSION_EXPIRED', message: 'm' }, session).message).toMatch(/"c": request 3/);
    expect(errorFor({ ok: false, code: 'SESSION_EXPIRED', message: 'm' }, session)).toBeInstanceOf(SessionExpiredError);
    expect(errorFor({ ok: false, code: 'COMMAND_FAILED', message: 'refused' }, undefined)).toEqual(new CommandFailedError('refused'));
    expect(errorFor({ ok: false, code: 'OUTCOME_UNKNOWN', message: 'm' }, undefined)).toBeInstanceOf(OutcomeUnknownError);
  });

  it('turns errors back into codes, an overload before the NoLeaderError it extends', () => {
    expect(settledFrom(new OverloadedError())).toMatchObject({ ok: false, code: 'OVERLOADED' });
    expect(settledFrom(new NoLeaderError())).toMatchObject({ ok: false, code: 'NO_LEADER' });
    expect(settledFrom(new NodeStoppedError())).toMatchObject({ ok: false, code: 'NODE_STOPPED' });
    expect(settledFrom(new Error('socket reset'))).toEqual({ ok: false, code: 'OUTCOME_UNKNOWN', message: 'socket reset' });
  });

  it('reads a leader answer only when it has one outcome per proposal', () => {
    expect(readOutcomes({ outcomes: [{ ok: true, result: 1 }, { ok: false, code: 'NO_LEADER', message: 'm' }] }, 2)).toEqual([
      { ok: true, result: 1 },
      { ok: false, code: 'NO_LEADER', message: 'm' },
    ]);
    expect(readOutcomes({ outcomes: [{ ok: true, result: 1 }] }, 2)).toEqual([]);
    expect(readOutcomes('garbage', 1)).toEqual([]);
    expect(readOutcomes({ outcomes: [42] }, 1)).toEqual([undefined]);
  });

  it('accepts a forwarded entry only with a command and, if any, a valid session', () => {
    expect(isNodeEntry({ command: { add: 1 } })).toBe(true);
    expect(isNodeEntry({ command: null, session: { clientId: 'c', sequence: 1 } })).toBe(true);
    expect(isNodeEntry({ command: 1, session: { clientId: '', sequence: 1 } })).toBe(false);
    expect(isNodeEntry({ command: 1, session: { clientId: 'c', sequence: 0 } })).toBe(false);
    expect(isNodeEntry({ session: { clientId: 'c', sequence: 1 } })).toBe(false);
    expect(isNodeEntry([1])).toBe(false);
    expect(isNodeEntry(null)).toBe(false);
  });
});
