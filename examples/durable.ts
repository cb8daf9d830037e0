/**
 * `npm run demo:durable`: a 3-server cluster whose term, vote and log live on disk
 * (FilePersistentState, one directory per server under a temporary folder). It commits some
 * entries, shuts every server down, opens the directories again and restarts the cluster
 * from disk: the log and term are still there, and new proposals commit after them.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FilePersistentState, InMemoryCluster, type Server } from '../lib';

/** What the durable demo ends with. */
export interface DurableDemoResult {
  /** Each server's committed data after the restart from disk. */
  readonly committedAfterRestart: readonly string[][];
  /** Each server's term before shutdown and after the restart. */
  readonly terms: readonly { readonly before: number; readonly after: number }[];
}

/** Runs the durable demo in `root` (a new temporary folder by default, removed at the end). */
export function main(print: (line: string) => void = console.log, root?: string): DurableDemoResult {
  const base = root ?? mkdtempSync(join(tmpdir(), 'raft-durable-'));
  const directories = [0, 1, 2].map((id) => join(base, `server-${id}`));
  try {
    let stores = directories.map((directory) => FilePersistentState.open<string>(directory));
    let cluster = InMemoryCluster.make<string>(3, { seed: 11, persistentState: (id) => stores[id] as FilePersistentState<string> });
    const electLeader = (): Server<string> => {
      if (!cluster.runUntil(() => cluster.leader() !== undefined, 10_000)) throw new Error('no leader');
      return cluster.leader() as Server<string>;
    };
    let leader = electLeader();
    print(`stores in ${base}; server ${leader.id} leads term ${leader.currentTerm}`);
    for (const word of ['alpha', 'beta', 'gamma']) cluster.propose(word);
    cluster.advance(100);
    print(`committed before shutdown: ${cluster.committed(0).map((e) => `${e.index}:${e.data}`).join(' ')}`);
    const before = cluster.servers.map((s) => s.currentTerm);
    stores.forEach((store) => store.close());
    print(`all servers shut down (${stores.reduce((sum, s) => sum + s.syncCount, 0)} fsynced write batches in all)`);

    stores = directories.map((directory) => FilePersistentState.open<string>(directory));
    print(`reopened: logs of ${stores.map((s) => s.currentLogIndex).join(', ')} entries, terms ${stores.map((s) => s.currentTerm).join(', ')}`);
    cluster = InMemoryCluster.make<string>(3, { seed: 12, persistentState: (id) => stores[id] as FilePersistentState<string> });
    leader = electLeader();
    print(`after restart: server ${leader.id} leads term ${leader.currentTerm}`);
    cluster.propose('delta');
    cluster.advance(100);
    const committedAfterRestart = cluster.servers.map((s) => cluster.committed(s.id).map((e) => e.data));
    print(`committed after restart: ${committedAfterRestart[0]?.join(' ')}`);
    stores.forEach((store) => store.close());
    return { committedAfterRestart, terms: before.map((b, id) => ({ before: b, after: cluster.servers[id]?.currentTerm ?? 0 })) };
  } finally {
    if (root === undefined) rmSync(base, { recursive: true, force: true });
  }
}

if (require.main === module) main();
