// Server.readIndex and InMemoryCluster.readIndex at the edges (SPEC Part 2, "Linearizable
// reads"): a follower answers forward, a server without leader delay; onDone runs exactly
// once, after the call's events; what it throws surfaces as a ListenerError and breaks
// nothing; a non-function is an InvalidArgumentError that changes nothing. On the wire an
// entry's kind is 'noop' or absent. Virtual clocks only.

import { InvalidArgumentError, InvalidMessageError, ListenerError, type AppendEntriesReply, type ReadIndexResult } from '../../lib';
import { Solo, appendEntries, type Data } from '../hardening/helpers';
import { electLeader, makeCluster, others, serverAt } from '../stability/helpers';
import { fullLog, readOn } from './helpers';

describe('who answers what', () => {
  test('a follower answers forward (to the leader it knows)', () => {
    const cluster = makeCluster(3, { seed: 31 });
    const leader = electLeader(cluster);
    cluster.advance(10);
    for (const id of others(cluster, leader.id)) {
      const read = readOn(serverAt(cluster, id));
      expect(read.results).toEqual([{ type: 'forward', leaderId: leader.id }]);
      cluster.advance(500);
      expect(read.results).toHaveLength(1);
    }
  });

  test('a server without leader answers delay; so does cluster.readIndex with no leader', () => {
    const cluster = makeCluster(3, { seed: 32 });
    for (const s of cluster.servers) expect(readOn(s).results).toEqual([{ type: 'delay' }]);
    const results: ReadIndexResult[] = [];
    cluster.readIndex((r) => results.push(r));
    expect(results).toEqual([{ type: 'delay' }]);
    // A candidate knows no leader either.
    const candidate = serverAt(cluster, 0);
    cluster.disconnect(0);
    cluster.timeout(0);
    expect(candidate.role).toBe('candidate');
    expect(readOn(candidate).results).toEqual([{ type: 'delay' }]);
  });

  test('cluster.readIndex goes to the leader: ready after a round', () => {
    const cluster = makeCluster(3, { seed: 33 });
    electLeader(cluster);
    const results: ReadIndexResult[] = [];
    cluster.readIndex((r) => results.push(r));
    expect(results).toEqual([]);
    cluster.advance(1);
    expect(results).toEqual([{ type: 'ready', index: 1 }]);
  });

  test('onDone is called exactly once, after the events of the call that answers it', () => {
    const solo = new Solo(0, 1);
    const order: string[] = [];
    solo.server.on('roleChange', (role) => order.push(`role ${role}`));
    solo.server.on('committed', (es) => order.push(`committed ${es.map((e) => e.index).join(',')}`));
    solo.elect([]);
    order.length = 0;
    let calls = 0;
    solo.server.propose('a'); // index 1, committed at once in a cluster of one
    solo.server.readIndex((result) => {
      calls++;
      order.push(`read ${JSON.stringify(result)}`);
    });
    expect(calls).toBe(1);
    for (let k = 0; k < 5; k++) solo.server.tick();
    solo.server.propose('b');
    expect(calls).toBe(1);
    expect(order).toEqual(['committed 1', 'read {"type":"ready","index":1}', 'committed 2']);

    // Inside the call, onDone runs after the call's own events.
    const seen: string[] = [];
    const fresh = new Solo(0, 1);
    fresh.elect([]);
    fresh.server.on('committed', () => seen.push('committed'));
    fresh.server.readIndex(() => seen.push('read'));
    expect(seen).toEqual(['read']); // the no-op commits, but no event shows it
    fresh.server.propose('x');
    fresh.server.readIndex(() => seen.push('read'));
    expect(seen).toEqual(['read', 'committed', 'read']);
  });
});

describe('onDone that throws', () => {
  test('a follower: ListenerError from the call, the follower unaffected', () => {
    const cluster = makeCluster(3, { seed: 34 });
    const leader = electLeader(cluster);
    const follower = serverAt(cluster, others(cluster, leader.id)[0] as number);
    const boom = new Error('boom');
    let error: unknown;
    try {
      follower.readIndex(() => {
        throw boom;
      });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ListenerError);
    expect((error as ListenerError).errors).toEqual([boom]);
    expect(follower.role).toBe('follower');
    expect(follower.leaderId).toBe(leader.id);
    expect(readOn(follower).results).toEqual([{ type: 'forward', leaderId: leader.id }]);
    expect(cluster.propose('a')).toMatchObject({ type: 'appended' });
    cluster.advance(100);
    expect(cluster.committed(follower.id).map((e) => e.data)).toEqual(['a']);
  });

  test('a leader (ready inside the call): ListenerError from the call, other reads answered, the leader keeps working', () => {
    const solo = new Solo(0, 1);
    solo.elect([]);
    const before = readOn(solo.server);
    const boom = new Error('read listener failed');
    const after: ReadIndexResult[] = [];
    let error: unknown;
    try {
      solo.server.readIndex(() => {
        throw boom;
      });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ListenerError);
    expect((error as ListenerError).errors).toEqual([boom]);
    expect(before.results).toEqual([{ type: 'ready', index: 1 }]);
    solo.server.readIndex((r) => after.push(r));
    expect(after).toEqual([{ type: 'ready', index: 1 }]);
    expect(solo.server.role).toBe('leader');
    expect(solo.server.propose('x')).toMatchObject({ type: 'appended', index: 2 });
    expect(solo.server.volatileState.commitIndex).toBe(2);
  });

  test('a leader in a cluster (ready during a later tick): the tick throws ListenerError, the cluster keeps working', () => {
    const cluster = makeCluster(3, { seed: 35 });
    const leader = electLeader(cluster);
    readOn(leader);
    cluster.advance(1);
    const boom = new Error('late');
    leader.readIndex(() => {
      throw boom;
    });
    const other = readOn(leader);
    let error: unknown;
    try {
      cluster.advance(1);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ListenerError);
    expect((error as ListenerError).errors).toEqual([boom]);
    expect(other.results).toEqual([{ type: 'ready', index: 1 }]);
    expect(leader.role).toBe('leader');
    expect(cluster.propose('a')).toMatchObject({ type: 'appended', index: 2 });
    cluster.advance(100);
    for (const s of cluster.servers) expect(cluster.committed(s.id).map((e) => e.data)).toEqual(['a']);
    const again = readOn(leader);
    cluster.advance(1);
    expect(again.results).toEqual([{ type: 'ready', index: 2 }]);
  });
});

