// ReadIndex in 'safe' mode (SPEC Part 2, "Linearizable reads"; thesis §6.4): `ready` only
// after a majority answered a heartbeat sent after the read, at the leader's commitIndex,
// once the state machine has applied it; reads that arrive before the same heartbeat share
// it; a deposed leader never answers `ready`. Virtual clocks only.

import { InMemoryCluster, type Message, type ServerId } from '../../lib';
import { ListMachine } from '../compaction/helpers';
import { Solo, type Data } from '../hardening/helpers';
import { ELECTION_TIMEOUT, electLeader, makeCluster, others } from '../stability/helpers';
import { countHeartbeats, readOn, runManual, type Read } from './helpers';

/** A manual-delivery cluster of 3 with a leader whose no-op is committed (a first read answered). */
function manualClusterWithLeader(): { cluster: InMemoryCluster<Data>; leader: ReturnType<typeof electLeader<Data>> } {
  const cluster = makeCluster(3, { seed: 4, delivery: 'manual' });
  expect(runManual(cluster, () => cluster.leader() !== undefined)).toBe(true);
  const leader = cluster.leader() as ReturnType<typeof electLeader<Data>>;
  const first = readOn(leader);
  expect(runManual(cluster, () => first.ready, 100)).toBe(true);
  expect(first.result).toEqual({ type: 'ready', index: 1 });
  return { cluster, leader };
}

/** Delivers every waiting message for which `pick` holds, oldest first, and what that makes servers send that `pick` also accepts; the rest stays waiting. */
function deliverWhere(cluster: InMemoryCluster<Data>, pick: (to: ServerId, message: Message<Data> | { type: string }) => boolean): number {
  let delivered = 0;
  for (;;) {
    const next = cluster.network.allUndelivered().find(({ to, message }) => pick(to, message));
    if (next === undefined) return delivered;
    cluster.network.deliver(next.to, next.id);
    delivered++;
  }
}

const isReply = (_to: ServerId, message: { type: string }): boolean => message.type === 'appendEntriesReply';
const isRequest = (_to: ServerId, message: { type: string }): boolean => message.type === 'appendEntries';

describe("safe mode: 'ready' only after a majority answered a heartbeat sent after the read", () => {
  test('replies to a heartbeat sent before the read do not confirm it; replies to the next one do', () => {
    const { cluster, leader } = manualClusterWithLeader();
    cluster.advance(60); // a regular heartbeat is sent; its messages wait
    expect(cluster.network.allUndelivered().some(({ message }) => message.type === 'appendEntries')).toBe(true);
    const read = readOn(leader);
    expect(read.result).toBeUndefined();
    deliverWhere(cluster, isRequest);
    deliverWhere(cluster, isReply); // answers to the heartbeat sent before the read
    expect(read.result).toBeUndefined();
    cluster.advance(0); // the heartbeat the read made due at once
    deliverWhere(cluster, isRequest);
    expect(read.result).toBeUndefined();
    deliverWhere(cluster, isReply);
    expect(read.result).toEqual({ type: 'ready', index: 1 });
  });

  test('heartbeat replies dropped: no ready; delivered: ready', () => {
    const { cluster, leader } = manualClusterWithLeader();
    cluster.advance(10);
    const read = readOn(leader);
    cluster.advance(0);
    deliverWhere(cluster, isRequest);
    const replies = cluster.network.allUndelivered().filter(({ message }) => message.type === 'appendEntriesReply');
    expect(replies).toHaveLength(2);
    // One reply lost: the leader alone plus nobody is no majority.
    cluster.network.drop((replies[0] as { to: number }).to, (replies[0] as { id: number }).id);
    const kept = replies[1] as { to: number; id: number };
    expect(read.result).toBeUndefined();
    // Lose the second as well: still nothing.
    cluster.network.drop(kept.to, kept.id);
    expect(read.result).toBeUndefined();
    expect(cluster.network.allUndelivered()).toHaveLength(0);
    // The next round (the regular heartbeat, since the read's round was sent) confirms it.
    cluster.advance(49);
    expect(read.result).toBeUndefined();
    cluster.advance(1);
    deliverWhere(cluster, isRequest);
    const more = cluster.network.allUndelivered().filter(({ message }) => message.type === 'appendEntriesReply');
    expect(more).toHaveLength(2);
    cluster.network.deliver((more[0] as { to: number }).to, (more[0] as { id: number }).id); // one follower + the leader: a majority of 3
    expect(read.result).toEqual({ type: 'ready', index: 1 });
    expect(leader.role).toBe('leader');
  });

  test("index = the leader's commitIndex when the read arrived", () => {
    const cluster = makeCluster(3, { seed: 8 });
    const leader = electLeader(cluster);
    readOn(leader);
    cluster.advance(1);
    for (const x of ['a', 'b', 'c']) cluster.propose(x);
    cluster.advance(1);
    expect(leader.volatileState.commitIndex).toBe(4);
    const read = readOn(leader);
    cluster.propose('d'); // proposed after the read: not needed by it
    cluster.advance(1);
    expect(read.result).toEqual({ type: 'ready', index: 4 });
    expect(leader.volatileState.commitIndex).toBe(5);
  });

  test('ready only when lastApplied >= index (maxCommittedEntriesPerEvent delays applying)', () => {
    const machine = new ListMachine();
    const solo = new Solo(0, 1, undefined, { stateMachine: machine, maxCommittedEntriesPerEvent: 1 });
    solo.elect([]);
    solo.server.proposeAll(['a', 'b', 'c', 'd', 'e']);
    expect(solo.server.volatileState.commitIndex).toBe(5);
    expect(solo.server.volatileState.lastApplied).toBeLessThan(5);
    const seen: Array<{ index: number; lastApplied: number; applied: number }> = [];
    solo.server.readIndex((result) => {
      if (result.type !== 'ready') throw new Error(`unexpected ${result.type}`);
      seen.push({ index: result.index, lastApplied: solo.server.volatileState.lastApplied, applied: machine.applied.length });
    });
    let ticks = 0;
    while (seen.length === 0 && ticks < 20) {
      expect(solo.server.volatileState.lastApplied).toBeLessThan(5);
      expect(solo.server.nextDeadline()).toBeLessThanOrEqual(solo.now); // applying the backlog is due at once
      solo.server.tick();
      ticks++;
    }
    expect(seen).toEqual([{ index: 5, lastApplied: 5, applied: 5 }]);
    expect(ticks).toBeGreaterThan(0);
  });

  test('a slow state machine in a cluster: the leader answers ready only after it applied the index', () => {
    const cluster = makeCluster(3, { seed: 9, maxCommittedEntriesPerEvent: 1 });
    const leader = electLeader(cluster);
    readOn(leader);
    cluster.advance(5);
    expect(leader.proposeAll(['a', 'b', 'c', 'd', 'e', 'f'])).toMatchObject({ type: 'appended' });
    const answers: Array<{ index: number; lastApplied: number }> = [];
    leader.readIndex((result) => {
      if (result.type === 'ready') answers.push({ index: result.index, lastApplied: leader.volatileState.lastApplied });
    });
    cluster.runUntil(() => answers.length > 0, 500);
    expect(answers).toHaveLength(1);
    const [answer] = answers as [{ index: number; lastApplied: number }];
    expect(answer.lastApplied).toBeGreaterThanOrEqual(answer.index);
    expect(answer.index).toBeGreaterThanOrEqual(1);
  });
});

