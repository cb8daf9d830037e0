// Bad input to the Part 2 stability API: transferLeadership arguments, malformed timeoutNow
// and RequestVote flags, and non-boolean options. Each is refused with the documented error
// and changes nothing.

import { ConfigurationError, InMemoryCluster, InMemoryPersistentState, InvalidArgumentError, InvalidMessageError, Server, type Message, type ServerOptions } from '../../lib';
import { Solo, appendEntries, storeWith } from '../hardening/helpers';
import { HEARTBEAT_TIMEOUT, STABLE, electLeader, makeCluster, others, serverAt, terms } from './helpers';
import type { AppendEntriesReply } from '../../lib';

/** The error `action` throws (fails if it throws none). */
function caught(action: () => unknown): unknown {
  try {
    action();
  } catch (error) {
    return error;
  }
  throw new Error('expected an error, none was thrown');
}

const BAD_IDS: unknown[] = [-1, 3, 99, 1.5, Number.NaN, Infinity, '1', null, undefined, {}];

describe('transferLeadership: bad arguments', () => {
  test('to the leader itself: InvalidArgumentError (server and cluster), nothing changes', () => {
    const cluster = makeCluster(3, STABLE);
    const leader = electLeader(cluster);
    const term = leader.currentTerm;
    expect(caught(() => leader.transferLeadership(leader.id))).toBeInstanceOf(InvalidArgumentError);
    expect(caught(() => cluster.transferLeadership(leader.id))).toBeInstanceOf(InvalidArgumentError);
    // No transfer was started: proposals are still taken, leadership and terms unchanged.
    expect(leader.propose('x').type).toBe('appended');
    cluster.advance(10 * HEARTBEAT_TIMEOUT);
    expect(cluster.leader()).toBe(leader);
    expect(terms(cluster)).toEqual([term, term, term]);
  });

  test.each(BAD_IDS.map((id) => [String(typeof id === 'string' ? `'${id}'` : JSON.stringify(id) ?? id), id]))('to %s (not a server id of the cluster): InvalidArgumentError, nothing changes', (_name, id) => {
    const cluster = makeCluster(3, STABLE);
    const leader = electLeader(cluster);
    const term = leader.currentTerm;
    const follower = serverAt(cluster, others(cluster, leader.id)[0] as number);
    expect(caught(() => leader.transferLeadership(id as number))).toBeInstanceOf(InvalidArgumentError);
    expect(caught(() => follower.transferLeadership(id as number))).toBeInstanceOf(InvalidArgumentError);
    expect(caught(() => cluster.transferLeadership(id as number))).toBeInstanceOf(InvalidArgumentError);
    expect(leader.propose('x').type).toBe('appended');
    cluster.advance(10 * HEARTBEAT_TIMEOUT);
    expect(cluster.leader()).toBe(leader);
    expect(terms(cluster)).toEqual([term, term, term]);
  });

  test('a cluster without a leader still refuses a bad id', () => {
    const cluster = makeCluster(3);
    expect(caught(() => cluster.transferLeadership(7))).toBeInstanceOf(InvalidArgumentError);
    expect(caught(() => cluster.transferLeadership(0.5))).toBeInstanceOf(InvalidArgumentError);
  });
});

