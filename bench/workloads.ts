/**
 * The benchmark workloads W1–W6 (W7, the peers, lives in bench/peers/; R1/R2, reads, in bench/reads.ts). Each function runs
 * one repetition and returns its figures; bench/run.ts repeats them and takes medians.
 */
import { performance } from 'node:perf_hooks';
import { InMemoryCluster, InMemoryPersistentState, type LogEntry, type Server } from '../lib';

/** One repetition's figures, by name. */
export type Figures = Record<string, number>;

const PAYLOAD = '0123456789abcdef'; // 16 bytes

function elect<T>(cluster: InMemoryCluster<T>): Server<T> {
  if (!cluster.runUntil(() => cluster.leader() !== undefined, 10_000)) throw new Error('no leader');
  return cluster.leader() as Server<T>;
}

/** W1 serial: one propose per entry, each driven until the leader commits it. */
export function w1Serial(entries = 200_000): Figures {
  const cluster = InMemoryCluster.make<string>(3, { seed: 1 });
  const leader = elect(cluster);
  let virtualLatency = 0;
  const started = performance.now();
  for (let k = 0; k < entries; k++) {
    const proposedAt = cluster.now;
    const result = leader.propose(PAYLOAD);
    if (result.type !== 'appended') throw new Error(`propose returned ${result.type}`);
    if (leader.volatileState.commitIndex < result.index) {
      cluster.runUntil(() => leader.volatileState.commitIndex >= result.index, 1_000);
    }
    virtualLatency += cluster.now - proposedAt;
  }
  const seconds = (performance.now() - started) / 1000;
  return { entries, commitsPerSecond: entries / seconds, virtualLatencyMs: virtualLatency / entries };
}

/** W2/W3 batched: proposals in batches, until every server has emitted `committed` for every entry. */
export function wBatched(servers: number, entries = 200_000, batchSize = 100): Figures {
  const cluster = InMemoryCluster.make<string>(servers, { seed: 1 });
  const leader = elect(cluster);
  const batch = Array.from({ length: batchSize }, () => PAYLOAD);
  const applied = new Array<number>(servers).fill(0);
  cluster.servers.forEach((server) => server.on('committed', (committed) => (applied[server.id] = (committed[committed.length - 1] as LogEntry<string>).index)));
  const started = performance.now();
  for (let k = 0; k < entries; k += batchSize) leader.proposeAll(batch);
  if (!cluster.runUntil(() => applied.every((index) => index >= entries), 1_000)) throw new Error('not all committed');
  const seconds = (performance.now() - started) / 1000;
  return { entries, entriesPerSecond: entries / seconds };
}

/** W4 catch-up: a follower misses `entries` commits, then reconnects; time and AppendEntries until it has committed them all. */
export function w4CatchUp(entries: number, maxEntriesPerMessage = 100): Figures {
  const cluster = InMemoryCluster.make<string>(3, { seed: 1, maxEntriesPerMessage });
  const leader = elect(cluster);
  const follower = cluster.servers.find((server) => server.id !== leader.id) as Server<string>;
  cluster.disconnect(follower.id);
  const batch = Array.from({ length: 100 }, () => PAYLOAD);
  for (let k = 0; k < entries; k += batch.length) leader.proposeAll(batch);
  cluster.advance(1);
  if (leader.volatileState.commitIndex !== entries) throw new Error('leader did not commit');
  let appendEntries = 0;
  let applied = 0;
  cluster.network.tap(({ to, message }) => {
    if (to === follower.id && message.type === 'appendEntries') appendEntries++;
  });
  follower.on('committed', (committed) => (applied = (committed[committed.length - 1] as LogEntry<string>).index));
  cluster.reconnect(follower.id);
  (globalThis as { gc?: () => void }).gc?.(); // start from a collected heap: time the catch-up, not the set-up's garbage
  const started = performance.now();
  if (!cluster.runUntil(() => applied >= entries, 10_000)) throw new Error('follower did not catch up');
  const ms = performance.now() - started;
  return { entries, ms, appendEntries, bound: 1.2 * (entries / maxEntriesPerMessage) };
}

/** W5 floor: the same entry objects appended to three plain arrays (`shared`), and a fresh object per replica (`copied`). */
export function w5Floor(entries = 200_000): Figures {
  const made = Array.from({ length: entries }, (_, k): LogEntry<string> => ({ index: k + 1, term: 1, data: PAYLOAD }));
  const shared: LogEntry<string>[][] = [[], [], []];
  let started = performance.now();
  for (const entry of made) for (const replica of shared) replica.push(entry);
  const sharedSeconds = (performance.now() - started) / 1000;
  const copied: LogEntry<string>[][] = [[], [], []];
  started = performance.now();
  for (const entry of made) for (const replica of copied) replica.push({ index: entry.index, term: entry.term, data: entry.data });
  const copiedSeconds = (performance.now() - started) / 1000;
  return { entries, sharedPerSecond: entries / sharedSeconds, copiedPerSecond: entries / copiedSeconds };
}

/** W6 memory: heap bytes per entry of InMemoryPersistentState holding `entries` entries (needs --expose-gc). */
export function w6Memory(entries = 1_000_000): Figures {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error('W6 needs node --expose-gc');
  const heap = (): number => {
    gc();
    gc();
    return process.memoryUsage().heapUsed;
  };
  const empty = heap();
  const payloads = Array.from({ length: entries }, (_, k) => k.toString(16).padStart(16, "0"));
  const withPayloads = heap();
  const state = new InMemoryPersistentState<string>();
  for (const payload of payloads) state.appendToLog(payload, 1);
  const withState = heap();
  if (state.currentLogIndex !== entries) throw new Error('store incomplete');
  return {
    entries,
    payloadBytesPerEntry: (withPayloads - empty) / entries,
    bytesPerEntryAbovePayload: (withState - withPayloads) / entries,
  };
}
