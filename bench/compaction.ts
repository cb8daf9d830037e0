/**
 * Log compaction workloads (Raft §7): W8 bounded memory, W9 catch-up by snapshot, and
 * S-reopen (reopening a FilePersistentState with and without compaction). Each function runs
 * one repetition and returns its figures; bench/run.ts repeats them and takes medians.
 */
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { FilePersistentState, InMemoryCluster, type IPersistentState, type LogEntry, type Server, type StateMachine } from '../lib';
import type { Figures } from './workloads';

/** Keys `k0000`..`k9999`: the state is bounded by this many keys, whatever the history. */
export const KEYS = 10_000;
/** The log bound every workload here uses. */
export const MAX_LOG_ENTRIES = 10_000;
const BATCH = 100;
const KEY_CHARS = 5; // 'k' and 4 digits

/**
 * A key-value state machine over 16-byte entries `kNNNN=vvvvvvvvvv` (key `k0000`..`k9999`, '=',
 * a 10-character value). The key space is fixed, so the state is an array with one slot per
 * key holding the key's latest entry text (`kNNNN=value`): apply parses the 4 digits and sets
 * the slot; a snapshot is the non-empty slots joined by '\n', in UTF-8.
 */
export class KeyValueState implements StateMachine<string> {
  readonly slots: (string | undefined)[] = new Array<string | undefined>(KEYS).fill(undefined);
  static readonly #encoder = new TextEncoder();
  static readonly #decoder = new TextDecoder();

