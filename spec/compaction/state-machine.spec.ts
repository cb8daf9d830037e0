// StateMachine (SPEC Part 2, "Log compaction"): apply sees what `committed` sees, snapshots
// are taken at lastApplied, and a Server over a store holding a snapshot restores it in its
// constructor and never emits the entries before it again.

import { InMemoryCluster, InMemoryPersistentState, type ServerId } from '../../lib';
import { ListMachine, MachineSolo, caughtUp, decodeItems, electLeader, machineCluster, machineOf, proposeMany, type Data } from './helpers';

function singleLeader(extra = {}): MachineSolo {
  const solo = new MachineSolo(0, 1, new InMemoryPersistentState<Data>(), extra);
  solo.elect([]);
  return solo;
}

describe('StateMachine', () => {
  test('apply sees exactly the entries `committed` sees, in index order, each once', () => {
    const cluster = machineCluster(3, { maxLogEntries: 8 });
    electLeader(cluster);
    const emitted = new Map<number, number[]>([[0, []], [1, []], [2, []]]);
    for (const server of cluster.servers) server.on('committed', (es) => emitted.get(server.id)!.push(...es.map((e) => e.index)));
    proposeMany(cluster, 30);
    cluster.advance(1_000);
    for (const id of [0, 1, 2]) {
      const machine = machineOf(cluster, id);
      const applied = machine.applied.map((e) => e.index);
      expect(applied).toEqual(cluster.committed(id).map((e) => e.index));
      expect(machine.applied).toEqual(cluster.committed(id).map((e) => ({ index: e.index, term: e.term, data: e.data })));
      expect(new Set(applied).size).toBe(applied.length);
      expect([...applied].sort((a, b) => a - b)).toEqual(applied);
      expect(machine.items).toEqual(Array.from({ length: 30 }, (_, k) => `x-${k}`));
    }
  });

  test('takeSnapshot is taken at lastApplied: the snapshot holds the state after every applied entry', () => {
    const solo = singleLeader();
    for (const x of ['a', 'b', 'c']) solo.server.propose(x);
    const position = solo.server.compact();
    expect(position).toEqual({ index: 3, term: solo.server.currentTerm });
    expect(solo.server.volatileState.lastApplied).toBe(3);
    const stored = (solo.state as InMemoryPersistentState<Data>).getSnapshot();
    expect(stored?.lastIncluded).toEqual(position);
    expect(decodeItems(stored!.data)).toEqual(['a', 'b', 'c']);
  });

  test('a Server over a store holding a snapshot calls restoreSnapshot in its constructor, with commitIndex = lastApplied = the snapshot index', () => {
    const solo = singleLeader();
    for (const x of ['a', 'b', 'c', 'd']) solo.server.propose(x);
    solo.server.compact();
    solo.calls.length = 0;
    const server = solo.restart();
    expect(solo.calls).toEqual(['restoreSnapshot 4']);
    expect(solo.machine.items).toEqual(['a', 'b', 'c', 'd']);
    expect(server.volatileState).toEqual({ commitIndex: 4, lastApplied: 4 });
    expect(server.snapshot).toEqual({ index: 4, term: 1 });
  });

  test('entries before the snapshot are never emitted again after a restart', () => {
    const solo = singleLeader({ trailingLogEntries: 2 });
    for (const x of ['a', 'b', 'c', 'd']) solo.server.propose(x);
    solo.server.compact(); // keeps entries 3 and 4 in the log
    expect(solo.state.getLogEntry(3)?.data).toBe('c');
    solo.restart();
    solo.elect([]);
    solo.server.propose('e');
    expect(solo.committedEntries.map((e) => e.index)).toEqual([5]);
    expect(solo.machine.applied.map((e) => e.index)).toEqual([5]);
    expect(solo.machine.items).toEqual(['a', 'b', 'c', 'd', 'e']);
  });

  test('without a snapshot in the store, a restarted Server does not call restoreSnapshot', () => {
    const solo = singleLeader();
    solo.server.propose('a');
    solo.calls.length = 0;
    const server = solo.restart();
    expect(solo.calls).toEqual([]);
    expect(server.snapshot).toEqual({ index: 0, term: 0 });
    expect(server.volatileState).toEqual({ commitIndex: 0, lastApplied: 0 });
  });

  test('InMemoryCluster calls the stateMachine factory at every start and restart; stateMachine(id) is the running server machine, restored from its snapshot', () => {
    const made: Array<{ id: ServerId; machine: ListMachine }> = [];
    const cluster = InMemoryCluster.make<Data>(3, {
      seed: 5,
      maxLogEntries: 10,
      stateMachine: (id) => {
        const machine = new ListMachine();
        made.push({ id, machine });
        return machine;
      },
    });
    expect(made.map((m) => m.id)).toEqual([0, 1, 2]);
    for (const { id, machine } of made) expect(cluster.stateMachine(id)).toBe(machine);
    electLeader(cluster);
    proposeMany(cluster, 25);
    expect(cluster.runUntil(() => caughtUp(cluster, [0, 1, 2]), 5_000)).toBe(true);
    const follower = ([0, 1, 2] as ServerId[]).find((id) => cluster.leader()?.id !== id)!;
    const snapshotIndex = cluster.servers[follower]!.snapshot.index;
    expect(snapshotIndex).toBeGreaterThan(0);
    cluster.restart(follower);
    expect(made).toHaveLength(4);
    const fresh = made[3]!;
    expect(fresh.id).toBe(follower);
    expect(cluster.stateMachine(follower)).toBe(fresh.machine);
    expect(fresh.machine.restored).toHaveLength(1);
    expect(fresh.machine.items).toHaveLength(snapshotIndex);
    cluster.advance(500);
    expect(fresh.machine.items).toEqual(Array.from({ length: 25 }, (_, k) => `x-${k}`));
    expect(fresh.machine.applied.every((e) => e.index > snapshotIndex)).toBe(true);
  });
});
