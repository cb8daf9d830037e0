// The no-op of a new leader (SPEC Part 2, "Linearizable reads"; thesis §6.4; etcd-io/etcd#7331):
// a leader that has committed nothing in its term when a read arrives appends one no-op of
// its own term (at most one per term, none when its log already holds an entry of its term)
// and answers no read before that commits. No-ops are never shown to `committed` listeners
// or to `stateMachine.apply`, on any server, before or after restarts. Part 1 behaviour (no
// reads, no no-op) is unchanged. Virtual clocks only.

import { FilePersistentState, InMemoryPersistentState, type LogEntry } from '../../lib';
import { ListMachine, machineCluster, machineOf } from '../compaction/helpers';
import { Solo, storeWith, type Data } from '../hardening/helpers';
import { makeCluster, electLeader, serverAt } from '../stability/helpers';
import { removeTempDirs, tempDir } from '../storage/helpers';
import { ackAll, fullLog, noopIndices, readOn } from './helpers';

afterAll(() => removeTempDirs());

/** A Solo (server 0 of 3) whose store holds entries of terms 1, 1, 2 (none committed), elected in term 3 with server 1's vote, with a recording state machine. */
function leaderWithOldEntries(): { solo: Solo; machine: ListMachine; committed: LogEntry<Data>[] } {
  const machine = new ListMachine();
  const solo = new Solo(0, 3, storeWith([1, 1, 2], 2), { stateMachine: machine });
  const committed: LogEntry<Data>[] = [];
  solo.server.on('committed', (entries) => committed.push(...entries));
  solo.elect([1]);
  expect(solo.server.currentTerm).toBe(3);
  return { solo, machine, committed };
}

