/**
 * R1 / R2: linearizable reads (`readIndex`, SPEC Part 2 "Linearizable reads") on a 3-server
 * InMemoryCluster, in `safe` mode (R1) and in `lease` mode (R2, with `checkQuorum`). Each
 * function runs one repetition and returns its figures; bench/run.ts repeats them and takes
 * medians.
 */
import { performance } from 'node:perf_hooks';
import { InMemoryCluster, type ReadIndexResult, type Server } from '../lib';
import type { Figures } from './workloads';

const SERVERS = 3;

/**
 * `reads` calls of `leader.readIndex` in groups of `group`; after each group the virtual clock
 * is advanced by 1 ms (`cluster.advance(1)`), which lets the leader send the heartbeat round
 * the group's reads made due; every read of the group must then have been answered `ready`
 * before the next group starts. Wall time covers the calls and the advances. The heartbeat
 * AppendEntries (no entries) the leader sends during the timed part are counted with
 * `network.tap`; `roundsPerRead` is that count / (servers - 1) / reads.
 */
export function readWorkload(mode: 'safe' | 'lease', reads = 1_000_000, group = 1_000): Figures {
  const cluster = InMemoryCluster.make<string>(SERVERS, { seed: 1, recordCommitted: false, ...(mode === 'lease' ? { checkQuorum: true, readMode: 'lease' as const } : {}) });
  if (!cluster.runUntil(() => cluster.leader() !== undefined, 10_000)) throw new Error('no leader');
  const leader = cluster.leader() as Server<string>;

  // Untimed warm-up: the first read makes the leader write its term's no-op; wait until a
  // read is answered `ready` (and, in lease mode, until the lease holds after a heartbeat round).
  let warm: ReadIndexResult | undefined;
  for (let attempt = 0; attempt < 1_000 && warm?.type !== 'ready'; attempt++) {
    warm = undefined;
    leader.readIndex((result) => (warm = result));
    cluster.advance(1);
  }
  if (warm?.type !== 'ready') throw new Error(`warm-up read answered ${warm?.type ?? 'nothing'}`);

  let heartbeats = 0;
  let otherAppends = 0;
  const untap = cluster.network.tap(({ from, message }) => {
    if (from === leader.id && message.type === 'appendEntries') {
      if (message.entries.length === 0) heartbeats++;
      else otherAppends++;
    }
  });
  let ready = 0;
  let notReady = 0;
  const onDone = (result: ReadIndexResult): void => {
    if (result.type === 'ready') ready++;
    else notReady++;
  };
  let readyAtOnce = 0; // reads answered before the group's advance (lease mode: all of them)
  const startedAt = cluster.now;
  const started = performance.now();
  for (let done = 0; done < reads; done += group) {
    for (let k = 0; k < group; k++) leader.readIndex(onDone);
    readyAtOnce += ready - done;
    cluster.advance(1);
    if (ready !== done + group || notReady !== 0) {
      throw new Error(`group at read ${done}: ${ready - done} of ${group} ready, ${notReady} not ready (leader ${cluster.leader()?.id ?? 'none'})`);
    }
  }
  const seconds = (performance.now() - started) / 1000;
  untap();
  if (cluster.leader() !== leader) throw new Error('leadership changed during the run');
  return {
    reads,
    readsPerSecond: reads / seconds,
    heartbeatAppendEntries: heartbeats,
    roundsPerRead: heartbeats / (SERVERS - 1) / reads,
    readyBeforeAdvance: readyAtOnce / reads,
    appendEntriesWithEntries: otherAppends,
    virtualMs: cluster.now - startedAt,
  };
}
