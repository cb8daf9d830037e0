// Hardening: event listeners that throw.
//
// Contract: if listeners throw, every event of that call is still delivered to every
// listener, and then the call throws ListenerError (a RaftError; `cause` = the first error,
// `errors` = all of them, in order). The call itself completed: a `propose` that throws
// ListenerError has appended its entry. Nothing of that call leaks into a later, unrelated
// call. `lastApplied` equals what the `committed` listeners were given.

import { ListenerError, RaftError, type AppendEntriesReply, type LogEntry, type ServerRole, type Term } from '../../lib';
import { appendEntries, entriesFrom, Solo, storeWith, type Data } from './helpers';

function thrown(action: () => unknown): unknown {
  try {
    action();
  } catch (error) {
    return error;
  }
  throw new Error('expected the call to throw');
}

describe('listener errors', () => {
  it('a throwing committed listener does not stop the others; the call throws ListenerError', () => {
    const solo = new Solo(0, 1);
    solo.server.triggerTimeout();
    expect(solo.server.role).toBe('leader');
    const boom = new Error('listener failed');
    const seen: LogEntry<Data>[] = [];
    solo.server.on('committed', () => {
      throw boom;
    });
    solo.server.on('committed', (entries) => void seen.push(...entries));
    const error = thrown(() => solo.server.propose('a'));
    expect(error).toBeInstanceOf(ListenerError);
    expect(error).toBeInstanceOf(RaftError);
    expect((error as ListenerError).cause).toBe(boom);
    expect((error as ListenerError).errors).toEqual([boom]);
    expect(seen.map((e) => e.data)).toEqual(['a']);
    expect(solo.server.volatileState.lastApplied).toBe(1);
  });

  it('collects every listener error of the call, in order; cause is the first', () => {
    const solo = new Solo(0, 1);
    const first = new Error('first');
    const second = new Error('second');
    const roles: Array<[ServerRole, Term]> = [];
    const leaders: Array<number | undefined> = [];
    // This listener throws on every roleChange: candidate, then leader.
    solo.server.on('roleChange', (role) => {
      throw role === 'candidate' ? first : second;
    });
    solo.server.on('roleChange', (role, term) => void roles.push([role, term]));
    solo.server.on('leaderChange', (leaderId) => void leaders.push(leaderId));
    const error = thrown(() => solo.server.triggerTimeout());
    expect(error).toBeInstanceOf(ListenerError);
    expect((error as ListenerError).errors).toEqual([first, second]);
    expect((error as ListenerError).cause).toBe(first);
    // Every event of the call reached every listener.
    expect(roles).toEqual([
      ['candidate', 1],
      ['leader', 1],
    ]);
    expect(leaders[leaders.length - 1]).toBe(0);
    expect(solo.server.role).toBe('leader');
  });

  it('nothing of the failed call leaks into the next, unrelated call', () => {
    const solo = new Solo(0, 1);
    let call = 'first';
    const log: string[] = [];
    solo.server.on('roleChange', (role) => {
      log.push(`${call}: roleChange ${role}`);
      if (role === 'candidate') throw new Error('only once');
    });
    solo.server.on('leaderChange', (leaderId) => void log.push(`${call}: leaderChange ${String(leaderId)}`));
    solo.server.on('committed', (entries) => void log.push(`${call}: committed ${entries.length}`));
    expect(() => solo.server.triggerTimeout()).toThrow(); // ListenerError: see above
    call = 'second';
    solo.server.triggerHeartbeat(); // a lone leader's heartbeat raises no event of its own
    expect(log.filter((line) => line.startsWith('second'))).toEqual([]);
    expect(log).toContain('first: roleChange leader');
  });

  it('propose that throws ListenerError has appended its entry; not retrying makes no duplicate', () => {
    const solo = new Solo(0, 1);
    solo.server.triggerTimeout();
    let given = 0;
    solo.server.on('committed', (entries) => {
      given += entries.length;
      throw new Error('state machine failed');
    });
    expect(() => solo.server.propose('once')).toThrow(ListenerError);
    expect(solo.state.currentLogIndex).toBe(1);
    expect(solo.state.getLogEntry(1)?.data).toBe('once');
    // Time passes; nobody retries: still one entry, applied once.
    for (let k = 0; k < 5; k++) {
      solo.now = solo.server.nextDeadline();
      solo.server.tick();
    }
    expect(solo.state.currentLogIndex).toBe(1);
    expect(given).toBe(1);
    expect(solo.server.volatileState).toEqual({ commitIndex: 1, lastApplied: 1 });
  });

  it('a follower whose committed listener throws: the reply was sent once, the call throws ListenerError, lastApplied = what listeners got', () => {
    const solo = new Solo(1, 3, storeWith([1, 1, 1], 1));
    let given = 0;
    solo.server.on('committed', (entries) => {
      given += entries.length;
      throw new Error('apply failed');
    });
    const replies: AppendEntriesReply[] = [];
    const message = appendEntries({ term: 1, leaderId: 0, prev: { index: 3, term: 1 }, entries: entriesFrom(4, [1]), commit: 4 }, replies);
    expect(() => solo.server.processMessage(message)).toThrow(ListenerError);
    expect(replies).toEqual([{ follower: 1, followerTerm: 1, success: true, matchIndex: 4 }]);
    expect(given).toBe(4);
    expect(solo.server.volatileState).toEqual({ commitIndex: 4, lastApplied: 4 });
    // The next heartbeat commits nothing new and raises nothing again.
    given = 0;
    solo.server.processMessage(appendEntries({ term: 1, leaderId: 0, prev: { index: 4, term: 1 }, commit: 4 }, replies));
    expect(given).toBe(0);
  });
});
