// The leader's side of InstallSnapshot, end to end in an InMemoryCluster (SPEC Part 2,
// "Log compaction"): a follower that needs compacted entries gets the snapshot in chunks,
// also when chunks are lost, the leader changes, or the follower restarts mid-transfer.

import type { AddressedMessage, InMemoryCluster, InstallSnapshotMessage, LogPosition, ServerId } from '../../lib';
import { caughtUp, decodeItems, electLeader, machineCluster, machineOf, proposeMany, pumpManual, type Data } from './helpers';

const CHUNK = 16;

function snapshotChunksTo(cluster: InMemoryCluster<Data>, to: ServerId): InstallSnapshotMessage[] {
  const seen: InstallSnapshotMessage[] = [];
  cluster.network.tap((m: AddressedMessage<Data>) => {
    if (m.to === to && m.message.type === 'installSnapshot') seen.push(m.message);
  });
  return seen;
}

function expectSameMachines(cluster: InMemoryCluster<Data>, ids: readonly ServerId[]): void {
  const reference = machineOf(cluster, ids[0]!).items;
  for (const id of ids) expect(machineOf(cluster, id).items).toEqual(reference);
}

describe('InstallSnapshot, leader to follower', () => {
  test('a follower disconnected while the leader compacts gets the snapshot in chunks, restores it and resumes AppendEntries after it', () => {
    const cluster = machineCluster(3, { maxLogEntries: 10, maxSnapshotChunkBytes: CHUNK });
    const leaderId = electLeader(cluster);
    const lagging = ([0, 1, 2] as ServerId[]).find((id) => id !== leaderId)!;
    cluster.disconnect(lagging);
    proposeMany(cluster, 30);
    cluster.advance(300);
    const leader = cluster.servers[leaderId]!;
    expect(leader.snapshot.index).toBeGreaterThan(0);
    expect(leader.persistentState.getLogEntry(1)).toBeUndefined();

    const chunks = snapshotChunksTo(cluster, lagging);
    const afterInstall: string[] = [];
    const messagesAfter: { type: string; prev?: LogPosition }[] = [];
    let installedAt: LogPosition | undefined;
    let volatileAtInstall: unknown;
    const machine = machineOf(cluster, lagging);
    cluster.servers[lagging]!.on('snapshotInstalled', (snapshot) => {
      installedAt = { ...snapshot.lastIncluded };
      volatileAtInstall = cluster.servers[lagging]!.volatileState;
      afterInstall.push(`snapshotInstalled; machine restored ${machine.restored.length} times`);
      expect(decodeItems(snapshot.data)).toEqual(machine.items);
    });
    cluster.network.tap((m) => {
      if (m.to === lagging && installedAt !== undefined && m.message.type === 'appendEntries') {
        messagesAfter.push({ type: m.message.type, prev: m.message.prevLogEntry });
      }
    });
    cluster.reconnect(lagging);
    expect(cluster.runUntil(() => caughtUp(cluster, [0, 1, 2]), 5_000)).toBe(true);

    // chunks: at most maxSnapshotChunkBytes. The lagging server's timeouts while it was cut
    // off may have forced an election after the reconnection, so look at the transfer that
    // completed: the chunks of the installing leader's term, from its last offset 0 on.
    for (const chunk of chunks) expect(chunk.data.length).toBeLessThanOrEqual(CHUNK);
    const termOfInstall = cluster.servers[lagging]!.currentTerm;
    const ofInstall = chunks.filter((c) => c.leaderTerm === termOfInstall && c.lastIncluded.index === installedAt?.index);
    const transfer = ofInstall.slice(ofInstall.map((c) => c.offset).lastIndexOf(0));
    const snapshotBytes = transfer.reduce((n, c) => n + c.data.length, 0);
    expect(transfer.length).toBe(Math.ceil(snapshotBytes / CHUNK));
    expect(transfer.length).toBeGreaterThan(3);
    let offset = 0;
    for (const chunk of transfer) {
      expect(chunk.offset).toBe(offset);
      offset += chunk.data.length;
    }
    expect(transfer[transfer.length - 1]!.done).toBe(true);
    expect(transfer.slice(0, -1).every((c) => !c.done)).toBe(true);

    // installed: restoreSnapshot first, then the event, with commitIndex = lastApplied = lastIncluded.index
    expect(installedAt).toEqual(transfer[0]!.lastIncluded);
    expect(afterInstall).toEqual(['snapshotInstalled; machine restored 1 times']);
    expect(volatileAtInstall).toEqual({ commitIndex: installedAt!.index, lastApplied: installedAt!.index });
    expect(cluster.servers[lagging]!.snapshot).toEqual(installedAt);

    // AppendEntries resume right after it
    expect(messagesAfter.length).toBeGreaterThan(0);
    expect(messagesAfter[0]!.prev).toEqual(installedAt);
    // entries covered by the snapshot were never applied one by one on the lagging server
    expect(machine.applied.every((e) => e.index > installedAt!.index)).toBe(true);
    expectSameMachines(cluster, [0, 1, 2]);

    proposeMany(cluster, 5, 'later');
    expect(cluster.runUntil(() => caughtUp(cluster, [0, 1, 2]), 5_000)).toBe(true);
    expectSameMachines(cluster, [0, 1, 2]);
    expect(machineOf(cluster, lagging).items).toHaveLength(35);
  });

  test('a lost chunk is resent after heartbeats and the transfer completes (manual delivery)', () => {
    const cluster = machineCluster(3, { delivery: 'manual', maxLogEntries: 10, maxSnapshotChunkBytes: CHUNK });
    cluster.timeout(0);
    pumpManual(cluster);
    expect(cluster.leader()?.id).toBe(0);
    proposeMany(cluster, 30);
    // server 2 hears nothing while 0 and 1 commit and compact
    for (let k = 0; k < 10; k++) {
      cluster.advance(50);
      pumpManual(cluster, (to) => to === 2);
    }
    expect(cluster.servers[0]!.snapshot.index).toBeGreaterThan(0);
    expect(cluster.servers[2]!.volatileState.commitIndex).toBe(0);

    const chunks = snapshotChunksTo(cluster, 2);
    let dropped: { offset: number } | undefined;
    const dropOne = (to: ServerId, message: { type: string }): boolean => {
      if (dropped !== undefined || to !== 2 || message.type !== 'installSnapshot') return false;
      const chunk = message as InstallSnapshotMessage;
      if (chunk.offset === 0) return false;
      dropped = { offset: chunk.offset };
      return true;
    };
    const listedTypes = new Set<string>();
    for (let k = 0; k < 40 && !caughtUp(cluster, [0, 1, 2]); k++) {
      cluster.advance(50);
      for (const id of [0, 1, 2]) for (const waiting of cluster.network.undelivered(id)) listedTypes.add(waiting.message.type);
      pumpManual(cluster, (to, message) => {
        for (const id of [0, 1, 2]) for (const waiting of cluster.network.undelivered(id)) listedTypes.add(waiting.message.type);
        return dropOne(to, message);
      });
    }
    expect(dropped).toBeDefined();
    expect([...listedTypes]).toEqual(expect.arrayContaining(['installSnapshot', 'installSnapshotReply']));
    expect(caughtUp(cluster, [0, 1, 2])).toBe(true);
    // the dropped chunk was delivered later, at the same offset
    expect(chunks.some((c) => c.offset === dropped!.offset)).toBe(true);
    expect(cluster.servers[2]!.snapshot.index).toBeGreaterThan(0);
    expectSameMachines(cluster, [0, 1, 2]);
  });

  function laggingBehindCompactedLeader(): InMemoryCluster<Data> {
    const cluster = machineCluster(3, { delivery: 'manual', maxLogEntries: 10, maxSnapshotChunkBytes: CHUNK });
    cluster.timeout(0);
    pumpManual(cluster);
    expect(cluster.leader()?.id).toBe(0);
    proposeMany(cluster, 30);
    for (let k = 0; k < 10; k++) {
      cluster.advance(50);
      pumpManual(cluster, (to) => to === 2);
    }
    expect(cluster.servers[0]!.snapshot.index).toBeGreaterThan(0);
    expect(cluster.servers[1]!.snapshot.index).toBeGreaterThan(0);
    return cluster;
  }

  /** Delivers until server 2 has received `count` snapshot chunks (without completing). */
  function deliverChunksTo2(cluster: InMemoryCluster<Data>, count: number): InstallSnapshotMessage[] {
    const chunks = snapshotChunksTo(cluster, 2);
    for (let k = 0; k < 40 && chunks.length < count; k++) {
      cluster.advance(50);
      while (chunks.length < count) {
        const next = cluster.network.allUndelivered()[0];
        if (next === undefined) break;
        cluster.network.deliver(next.to, next.id);
      }
    }
    expect(chunks.length).toBe(count);
    expect(cluster.servers[2]!.snapshot).toEqual({ index: 0, term: 0 });
    return chunks;
  }

  test('leader change mid-transfer: the new leader transfer completes and no chunks are mixed', () => {
    const cluster = laggingBehindCompactedLeader();
    deliverChunksTo2(cluster, 3);
    const installed: Uint8Array[] = [];
    cluster.servers[2]!.on('snapshotInstalled', (s) => installed.push(s.data.slice()));
    cluster.crash(0);
    cluster.timeout(1);
    for (let k = 0; k < 40 && !caughtUp(cluster, [1, 2]); k++) {
      pumpManual(cluster);
      cluster.advance(50);
    }
    expect(cluster.leader()?.id).toBe(1);
    expect(caughtUp(cluster, [1, 2])).toBe(true);
    expect(installed).toHaveLength(1);
    // exactly one snapshot's bytes: it decodes and is the prefix of the log it claims to cover
    const items = decodeItems(installed[0]!);
    expect(items).toEqual(Array.from({ length: items.length }, (_, k) => `x-${k}`));
    expect(items.length).toBe(cluster.servers[2]!.snapshot.index);
    expectSameMachines(cluster, [1, 2]);
  });

  test('follower restart mid-transfer: the transfer restarts from offset 0 and completes', () => {
    const cluster = laggingBehindCompactedLeader();
    deliverChunksTo2(cluster, 3);
    cluster.restart(2);
    const chunks = snapshotChunksTo(cluster, 2);
    const installed: Uint8Array[] = [];
    cluster.servers[2]!.on('snapshotInstalled', (s) => installed.push(s.data.slice()));
    for (let k = 0; k < 40 && !caughtUp(cluster, [0, 1, 2]); k++) {
      cluster.advance(50);
      pumpManual(cluster);
    }
    expect(caughtUp(cluster, [0, 1, 2])).toBe(true);
    const firstTaken = chunks.findIndex((c) => c.offset === 0);
    expect(firstTaken).toBeGreaterThanOrEqual(0);
    // from that offset-0 chunk on, the chunks are consecutive up to the last one
    let offset = 0;
    for (const chunk of chunks.slice(firstTaken)) {
      expect(chunk.offset).toBe(offset);
      offset += chunk.data.length;
    }
    expect(installed).toHaveLength(1);
    expect(installed[0]!.length).toBe(offset);
    expect(decodeItems(installed[0]!)).toHaveLength(cluster.servers[2]!.snapshot.index);
    expectSameMachines(cluster, [0, 1, 2]);
  });

  test('leader restart mid-transfer: the restarted leader, in a new term, sends its snapshot from offset 0 and it installs whole', () => {
    const cluster = laggingBehindCompactedLeader();
    deliverChunksTo2(cluster, 3);
    const installed: Uint8Array[] = [];
    cluster.servers[2]!.on('snapshotInstalled', (s) => installed.push(s.data.slice()));
    cluster.restart(0);
    const chunks = snapshotChunksTo(cluster, 2);
    cluster.timeout(0);
    pumpManual(cluster);
    expect(cluster.leader()?.id).toBe(0);
    // an entry of the new term lets the restarted leader commit (Figure 8)
    proposeMany(cluster, 1, 'after-restart');
    for (let k = 0; k < 40 && !caughtUp(cluster, [0, 1, 2]); k++) {
      pumpManual(cluster);
      cluster.advance(50);
    }
    expect(cluster.leader()?.id).toBe(0);
    expect(caughtUp(cluster, [0, 1, 2])).toBe(true);
    const newTerm = cluster.servers[0]!.currentTerm;
    const ofNewTerm = chunks.filter((c) => c.leaderTerm === newTerm);
    expect(ofNewTerm[0]!.offset).toBe(0);
    expect(installed).toHaveLength(1);
    expect(decodeItems(installed[0]!)).toEqual(Array.from({ length: cluster.servers[2]!.snapshot.index }, (_, k) => `x-${k}`));
    expectSameMachines(cluster, [0, 1, 2]);
  });
});