describe('ReadIndex on a new leader waits for its no-op (etcd-io/etcd#7331)', () => {
  test('a leader elected with uncommitted entries of an earlier term answers no read before its no-op commits', () => {
    const { solo, machine, committed } = leaderWithOldEntries();
    const server = solo.server;
    ackAll(solo, [1, 2]); // the followers hold 1..3: still nothing of term 3, so nothing commits
    expect(server.volatileState.commitIndex).toBe(0);

    const read = readOn(server);
    expect(fullLog(server)[3]).toEqual({ index: 4, term: 3, data: undefined, kind: 'noop' });
    expect(read.result).toBeUndefined();
    server.tick(); // the heartbeat the read made due at once
    // The followers answer the new round's heartbeats, but say they lack the no-op (it was lost):
    // leadership is confirmed, yet nothing of term 3 is committed.
    const heartbeats = solo.takeAppendEntries().filter(({ message }) => message.entries.length === 0);
    expect(heartbeats.map(({ to }) => to).sort()).toEqual([1, 2]);
    for (const { to, message } of heartbeats) message.replyChannel({ follower: to, followerTerm: 3, success: false, matchIndex: 3 });
    expect(server.volatileState.commitIndex).toBe(0);
    expect(read.result).toBeUndefined();

    ackAll(solo, [1]); // the no-op reaches one follower: a majority holds it
    expect(server.volatileState.commitIndex).toBe(4);
    expect(read.results).toEqual([{ type: 'ready', index: 4 }]);
    // 1..3 were applied and reported; the no-op at 4 was skipped.
    expect(committed.map((e) => e.index)).toEqual([1, 2, 3]);
    expect(machine.applied.map((e) => e.index)).toEqual([1, 2, 3]);
    expect(server.volatileState.lastApplied).toBe(4);
  });

  test('the no-op is at most one per term: many reads, before and after it commits, write one', () => {
    const { solo } = leaderWithOldEntries();
    const server = solo.server;
    const reads = [readOn(server), readOn(server), readOn(server)];
    expect(noopIndices(server)).toEqual([4]);
    server.tick();
    ackAll(solo, [1, 2]);
    expect(reads.map((r) => r.result)).toEqual(Array.from({ length: 3 }, () => ({ type: 'ready', index: 4 })));
    const later = readOn(server);
    server.tick();
    ackAll(solo, [1, 2]);
    expect(later.result).toEqual({ type: 'ready', index: 4 });
    expect(noopIndices(server)).toEqual([4]);
    expect(server.persistentState.currentLogIndex).toBe(4);
  });

  test('the no-op is not written when the leader already has an entry of its term; the read waits for that entry', () => {
    const { solo, committed } = leaderWithOldEntries();
    const server = solo.server;
    expect(server.propose('x')).toMatchObject({ type: 'appended', index: 4, term: 3 });
    const read = readOn(server);
    expect(noopIndices(server)).toEqual([]);
    expect(server.persistentState.currentLogIndex).toBe(4);
    expect(read.result).toBeUndefined();
    server.tick();
    ackAll(solo, [1, 2]);
    expect(read.result).toEqual({ type: 'ready', index: 4 });
    expect(committed.map((e) => e.data)).toEqual(['1@1', '2@1', '3@2', 'x']);
  });

  test('a new term gets its own no-op (one per term), and a leader that has committed in its term writes none', () => {
    const cluster = makeCluster(3, { seed: 11 });
    const first = electLeader(cluster);
    const r1 = readOn(first);
    cluster.advance(1);
    expect(r1.result).toEqual({ type: 'ready', index: 1 });
    expect(cluster.propose('a')).toMatchObject({ type: 'appended', index: 2 });
    cluster.advance(1);
    readOn(first);
    cluster.advance(1);
    expect(noopIndices(first)).toEqual([1]);

    cluster.timeout((first.id + 1) % 3); // a new election: a new term
    const second = electLeader(cluster);
    expect(second.currentTerm).toBeGreaterThan(1);
    const r2 = readOn(second);
    const r3 = readOn(second);
    cluster.advance(1);
    expect(r2.result).toEqual({ type: 'ready', index: 3 });
    expect(r3.result).toEqual({ type: 'ready', index: 3 });
    expect(fullLog(second)[2]).toEqual({ index: 3, term: second.currentTerm, data: undefined, kind: 'noop' });
    expect(noopIndices(second)).toEqual([1, 3]);
    cluster.advance(100);
    for (const s of cluster.servers) expect(fullLog(s)).toEqual(fullLog(second));
  });

  test('the no-op is never passed to committed listeners nor stateMachine.apply, on the leader and on followers, and after restarts (InMemoryPersistentState)', () => {
    const cluster = machineCluster(3, { seed: 5 });
    const leader = electLeader(cluster);
    const term = leader.currentTerm;
    const read = readOn(leader);
    cluster.advance(1);
    expect(read.result).toEqual({ type: 'ready', index: 1 });
    cluster.propose('a');
    cluster.propose('b');
    cluster.advance(200);
    for (const s of cluster.servers) {
      expect(fullLog(s)).toEqual([
        { index: 1, term, data: undefined, kind: 'noop' },
        { index: 2, term, data: 'a', kind: undefined },
        { index: 3, term, data: 'b', kind: undefined },
      ]);
      expect(s.volatileState.lastApplied).toBe(3);
      expect(cluster.committed(s.id).map((e) => e.index)).toEqual([2, 3]);
      expect(machineOf(cluster, s.id).applied.map((e) => e.index)).toEqual([2, 3]);
      expect(machineOf(cluster, s.id).items).toEqual(['a', 'b']);
    }

    // Every server restarts: the stores keep the no-op as a no-op; re-applying skips it again.
    for (const s of cluster.servers) cluster.restart(s.id);
    const next = electLeader(cluster);
    const again = readOn(next);
    cluster.advance(1);
    expect(again.result).toEqual({ type: 'ready', index: 4 }); // the new term's no-op
    cluster.propose('c');
    cluster.advance(200);
    for (const s of cluster.servers) {
      expect(noopIndices(s)).toEqual([1, 4]);
      expect(fullLog(s)[0]).toEqual({ index: 1, term, data: undefined, kind: 'noop' });
      expect(s.volatileState.lastApplied).toBe(5);
      expect(cluster.committed(s.id).map((e) => e.index)).toEqual([2, 3, 5]);
      expect(machineOf(cluster, s.id).applied.map((e) => e.index)).toEqual([2, 3, 5]);
      expect(machineOf(cluster, s.id).items).toEqual(['a', 'b', 'c']);
    }
  });

  test('the no-op survives a reopen of FilePersistentState as a no-op, and is skipped when applied again', () => {
    const dir = tempDir('reads-noop');
    let store = FilePersistentState.open<Data>(dir);
    let machine = new ListMachine();
    let solo = new Solo(0, 1, store, { stateMachine: machine });
    solo.elect([]);
    const read = readOn(solo.server);
    expect(read.result).toEqual({ type: 'ready', index: 1 });
    expect(solo.server.propose('x')).toMatchObject({ type: 'appended', index: 2 });
    expect(machine.applied.map((e) => e.index)).toEqual([2]);
    store.close();

    store = FilePersistentState.open<Data>(dir);
    expect(store.getLogEntry(1)).toEqual({ index: 1, term: 1, data: undefined, kind: 'noop' });
    expect(store.getLogEntry(2)).toMatchObject({ index: 2, term: 1, data: 'x' });
    expect(store.getLogEntry(2)?.kind).toBeUndefined();
    machine = new ListMachine();
    solo = new Solo(0, 1, store, { stateMachine: machine });
    const committed: number[] = [];
    solo.server.on('committed', (entries) => committed.push(...entries.map((e) => e.index)));
    solo.elect([]);
    const second = readOn(solo.server);
    expect(second.result).toEqual({ type: 'ready', index: 3 });
    expect(committed).toEqual([2]);
    expect(machine.applied.map((e) => e.index)).toEqual([2]);
    store.close();

    store = FilePersistentState.open<Data>(dir);
    expect([1, 2, 3].map((i) => store.getLogEntry(i)?.kind)).toEqual(['noop', undefined, 'noop']);
    expect(store.getLogEntry(3)).toEqual({ index: 3, term: 2, data: undefined, kind: 'noop' });
    store.close();
  });

  test('InMemoryPersistentState keeps the kind given to appendEntries and gives it back', () => {
    const store = new InMemoryPersistentState<Data>();
    store.advanceToTerm(1);
    store.appendEntries([{ term: 1, data: undefined as unknown as Data, kind: 'noop' }, { term: 1, data: 'a' }]);
    expect(store.getLogEntry(1)).toEqual({ index: 1, term: 1, data: undefined, kind: 'noop' });
    expect(store.getLogEntry(2)?.kind).toBeUndefined();
  });
});

describe('Part 1 unchanged', () => {
  test('a cluster that never calls readIndex writes no no-op (first proposal index 1), across elections', () => {
    const cluster = makeCluster(3, { seed: 2 });
    const leader = electLeader(cluster);
    cluster.advance(1000);
    expect(cluster.servers.map((s) => s.persistentState.currentLogIndex)).toEqual([0, 0, 0]);
    expect(cluster.propose('a')).toMatchObject({ type: 'appended', index: 1 });
    cluster.advance(100);
    cluster.timeout((leader.id + 1) % 3);
    electLeader(cluster);
    cluster.advance(1000);
    expect(cluster.propose('b')).toMatchObject({ type: 'appended', index: 2 });
    cluster.advance(100);
    for (const s of cluster.servers) {
      expect(noopIndices(s)).toEqual([]);
      expect(cluster.committed(s.id).map((e) => e.data)).toEqual(['a', 'b']);
    }
    expect(serverAt(cluster, 0).persistentState.currentLogIndex).toBe(2);
  });
});