describe('malformed messages', () => {
  /** Server 1 of 3 following leader 0 of term 3, with preVote and checkQuorum. */
  function follower(): Solo {
    const solo = new Solo(1, 3, storeWith([1, 3], 3), STABLE);
    const acks: AppendEntriesReply[] = [];
    solo.server.processMessage(appendEntries({ term: 3, leaderId: 0, prev: { index: 2, term: 3 } }, acks));
    if (acks[0]?.success !== true) throw new Error('setup: not following');
    solo.take();
    return solo;
  }

  /** Delivers a raw message; expects InvalidMessageError naming `field`, no reply, and no change. */
  function expectRefused(message: Record<string, unknown>, field: string): void {
    const solo = follower();
    const before = { term: solo.server.currentTerm, votedFor: solo.server.persistentState.votedFor, role: solo.server.role, leader: solo.server.leaderId, log: solo.server.persistentState.currentLogIndex };
    const replies: unknown[] = [];
    const withChannel = 'replyChannel' in message ? { ...message, replyChannel: (reply: unknown) => void replies.push(reply) } : message;
    const error = caught(() => solo.server.processMessage(withChannel as unknown as Message<string>));
    expect(error).toBeInstanceOf(InvalidMessageError);
    expect((error as InvalidMessageError).field).toBe(field);
    expect(replies).toEqual([]);
    expect(solo.take()).toEqual([]);
    expect({ term: solo.server.currentTerm, votedFor: solo.server.persistentState.votedFor, role: solo.server.role, leader: solo.server.leaderId, log: solo.server.persistentState.currentLogIndex }).toEqual(before);
  }

  const channel = (): void => undefined;

  test('timeoutNow without leaderTerm: InvalidMessageError naming leaderTerm', () => {
    expectRefused({ type: 'timeoutNow', leaderId: 0, replyChannel: channel }, 'leaderTerm');
  });

  test.each([[-1], [1.5], ['3'], [null]])('timeoutNow with leaderTerm %p: InvalidMessageError naming leaderTerm', (term) => {
    expectRefused({ type: 'timeoutNow', leaderTerm: term, leaderId: 0, replyChannel: channel }, 'leaderTerm');
  });

  test('timeoutNow whose leaderId is the receiver: InvalidMessageError naming leaderId', () => {
    expectRefused({ type: 'timeoutNow', leaderTerm: 3, leaderId: 1, replyChannel: channel }, 'leaderId');
  });

  test('timeoutNow whose leaderId is outside the cluster: InvalidMessageError naming leaderId', () => {
    expectRefused({ type: 'timeoutNow', leaderTerm: 3, leaderId: 3, replyChannel: channel }, 'leaderId');
  });

  test('timeoutNow without replyChannel: InvalidMessageError naming replyChannel, no election', () => {
    expectRefused({ type: 'timeoutNow', leaderTerm: 3, leaderId: 0 }, 'replyChannel');
  });

  test.each([['yes'], [1], [0], [null], [{}]])('RequestVote with preVote %p: InvalidMessageError naming preVote', (value) => {
    expectRefused({ type: 'requestVote', candidateTerm: 4, candidateId: 2, candidateLastLogEntry: { index: 9, term: 3 }, preVote: value, replyChannel: channel }, 'preVote');
  });

  test.each([['true'], [1], [null]])('RequestVote with leadershipTransfer %p: InvalidMessageError naming leadershipTransfer', (value) => {
    expectRefused({ type: 'requestVote', candidateTerm: 4, candidateId: 2, candidateLastLogEntry: { index: 9, term: 3 }, leadershipTransfer: value, replyChannel: channel }, 'leadershipTransfer');
  });

  test('explicit false flags are well formed (a real vote, here refused for the lease)', () => {
    const solo = follower();
    const replies: unknown[] = [];
    solo.server.processMessage({ type: 'requestVote', candidateTerm: 4, candidateId: 2, candidateLastLogEntry: { index: 9, term: 3 }, preVote: false, leadershipTransfer: false, replyChannel: (r) => void replies.push(r) });
    expect(replies).toEqual([{ voter: 1, voterTerm: 3, voteGranted: false }]);
  });
});

describe('options that are not booleans', () => {
  const base = (): ServerOptions<string> => ({ id: 0, clusterSize: 3, messageChannel: () => undefined, persistentState: new InMemoryPersistentState<string>() });

  test.each([
    ['preVote', 'true'],
    ['preVote', 1],
    ['preVote', null],
    ['checkQuorum', 'yes'],
    ['checkQuorum', 0],
    ['checkQuorum', {}],
  ])('%s: %p is a ConfigurationError (Server and InMemoryCluster)', (option, value) => {
    const serverError = caught(() => new Server<string>({ ...base(), [option]: value } as ServerOptions<string>));
    expect(serverError).toBeInstanceOf(ConfigurationError);
    expect((serverError as ConfigurationError).option).toBe(option);
    const clusterError = caught(() => InMemoryCluster.make<string>(3, { [option]: value } as Record<string, unknown>));
    expect(clusterError).toBeInstanceOf(ConfigurationError);
    expect((clusterError as ConfigurationError).option).toBe(option);
  });

  test('booleans (and undefined) are accepted', () => {
    for (const preVote of [true, false, undefined]) {
      for (const checkQuorum of [true, false, undefined]) {
        expect(() => new Server<string>({ ...base(), ...(preVote === undefined ? {} : { preVote }), ...(checkQuorum === undefined ? {} : { checkQuorum }) })).not.toThrow();
      }
    }
  });
});
