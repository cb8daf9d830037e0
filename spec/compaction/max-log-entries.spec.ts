// maxLogEntries / trailingLogEntries (SPEC Part 2, "Log compaction"): the automatic bound.

import { ConfigurationError, InMemoryCluster, InMemoryPersistentState, Server, seededRandom } from '../../lib';
import { ListMachine, MachineSolo, decodeItems, electLeader, machineCluster, machineOf, proposeMany, type Data } from './helpers';

function singleLeader(extra: { maxLogEntries?: number; trailingLogEntries?: number }): MachineSolo {
  const solo = new MachineSolo(0, 1, new InMemoryPersistentState<Data>(), extra);
  solo.elect([]);
  return solo;
}

function store(solo: MachineSolo): InMemoryPersistentState<Data> {
  return solo.state as InMemoryPersistentState<Data>;
}

describe('maxLogEntries', () => {
  test('the log is compacted within the call that applied the entry crossing the bound', () => {
    const solo = singleLeader({ maxLogEntries: 10, trailingLogEntries: 3 });
    for (let k = 1; k <= 10; k++) solo.server.propose(`v${k}`);
    expect(solo.server.snapshot).toEqual({ index: 0, term: 0 });
    expect(store(solo).firstLogIndex).toBe(1);
    solo.server.propose('v11'); // commits and applies entry 11 within this call: 11 entries > 10
    expect(solo.server.snapshot).toEqual({ index: 11, term: 1 });
    expect(decodeItems(store(solo).getSnapshot()!.data)).toEqual(Array.from({ length: 11 }, (_, k) => `v${k + 1}`));
  });

  test('a compaction at S discards exactly the entries with index <= S - trailingLogEntries', () => {
    const solo = singleLeader({ maxLogEntries: 10, trailingLogEntries: 3 });
    for (let k = 1; k <= 11; k++) solo.server.propose(`v${k}`);
    expect(solo.server.snapshot.index).toBe(11);
    for (let i = 1; i <= 8; i++) expect(solo.state.getLogEntry(i)).toBeUndefined();
    for (let i = 9; i <= 11; i++) expect(solo.state.getLogEntry(i)).toEqual({ index: i, term: 1, data: `v${i}` });
    expect(store(solo).firstLogIndex).toBe(9);
  });

  test('currentLogIndex stays the index of the last entry after a compaction', () => {
    const solo = singleLeader({ maxLogEntries: 10, trailingLogEntries: 0 });
    for (let k = 1; k <= 11; k++) solo.server.propose(`v${k}`);
    expect(solo.server.snapshot.index).toBe(11);
    expect(solo.state.currentLogIndex).toBe(11);
    expect(solo.state.getLogEntry(11)).toBeUndefined();
    expect(solo.state.getLastLogEntry()).toBeUndefined();
    const next = solo.server.propose('v12');
    expect(next).toEqual({ type: 'appended', index: 12, term: 1 });
  });

  test('trailingLogEntries defaults to a tenth of maxLogEntries, rounded down', () => {
    const solo = singleLeader({ maxLogEntries: 25 }); // trailing 2
    for (let k = 1; k <= 26; k++) solo.server.propose(`v${k}`);
    expect(solo.server.snapshot.index).toBe(26);
    expect(store(solo).firstLogIndex).toBe(25);
    expect(solo.state.getLogEntry(24)).toBeUndefined();
    expect(solo.state.getLogEntry(25)?.data).toBe('v25');
  });

  test('getLogEntry of a compacted index is undefined', () => {
    const cluster = machineCluster(3, { maxLogEntries: 10 });
    electLeader(cluster);
    proposeMany(cluster, 25);
    cluster.advance(500);
    for (const server of cluster.servers) {
      expect(server.snapshot.index).toBeGreaterThan(0);
      for (let i = 1; i <= server.snapshot.index - 1; i++) expect(server.persistentState.getLogEntry(i)).toBeUndefined();
      expect(server.persistentState.currentLogIndex).toBe(25);
    }
  });

  test('the `snapshot` getter is {index: 0, term: 0} before any snapshot and the latest lastIncluded after', () => {
    const solo = singleLeader({ maxLogEntries: 4, trailingLogEntries: 0 });
    expect(solo.server.snapshot).toEqual({ index: 0, term: 0 });
    for (let k = 1; k <= 5; k++) solo.server.propose(`v${k}`);
    expect(solo.server.snapshot).toEqual({ index: 5, term: 1 });
    for (let k = 6; k <= 10; k++) solo.server.propose(`v${k}`);
    expect(solo.server.snapshot).toEqual({ index: 10, term: 1 });
    expect(store(solo).getSnapshot()?.lastIncluded).toEqual({ index: 10, term: 1 });
  });

  test('every server whose log holds more than maxLogEntries compacts at its applied index, keeping trailingLogEntries', () => {
    const cluster = machineCluster(3, { maxLogEntries: 10, trailingLogEntries: 2 });
    electLeader(cluster);
    const checked: number[] = [];
    for (const server of cluster.servers) {
      // checked after each of this server's own calls: never more than 10 entries once applied past the bound
      server.on('committed', () => checked.push(server.id));
    }
    proposeMany(cluster, 11);
    cluster.advance(200); // heartbeats carry the commit index to the followers
    for (const id of [0, 1, 2]) {
      const server = cluster.servers[id]!;
      const { index: s } = server.snapshot;
      expect(server.volatileState.lastApplied).toBe(11);
      expect(s).toBeGreaterThanOrEqual(10); // the applied index when the log first held 11 entries
      expect(s).toBeLessThanOrEqual(11);
      for (let i = 1; i <= s - 2; i++) expect(server.persistentState.getLogEntry(i)).toBeUndefined();
      for (let i = s - 1; i <= 11; i++) expect(server.persistentState.getLogEntry(i)?.data).toBe(`x-${i - 1}`);
      expect(server.persistentState.currentLogIndex).toBe(11);
      expect(machineOf(cluster, id).items).toHaveLength(11);
    }
    expect(checked.length).toBeGreaterThan(0);
  });

  test('maxLogEntries without a stateMachine is a ConfigurationError (Server)', () => {
    expect(
      () => new Server<Data>({ id: 0, clusterSize: 3, messageChannel: () => {}, clock: () => 0, random: seededRandom(1), maxLogEntries: 10 }),
    ).toThrow(ConfigurationError);
    expect(() => new Server<Data>({ id: 0, clusterSize: 3, messageChannel: () => {}, maxLogEntries: 10, stateMachine: new ListMachine() })).not.toThrow();
  });

  test('maxLogEntries without the stateMachine factory is a ConfigurationError (InMemoryCluster.make)', () => {
    expect(() => InMemoryCluster.make<Data>(3, { maxLogEntries: 10 })).toThrow(ConfigurationError);
    expect(() => InMemoryCluster.make<Data>(3, { maxLogEntries: 10, stateMachine: () => new ListMachine() })).not.toThrow();
  });
});