describe('readIndex without a function', () => {
  test.each([[undefined], [null], [42], ['f'], [{}]])('Server.readIndex(%p) is an InvalidArgumentError and changes nothing', (bad) => {
    const solo = new Solo(0, 3);
    solo.elect([1]);
    solo.take();
    const logBefore = fullLog(solo.server);
    const deadline = solo.server.nextDeadline();
    expect(() => solo.server.readIndex(bad as never)).toThrow(InvalidArgumentError);
    expect(fullLog(solo.server)).toEqual(logBefore); // no no-op written
    expect(solo.server.persistentState.currentLogIndex).toBe(0);
    expect(solo.take()).toEqual([]);
    expect(solo.server.nextDeadline()).toBe(deadline);
    expect(solo.server.role).toBe('leader');
  });

  test.each([[undefined], [null], [42], [{}]])('InMemoryCluster.readIndex(%p) is an InvalidArgumentError and changes nothing, with or without a leader', (bad) => {
    const cluster = makeCluster(3, { seed: 36 });
    expect(() => cluster.readIndex(bad as never)).toThrow(InvalidArgumentError);
    const leader = electLeader(cluster);
    cluster.advance(10);
    const delivered = cluster.network.deliveredCount;
    expect(() => cluster.readIndex(bad as never)).toThrow(InvalidArgumentError);
    expect(cluster.network.deliveredCount).toBe(delivered);
    expect(leader.persistentState.currentLogIndex).toBe(0);
    expect(leader.nextDeadline()).toBeGreaterThan(cluster.now);
  });
});

describe('wire: the kind of an AppendEntries entry', () => {
  test("an entry with kind 'noop' is accepted and stored as a no-op; it is not reported when committed", () => {
    const solo = new Solo(1, 3);
    const committed: number[] = [];
    solo.server.on('committed', (es) => committed.push(...es.map((e) => e.index)));
    const replies: AppendEntriesReply[] = [];
    solo.server.processMessage(
      appendEntries(
        {
          term: 2,
          leaderId: 0,
          prev: { index: 0, term: 0 },
          entries: [
            { index: 1, term: 2, data: 'ignored' as Data, kind: 'noop' },
            { index: 2, term: 2, data: 'a' },
          ],
          commit: 2,
        },
        replies,
      ),
    );
    expect(replies).toEqual([{ follower: 1, followerTerm: 2, success: true, matchIndex: 2 }]);
    expect(fullLog(solo.server)).toEqual([
      { index: 1, term: 2, data: undefined, kind: 'noop' },
      { index: 2, term: 2, data: 'a', kind: undefined },
    ]);
    expect(committed).toEqual([2]);
    expect(solo.server.volatileState.lastApplied).toBe(2);
  });

  test.each([['bogus'], [''], [1], [null], [{}]])("an entry with kind %p is an InvalidMessageError naming entries[k].kind: no reply, nothing changes", (kind) => {
    const solo = new Solo(1, 3);
    const replies: AppendEntriesReply[] = [];
    let error: unknown;
    try {
      solo.server.processMessage(
        appendEntries(
          {
            term: 2,
            leaderId: 0,
            prev: { index: 0, term: 0 },
            entries: [
              { index: 1, term: 2, data: 'a' },
              { index: 2, term: 2, data: 'b', kind } as never,
            ],
            commit: 2,
          },
          replies,
        ),
      );
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(InvalidMessageError);
    expect((error as Error).message).toContain('entries[1].kind');
    expect(replies).toEqual([]);
    expect(solo.server.currentTerm).toBe(0);
    expect(solo.server.leaderId).toBeUndefined();
    expect(solo.server.persistentState.currentLogIndex).toBe(0);
    expect(solo.take()).toEqual([]);
  });
});