  static #slot(data: string): number {
    return (data.charCodeAt(1) - 48) * 1000 + (data.charCodeAt(2) - 48) * 100 + (data.charCodeAt(3) - 48) * 10 + (data.charCodeAt(4) - 48);
  }

  apply(entry: LogEntry<string>): void {
    const data = entry.data;
    this.slots[KeyValueState.#slot(data)] = data;
  }

  /** The value of `key` (`k0000`..`k9999`), or undefined. */
  get(key: string): string | undefined {
    return this.slots[KeyValueState.#slot(key)]?.slice(KEY_CHARS + 1);
  }

  get size(): number {
    let size = 0;
    for (const slot of this.slots) if (slot !== undefined) size++;
    return size;
  }

  takeSnapshot(): Uint8Array {
    return KeyValueState.#encoder.encode(this.slots.filter((slot) => slot !== undefined).join('\n'));
  }

  restoreSnapshot(data: Uint8Array): void {
    this.slots.fill(undefined);
    const text = KeyValueState.#decoder.decode(data);
    if (text.length === 0) return;
    for (const line of text.split('\n')) this.slots[KeyValueState.#slot(line)] = line;
  }

  equals(other: KeyValueState): boolean {
    for (let k = 0; k < KEYS; k++) if (other.slots[k] !== this.slots[k]) return false;
    return true;
  }
}

/**
 * The proposals, made once: `ROUNDS` passes over the key set, each pass with other values,
 * as arrays of `BATCH` entries, cycled through by the workloads. Made before any clock starts,
 * so the driving loop costs what W2's does (one `proposeAll` of a ready array per batch).
 */
const ROUNDS = 3;
let batches: string[][] | undefined;
function proposalBatches(): string[][] {
  if (batches !== undefined) return batches;
  const made: string[][] = [];
  for (let round = 0; round < ROUNDS; round++) {
    for (let first = 0; first < KEYS; first += BATCH) {
      made.push(
        Array.from({ length: BATCH }, (_, k) => {
          const key = first + k;
          return `k${String(key).padStart(4, '0')}=${String((key * 7919 + round * 104_729) % 10_000_000_000).padStart(10, '0')}`;
        }),
      );
    }
  }
  if (made.some((batch) => batch.some((data) => data.length !== 16))) throw new Error('payloads must be 16 bytes');
  batches = made;
  return made;
}

function elect<T>(cluster: InMemoryCluster<T>): Server<T> {
  if (!cluster.runUntil(() => cluster.leader() !== undefined, 10_000)) throw new Error('no leader');
  return cluster.leader() as Server<T>;
}

function collectedHeap(): number {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error('needs node --expose-gc (npm run bench passes it)');
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

/** Proposes on `leader` the batches for entries `from + 1 .. to` (multiples of BATCH), W2's way. */
function proposeRange(leader: Server<string>, from: number, to: number): void {
  const all = proposalBatches();
  for (let k = from; k < to; k += BATCH) {
    const result = leader.proposeAll(all[(k / BATCH) % all.length] as string[]);
    if (result.type !== 'appended') throw new Error(`proposeAll returned ${result.type}`);
  }
}

/** 3 servers with the key-value state machine and maxLogEntries 10,000; `recordCommitted` false unless asked. */
function compactingCluster(recordCommitted = false): InMemoryCluster<string> {
  return InMemoryCluster.make<string>(3, { seed: 1, stateMachine: () => new KeyValueState(), maxLogEntries: MAX_LOG_ENTRIES, recordCommitted });
}

/**
 * W8 bounded memory: 3 servers with a key-value state machine and maxLogEntries 10,000 commit
 * `total` entries in batches of 100 (W2's loop); the heap is measured (after gc) once every
 * server has applied `early` entries and again after `total`. The clock stops while the heap
 * is measured.
 *
 * The cluster is made with `recordCommitted: false`: by default InMemoryCluster records every
 * committed entry of every server for `cluster.committed(id)`, a record that grows with the
 * history whatever the compaction. `recordCommitted = true` (W8-record, a diagnostic) keeps
 * that default, to show what the record costs.
 */
export function w8BoundedMemory(recordCommitted = false, early = 200_000, total = 2_000_000): Figures {
  const cluster = compactingCluster(recordCommitted);
  const leader = elect(cluster) as Server<string>;
  const applied = [0, 0, 0];
  cluster.servers.forEach((server) => server.on('committed', (committed) => (applied[server.id] = (committed[committed.length - 1] as LogEntry<string>).index)));
  proposalBatches();
  const heapAtStart = collectedHeap();
  let seconds = 0;
  let proposed = 0;
  const driveTo = (target: number): void => {
    const started = performance.now();
    proposeRange(leader, proposed, target);
    proposed = target;
    if (!cluster.runUntil(() => applied.every((index) => index >= target), 1_000)) throw new Error('not all committed');
    seconds += (performance.now() - started) / 1000;
  };
  driveTo(early);
  const heapEarly = collectedHeap();
  driveTo(total);
  const heapTotal = collectedHeap();
  const states = cluster.servers.map((server) => cluster.stateMachine(server.id) as KeyValueState);
  if (!states.every((state) => state.size === KEYS && state.equals(states[0] as KeyValueState))) throw new Error('state machines differ');
  const logEntries = Math.max(...cluster.servers.map((server) => heldEntries(server.persistentState as IPersistentState<string>)));
  return {
    entries: total,
    entriesPerSecond: total / seconds,
    heapMBAtStart: heapAtStart / 1e6,
    [`heapMB@${early / 1000}k`]: heapEarly / 1e6,
    [`heapMB@${total / 1e6}M`]: heapTotal / 1e6,
    maxLogEntriesHeld: logEntries,
  };
}

let w9WarmedUp = false;

/**
 * W9 catch-up by snapshot: a follower is disconnected while `entries` entries commit on the
 * other two (maxLogEntries 10,000, 10,000 keys), then reconnected; real time from reconnection
 * until its lastApplied equals the leader's commitIndex (its state machine is then checked
 * equal to the leader's), and the messages the network carried meanwhile (network.tap).
 */
export function w9SnapshotCatchUp(entries: number): Figures {
  if (!w9WarmedUp) {
    // Once per process, an untimed catch-up of 50,000 entries, so that the first timed one
    // does not pay for compiling the snapshot paths.
    w9WarmedUp = true;
    w9SnapshotCatchUp(50_000);
  }
  const cluster = compactingCluster();
  const leader = elect(cluster) as Server<string>;
  const follower = cluster.servers.find((server) => server.id !== leader.id) as Server<string>;
  cluster.disconnect(follower.id);
  proposeRange(leader, 0, entries);
  cluster.advance(1);
  if (leader.volatileState.commitIndex !== entries) throw new Error('leader did not commit');
  if (follower.volatileState.lastApplied !== 0) throw new Error('the follower applied entries while disconnected');
  const counts = { messages: 0, toFollower: 0, fromFollower: 0, installSnapshot: 0, snapshotBytes: 0, appendEntries: 0, entriesToFollower: 0 };
  const untap = cluster.network.tap(({ from, to, message }) => {
    counts.messages++;
    if (from === follower.id) counts.fromFollower++;
    if (to !== follower.id) return;
    counts.toFollower++;
    if (message.type === 'installSnapshot') {
      counts.installSnapshot++;
      counts.snapshotBytes += message.data.length;
    } else if (message.type === 'appendEntries') {
      counts.appendEntries++;
      counts.entriesToFollower += message.entries.length;
    }
  });
  let snapshots = 0;
  follower.on('snapshotInstalled', () => snapshots++);
  cluster.reconnect(follower.id);
  collectedHeap(); // start from a collected heap: time the catch-up, not the set-up's garbage
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  const caughtUp = cluster.runUntil(() => follower.volatileState.lastApplied >= leader.volatileState.commitIndex, 10_000);
  const ms = performance.now() - started;
  const cpu = process.cpuUsage(cpuBefore);
  untap();
  if (!caughtUp) throw new Error('follower did not catch up');
  if (!(cluster.stateMachine(follower.id) as KeyValueState).equals(cluster.stateMachine(leader.id) as KeyValueState)) throw new Error('follower state differs from the leader');
  return { ms, cpuMs: (cpu.user + cpu.system) / 1000, ...counts, snapshotsInstalled: snapshots };
}

/** A store directory built once per bench process for S-reopen, by kind. */
const stores = new Map<'compacted' | 'full', { directory: string; buildSeconds: number; logEntries: number; diskMB: number }>();

/** Bytes of the files directly in `directory`. */
function directoryBytes(directory: string): number {
  return readdirSync(directory, { withFileTypes: true }).reduce((sum, entry) => sum + (entry.isFile() ? statSync(join(directory, entry.name)).size : 0), 0);
}

/** Whether FilePersistentState can hold snapshots yet; the reason when not. */
export function fileSnapshotsUnavailable(): string | undefined {
  const proto = FilePersistentState.prototype as unknown as Partial<IPersistentState<unknown>>;
  return typeof proto.saveSnapshot === 'function' && typeof proto.getSnapshot === 'function' ? undefined : 'FilePersistentState has no saveSnapshot/getSnapshot yet (file-store snapshot support not landed)';
}

/**
 * Builds a FilePersistentState in a temp directory by running a one-server cluster over it
 * that commits `entries` 16-byte entries in batches of 100, with the key-value state machine
 * and maxLogEntries 10,000 (`compacted`) or without either (`full`).
 */
function buildStore(kind: 'compacted' | 'full', entries: number): { directory: string; buildSeconds: number; logEntries: number; diskMB: number } {
  const built = stores.get(kind);
  if (built !== undefined) return built;
  const directory = mkdtempSync(join(tmpdir(), `raft-bench-reopen-${kind}-`));
  process.once('exit', () => rmSync(directory, { recursive: true, force: true }));
  const store = FilePersistentState.open<string>(directory);
  const started = performance.now();
  const cluster = InMemoryCluster.make<string>(1, {
    seed: 1,
    recordCommitted: false,
    persistentState: () => store,
    ...(kind === 'compacted' ? { stateMachine: () => new KeyValueState(), maxLogEntries: MAX_LOG_ENTRIES } : {}),
  });
  const leader = elect(cluster);
  proposeRange(leader, 0, entries);
  cluster.advance(1);
  if (leader.volatileState.commitIndex !== entries) throw new Error(`${kind}: committed ${leader.volatileState.commitIndex}, expected ${entries}`);
  store.sync();
  const logEntries = heldEntries(store);
  store.close();
  const result = { directory, buildSeconds: (performance.now() - started) / 1000, logEntries, diskMB: directoryBytes(directory) / 1e6 };
  stores.set(kind, result);
  return result;
}

/** The entries a store holds (all of them when it has no `firstLogIndex`, i.e. no snapshots). */
function heldEntries(store: IPersistentState<string>): number {
  return store.currentLogIndex - (store.firstLogIndex ?? 1) + 1;
}

/** Opens `directory`, then reports the time to open and the heap the open store holds (after gc). */
function reopen(directory: string): { ms: number; heapMB: number; logEntries: number; snapshotIndex: number } {
  const before = collectedHeap();
  const started = performance.now();
  const store = FilePersistentState.open<string>(directory);
  const ms = performance.now() - started;
  const heapMB = (collectedHeap() - before) / 1e6;
  const logEntries = heldEntries(store);
  const snapshotIndex = (store as IPersistentState<string>).getSnapshot?.()?.lastIncluded.index ?? 0;
  store.close();
  return { ms, heapMB, logEntries, snapshotIndex };
}

/**
 * S-reopen: `FilePersistentState.open` of a store whose one server committed `entries`
 * entries with compaction (maxLogEntries 10,000), against one without; the two stores are
 * built once per process (their build time is reported), each repetition opens both.
 */
export function sReopen(entries = 1_000_000): Figures {
  const compacted = buildStore('compacted', entries);
  const full = buildStore('full', entries);
  const a = reopen(compacted.directory);
  const b = reopen(full.directory);
  if (a.logEntries > MAX_LOG_ENTRIES + 1 || a.snapshotIndex === 0) throw new Error(`compacted store reopened with ${a.logEntries} entries, snapshot at ${a.snapshotIndex}`);
  if (b.logEntries !== entries) throw new Error(`full store reopened with ${b.logEntries} entries`);
  return {
    entries,
    openMsCompacted: a.ms,
    openMsFull: b.ms,
    heapMBCompacted: a.heapMB,
    heapMBFull: b.heapMB,
    logEntriesCompacted: a.logEntries,
    diskMBCompacted: compacted.diskMB,
    diskMBFull: full.diskMB,
    buildSecondsCompacted: compacted.buildSeconds,
    buildSecondsFull: full.buildSeconds,
  };
}
