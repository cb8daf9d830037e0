// Compaction under seeded random faults (SPEC Part 2, "Log compaction"): with a small
// maxLogEntries and small snapshot chunks, through disconnections, crashes, restarts and
// manual compactions, the state machines never diverge (each is a prefix of the longest)
// and all converge once the faults stop.

import { InMemoryCluster, seededRandom, type ServerId } from '../../lib';
import { ListMachine, decodeItems, type Data } from './helpers';

const SIZE = 5;
const ids = Array.from({ length: SIZE }, (_, k) => k as ServerId);

function machine(cluster: InMemoryCluster<Data>, id: ServerId): ListMachine {
  return cluster.stateMachine(id) as ListMachine;
}

describe('compaction under random faults', () => {
  test.each(Array.from({ length: 12 }, (_, k) => k + 1))('seed %i: state machines never diverge and converge after healing', (seed) => {
    const random = seededRandom(seed * 7919);
    const cluster = InMemoryCluster.make<Data>(SIZE, {
      seed,
      maxLogEntries: 6 + (seed % 5),
      trailingLogEntries: seed % 3,
      maxSnapshotChunkBytes: 1 + (seed % 40),
      stateMachine: () => new ListMachine(),
    });
    const watchInstalls = (id: ServerId): void => {
      cluster.servers[id]!.on('snapshotInstalled', (snapshot) => {
        // one snapshot's bytes, covering exactly lastIncluded.index entries
        expect(decodeItems(snapshot.data)).toHaveLength(snapshot.lastIncluded.index);
      });
    };
    ids.forEach(watchInstalls);
    let proposed = 0;
    for (let step = 0; step < 300; step++) {
      const r = random();
      const id = Math.floor(random() * SIZE) as ServerId;
      if (r < 0.5) cluster.propose(`v${proposed++}`);
      else if (r < 0.6) cluster.disconnect(id);
      else if (r < 0.7) cluster.reconnect(id);
      else if (r < 0.75) {
        cluster.restart(id);
        watchInstalls(id);
      } else if (r < 0.78) cluster.crash(id);
      else if (r < 0.8) {
        if (cluster.isRunning(id)) cluster.servers[id]!.compact();
      } else cluster.advance(Math.floor(random() * 200));
      const states = ids.filter((i) => cluster.isRunning(i)).map((i) => machine(cluster, i).items);
      const longest = states.reduce((a, b) => (b.length > a.length ? b : a), [] as string[]);
      for (const state of states) expect(state).toEqual(longest.slice(0, state.length));
      for (const i of ids) {
        const server = cluster.servers[i]!;
        expect(server.snapshot.index).toBeLessThanOrEqual(server.volatileState.commitIndex);
      }
    }
    for (const id of ids) {
      if (!cluster.isRunning(id)) {
        cluster.restart(id);
        watchInstalls(id);
      }
      cluster.reconnect(id);
    }
    let converged = false;
    for (let attempt = 0; attempt < 20 && !converged; attempt++) {
      cluster.runUntil(() => cluster.leader() !== undefined, 10_000);
      cluster.propose(`final-${attempt}`);
      converged = cluster.runUntil(() => ids.every((i) => machine(cluster, i).items.at(-1) === `final-${attempt}`), 3_000);
    }
    expect(converged).toBe(true);
    const reference = machine(cluster, 0).items;
    for (const id of ids) expect(machine(cluster, id).items).toEqual(reference);
  });
});