describe('a thousand reads cost one heartbeat round', () => {
  test('1000 reads arriving before the next heartbeat share one round (one heartbeat per follower)', () => {
    const cluster = makeCluster(5, { seed: 12 });
    const leader = electLeader(cluster);
    readOn(leader);
    cluster.advance(1);
    cluster.advance(20); // mid-way between heartbeats
    const taps = countHeartbeats(cluster);
    const reads: Read[] = Array.from({ length: 1000 }, () => readOn(leader));
    expect(reads.every((r) => r.result === undefined)).toBe(true);
    expect(taps.appendEntries()).toBe(0); // nothing is sent inside the calls
    cluster.advance(1);
    expect(reads.every((r) => r.ready)).toBe(true);
    expect(reads.every((r) => r.results.length === 1)).toBe(true);
    expect(taps.count(leader.id)).toBe(4);
    expect(taps.appendEntries()).toBe(4);
    taps.stop();
  });
});

describe('reads on a deposed leader never answer ready', () => {
  test('partitioned away without checkQuorum: its reads answer forward or delay once it learns the higher term', () => {
    const cluster = makeCluster(3, { seed: 13 });
    const old = electLeader(cluster);
    readOn(old);
    cluster.advance(1);
    cluster.disconnect(old.id);
    const reads = [readOn(old), readOn(old), readOn(old)];
    cluster.advance(10 * ELECTION_TIMEOUT);
    expect(old.role).toBe('leader'); // it does not know
    expect(reads.every((r) => r.result === undefined)).toBe(true);
    const fresh = cluster.leader() as NonNullable<ReturnType<typeof cluster.leader>>;
    expect(fresh.id).not.toBe(old.id);
    cluster.reconnect(old.id);
    cluster.advance(10 * ELECTION_TIMEOUT);
    expect(old.role).toBe('follower');
    for (const r of reads) {
      expect(r.results).toHaveLength(1);
      expect(['forward', 'delay']).toContain(r.result?.type);
    }
    const forwarded = reads.filter((r) => r.result?.type === 'forward').map((r) => r.result);
    for (const f of forwarded) expect(f).toEqual({ type: 'forward', leaderId: fresh.id });
  });

  test('partitioned away with checkQuorum: it steps down and its reads answer delay, never ready', () => {
    const cluster = makeCluster(5, { seed: 14, checkQuorum: true });
    const old = electLeader(cluster);
    readOn(old);
    cluster.advance(1);
    const [a] = others(cluster, old.id) as [number];
    cluster.partition([old.id, a], others(cluster, old.id, a));
    const reads = [readOn(old), readOn(old)];
    cluster.advance(1); // the round goes out, but only a answers: no majority
    expect(reads.every((r) => r.result === undefined)).toBe(true);
    expect(cluster.runUntil(() => old.role !== 'leader', 2 * ELECTION_TIMEOUT)).toBe(true);
    for (const r of reads) expect(r.results).toEqual([{ type: 'delay' }]);
    cluster.heal();
    cluster.advance(10 * ELECTION_TIMEOUT);
    for (const r of reads) expect(r.results).toHaveLength(1);
  });

  test('a read pending when a higher-term message arrives answers at once (forward to the new leader or delay)', () => {
    const cluster = makeCluster(3, { seed: 15, delivery: 'manual' });
    expect(runManual(cluster, () => cluster.leader() !== undefined)).toBe(true);
    const old = cluster.leader() as NonNullable<ReturnType<typeof cluster.leader>>;
    const first = readOn(old);
    expect(runManual(cluster, () => first.ready, 100)).toBe(true);
    const read = readOn(old);
    // Another server starts an election of a later term; its RequestVote deposes the old leader.
    const [b] = others(cluster, old.id) as [number];
    cluster.timeout(b);
    expect(runManual(cluster, () => old.role !== 'leader', 1000)).toBe(true);
    expect(read.results).toHaveLength(1);
    expect(['forward', 'delay']).toContain(read.result?.type);
  });
});
