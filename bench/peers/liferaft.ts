/**
 * W7 peer benchmark: @markwylde/liferaft 1.4.0 (a fork of unshiftio/liferaft), three nodes in
 * this process, wired through an in-memory transport (each node's `write(packet, fn)` hands
 * the packet to the target node's `data` event on a later turn of the event loop, by
 * reference, no serialization; replies travel back the same way).
 *
 * Log storage: liferaft's own `Log` (levelup + encoding-down) over either
 *  - `memdown` (in-memory, leveldown-compatible; the default here), or
 *  - `leveldown` (LevelDB on disk, liferaft's default), one directory per node under a
 *    fresh `os.tmpdir()` mkdtemp directory that is removed afterwards.
 *
 * Jobs:
 *  - W1 serial: one `command()` per entry on the leader, each awaited until the leader emits
 *    `commit` for it; committed entries per second.
 *  - W2 batched: liferaft has no batch API. Batches of `batchSize` (100) entries; per batch,
 *    the leader is given all of them before any is committed, then the harness waits until
 *    the leader has committed the batch; the clock stops when all three nodes have committed
 *    every entry. How the batch is handed over is `w2Mode`:
 *      'pipelined'     `await command(x)` one after the other (each resolves after the local
 *                      append and the send, not after commit), then wait for the batch;
 *      'concurrent'    `Promise.all` of 100 `command()` calls (what the brief asks when there
 *                      is no batch API; liferaft computes the new index from the last entry
 *                      read asynchronously, so concurrent calls collide; reported as such);
 *      'array-command' one `command()` whose payload is the array of 100 strings: ONE
 *                      liferaft log entry carrying 100 application entries (a client-side
 *                      batch, not a Raft-level one; reported only as a labelled alternative).
 *
 * Every wait has a timeout, every loop is bounded by `n`, the whole run by `maxWallMs`; all
 * nodes are ended, their databases closed (and on-disk directories deleted) at the end.
 *
 * Run: npx ts-node --transpile-only bench/peers/liferaft.ts [--n1 N] [--n2 N] [--reps R]
 *        [--storage memdown|leveldown|both] [--w2-modes pipelined,concurrent,array-command]
 *        [--delivery setImmediate|microtask]
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import LifeRaft = require('@markwylde/liferaft');
import Log = require('@markwylde/liferaft/log');
import memdown = require('memdown');
import leveldown = require('leveldown');

export type PeerStorage = 'memdown' | 'leveldown';
export type PeerW2Mode = 'pipelined' | 'concurrent' | 'array-command';

export interface PeerOptions {
  /** Log storage behind liferaft's Log. @default 'memdown' */
  storage?: PeerStorage;
  /** How a W2 batch is handed to the leader (see the file comment). @default 'pipelined' */
  w2Mode?: PeerW2Mode;
  /** W2 batch size. @default 100 */
  batchSize?: number;
  /** Longest wait for any one awaited step (one commit, one batch, the final catch-up). @default 15000 */
  stepTimeoutMs?: number;
  /** Bound on the measured loop as a whole. @default 600000 */
  maxWallMs?: number;
  /** liferaft heartbeat interval, ms. @default 50 (liferaft's default) */
  heartbeatMs?: number;
  /** liferaft election timeout range, ms. @default [1000, 2000] (liferaft's: 150-300) */
  electionMs?: [number, number];
  /**
   * When the in-memory transport delivers a packet (and a reply): on a later macrotask
   * (`setImmediate`, like a socket would) or as a microtask. @default 'setImmediate'
   */
  delivery?: 'setImmediate' | 'microtask';
}

export interface PeerResult {
  peer: string;
  workload: 'W1' | 'W2';
  /** Application entries committed per second (the rate the brief asks for). */
  entriesPerSecond: number;
  /** Application entries proposed; on failure, how many the leader had committed. */
  n: number;
  wallMs: number;
  storage: PeerStorage;
  mode: string;
  /** Whether the job completed (every awaited commit happened). */
  ok: boolean;
  notes: string;
}

const PEER = '@markwylde/liferaft@1.4.0';

/** A 16-byte ASCII string, unique per i. */
function entryText(i: number): string {
  return 'e' + String(i).padStart(15, '0');
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

interface Waiter {
  cond: () => boolean;
  resolve: () => void;
  timer: NodeJS.Timeout;
}

/** Three liferaft nodes in this process with an in-memory transport. */
class Cluster {
  readonly nodes: LifeRaft[] = [];
  /** Distinct application entries each node has emitted `commit` for. */
  readonly committed: Set<string>[] = [];
  /** `commit` events per node (duplicates included). */
  readonly commitEvents: number[] = [];
  readonly errorCounts = new Map<string, number>();
  messages = 0;
  rejections = 0;
  lastRejection = '';
  readonly #byAddress = new Map<string, LifeRaft>();
  readonly #stopped = new Set<string>();
  readonly #waiters = new Set<Waiter>();
  readonly #dir: string | undefined;
  readonly #defer: (fn: () => void) => void;
  readonly #onRejection = (reason: unknown): void => {
    this.rejections++;
    this.lastRejection = reason instanceof Error ? reason.message : String(reason);
  };

  constructor(readonly size: number, readonly storage: PeerStorage, options: PeerOptions) {
    // liferaft's async handlers let promise rejections go unhandled (e.g. a db read racing a
    // shutdown); count them rather than letting Node end the process. Removed in close().
    process.on('unhandledRejection', this.#onRejection);
    this.#defer = options.delivery === 'microtask' ? queueMicrotask : (fn) => void setImmediate(fn);
    this.#dir = storage === 'leveldown' ? fs.mkdtempSync(path.join(os.tmpdir(), 'liferaft-bench-')) : undefined;
    const [electionMin, electionMax] = options.electionMs ?? [1000, 2000];
    const addresses = Array.from({ length: size }, (_, i) => `n${i}`);
    for (const address of addresses) {
      const raftOptions: LifeRaft.Options = {
        address,
        Log,
        adapter: storage === 'leveldown' ? leveldown : memdown,
        path: this.#dir === undefined ? address : path.join(this.#dir, address),
        heartbeat: options.heartbeatMs ?? 50,
        'election min': electionMin,
        'election max': electionMax,
      };
      const node = new LifeRaft(raftOptions);
      const index = this.nodes.length;
      const set = new Set<string>();
      this.nodes.push(node);
      this.committed.push(set);
      this.commitEvents.push(0);
      this.#byAddress.set(address, node);
      node.on('commit', (command: unknown) => {
        this.commitEvents[index]!++;
        if (typeof command === 'string') set.add(command);
        else if (Array.isArray(command)) for (const c of command) set.add(String(c));
        this.#check();
      });
      node.on('error', (error: unknown) => {
        const key = (error instanceof Error ? error.message : String(error)).replace(/`\d+`.*$/, '`N`…').slice(0, 60);
        this.errorCounts.set(key, (this.errorCounts.get(key) ?? 0) + 1);
      });
    }
    for (const node of this.nodes) {
      for (const address of addresses) {
        if (address !== node.address) node.join(address, (packet, fn) => this.#send(node.address, address, packet, fn));
      }
    }
  }

  /** The in-memory transport: deliver later (see `delivery`); the reply comes back the same way. */
  #send(from: string, to: string, packet: LifeRaft.Packet, fn: (err?: Error, reply?: LifeRaft.Packet) => void): void {
    this.messages++;
    this.#defer(() => {
      const target = this.#byAddress.get(to);
      if (target === undefined || this.#stopped.has(to)) return;
      target.emit('data', packet, (reply?: LifeRaft.Packet) => {
        this.#defer(() => {
          if (!this.#stopped.has(from)) fn(undefined, reply);
        });
      });
    });
  }

  #check(): void {
    for (const w of this.#waiters) {
      if (w.cond()) {
        clearTimeout(w.timer);
        this.#waiters.delete(w);
        w.resolve();
      }
    }
  }

  /** Resolves when `cond()` holds (checked at every commit event), rejects after `timeoutMs`. */
  waitUntil(cond: () => boolean, timeoutMs: number, label: string): Promise<void> {
    if (cond()) return Promise.resolve();
    const p = new Promise<void>((resolve, reject) => {
      const w: Waiter = {
        cond,
        resolve,
        timer: setTimeout(() => {
          this.#waiters.delete(w);
          reject(new Error(`timed out after ${timeoutMs} ms waiting for ${label}`));
        }, timeoutMs),
      };
      this.#waiters.add(w);
    });
    p.catch(() => {}); // the caller awaits it; this only stops an early rejection counting as unhandled
    return p;
  }

  leaderIndex(): number {
    const leaders = this.nodes.filter((n) => n.state === LifeRaft.LEADER);
    if (leaders.length !== 1) return -1;
    const leader = leaders[0]!;
    const ready = this.nodes.every((n) => n === leader || (n.state === LifeRaft.FOLLOWER && n.leader === leader.address));
    return ready ? this.nodes.indexOf(leader) : -1;
  }

  /** Node 0 stands for election at once (as liferaft's own tests do); polls, bounded. */
  async electLeader(timeoutMs: number): Promise<number> {
    void this.nodes[0]!.promote();
    for (let waited = 0; waited <= timeoutMs; waited += 5) {
      const i = this.leaderIndex();
      if (i >= 0) return i;
      await sleep(5);
    }
    throw new Error(`no leader known to all ${this.size} nodes after ${timeoutMs} ms`);
  }

  summary(): string {
    const errors = [...this.errorCounts].map(([k, v]) => `${v}× "${k}"`).join('; ') || 'none';
    const logs = this.nodes.map((n, i) => `n${i}: distinct committed ${this.committed[i]!.size}, commit events ${this.commitEvents[i]}, log.committedIndex ${n.log?.committedIndex ?? '?'}`).join(' | ');
    const rej = this.rejections > 0 ? `; unhandled rejections ${this.rejections} (last: ${this.lastRejection})` : '';
    return `${logs}; messages ${this.messages}; 'error' events: ${errors}${rej}`;
  }

  /**
   * Diagnosis after a failed catch-up: for each node that did not emit `commit` for every
   * entry, how many of log indexes 1..upTo are absent from its log, or present but not
   * marked committed. Bounded by `upTo` reads per node.
   */
  async diagnoseGaps(n: number, upTo: number): Promise<string> {
    const parts: string[] = [];
    for (let i = 0; i < this.nodes.length; i++) {
      const log = this.nodes[i]!.log;
      if (log === null || this.committed[i]!.size >= n) continue;
      let absent = 0;
      let uncommitted = 0;
      const examples: number[] = [];
      for (let index = 1; index <= upTo; index++) {
        const entry = await log.get(index).catch(() => undefined);
        if (entry === undefined) absent++;
        else if (!entry.committed) uncommitted++;
        else continue;
        if (examples.length < 5) examples.push(index);
      }
      if (absent + uncommitted === 0) parts.push(`n${i}: log indexes 1..${upTo} all present and committed`);
      else parts.push(`n${i}: of log indexes 1..${upTo}, ${absent} absent and ${uncommitted} present but uncommitted while log.committedIndex is ${log.committedIndex} (e.g. ${examples.join(', ')})`);
    }
    return parts.join(' | ');
  }

  async lastLogIndex(i: number): Promise<number | undefined> {
    const log = this.nodes[i]!.log;
    return log === null ? undefined : (await log.getLastInfo()).index;
  }

  /** Ends every node, waits (bounded) for their databases to close, deletes on-disk logs. */
  async close(): Promise<void> {
    for (const w of this.#waiters) clearTimeout(w.timer);
    this.#waiters.clear();
    const dbs = this.nodes.map((n) => n.log?.db);
    for (const node of this.nodes) {
      this.#stopped.add(node.address);
      node.end();
    }
    await Promise.all(
      dbs.map((db) =>
        db === undefined || db.isClosed()
          ? Promise.resolve()
          : new Promise<void>((resolve) => {
              const timer = setTimeout(resolve, 5000);
              db.once('closed', () => {
                clearTimeout(timer);
                resolve();
              });
            }),
      ),
    );
    await sleep(100); // in-flight liferaft handlers finish (or fail on the closed db) while counted
    process.off('unhandledRejection', this.#onRejection);
    if (this.#dir !== undefined) fs.rmSync(this.#dir, { recursive: true, force: true });
  }
}

function elapsedMs(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e6;
}

/**
 * W1 serial: `n` proposals of 16-byte strings on a 3-node cluster, one `command()` per entry,
 * each awaited until the leader emits `commit` for it. Rate = n / wall time of that loop.
 */
export async function runPeerW1(n: number, options: PeerOptions = {}): Promise<PeerResult> {
  const storage = options.storage ?? 'memdown';
  const stepTimeoutMs = options.stepTimeoutMs ?? 15_000;
  const maxWallMs = options.maxWallMs ?? 600_000;
  const cluster = new Cluster(3, storage, options);
  let ok = true;
  let failure = '';
  let done = 0;
  let wallMs = 0;
  let followerNote = '';
  try {
    const li = await cluster.electLeader(10_000);
    const leader = cluster.nodes[li]!;
    const set = cluster.committed[li]!;
    const start = process.hrtime.bigint();
    for (let i = 0; i < n; i++) {
      if (elapsedMs(start) > maxWallMs) throw new Error(`stopped after maxWallMs ${maxWallMs} ms at entry ${i}`);
      const text = entryText(i);
      const committed = cluster.waitUntil(() => set.has(text), stepTimeoutMs, `the leader's commit of entry ${i}`);
      await leader.command(text);
      await committed;
      done = i + 1;
    }
    wallMs = elapsedMs(start);
    // Not part of W1's figure: do the followers catch up (liferaft tells them the commit
    // index in the next append or heartbeat)?
    const all = (): boolean => cluster.committed.every((s) => s.size >= n);
    try {
      await cluster.waitUntil(all, 3000, 'followers');
      followerNote = 'followers caught up within 3 s after the loop';
    } catch {
      followerNote = 'followers had NOT all committed every entry 3 s after the loop';
    }
  } catch (error) {
    ok = false;
    failure = error instanceof Error ? error.message : String(error);
  }
  const lastIndex = await cluster.lastLogIndex(cluster.leaderIndex() >= 0 ? cluster.leaderIndex() : 0).catch(() => undefined);
  const summary = cluster.summary();
  await cluster.close();
  return {
    peer: PEER,
    workload: 'W1',
    entriesPerSecond: ok ? n / (wallMs / 1000) : 0,
    n: ok ? n : done,
    wallMs,
    storage,
    mode: 'serial',
    ok,
    notes: [
      `in-memory transport (${options.delivery ?? 'setImmediate'} delivery, by reference); log storage ${storage === 'memdown' ? 'memdown (in memory)' : 'leveldown on disk under os.tmpdir()'}`,
      ok ? '' : `FAILED after ${done} of ${n} entries: ${failure}`,
      followerNote,
      `leader's last log index ${lastIndex ?? '?'}`,
      summary,
    ].filter((s) => s !== '').join('; '),
  };
}

/**
 * W2 batched: `n` proposals in batches of `batchSize` (100); per batch the leader is given
 * the whole batch (see `w2Mode`), then the harness waits for the leader to commit it; the
 * clock stops when all three nodes have committed every entry. Rate = n / wall time.
 */
export async function runPeerW2(n: number, options: PeerOptions = {}): Promise<PeerResult> {
  const storage = options.storage ?? 'memdown';
  const mode = options.w2Mode ?? 'pipelined';
  const batchSize = options.batchSize ?? 100;
  const stepTimeoutMs = options.stepTimeoutMs ?? 15_000;
  const maxWallMs = options.maxWallMs ?? 600_000;
  const cluster = new Cluster(3, storage, options);
  let ok = true;
  let failure = '';
  let done = 0;
  let wallMs = 0;
  let leaderDoneMs = 0;
  try {
    const li = await cluster.electLeader(10_000);
    const leader = cluster.nodes[li]!;
    const set = cluster.committed[li]!;
    const start = process.hrtime.bigint();
    for (let b = 0; b < n; b += batchSize) {
      if (elapsedMs(start) > maxWallMs) throw new Error(`stopped after maxWallMs ${maxWallMs} ms at entry ${b}`);
      const texts: string[] = [];
      for (let i = b; i < Math.min(n, b + batchSize); i++) texts.push(entryText(i));
      const target = b + texts.length;
      // The sets hold only this run's distinct texts, so a size is a count of committed entries.
      const committed = cluster.waitUntil(() => set.size >= target, stepTimeoutMs, `the leader's commit of entries ${b}..${target - 1}`);
      if (mode === 'pipelined') {
        for (const text of texts) await leader.command(text);
      } else if (mode === 'concurrent') {
        await Promise.all(texts.map((text) => leader.command(text)));
      } else {
        await leader.command(texts);
      }
      await committed;
      done = target;
    }
    leaderDoneMs = elapsedMs(start);
    await cluster.waitUntil(() => cluster.committed.every((s) => s.size >= n), stepTimeoutMs, 'all three nodes to commit every entry');
    wallMs = elapsedMs(start);
  } catch (error) {
    ok = false;
    failure = error instanceof Error ? error.message : String(error);
  }
  const leaderIdx = cluster.leaderIndex() >= 0 ? cluster.leaderIndex() : 0;
  const lastIndex = await cluster.lastLogIndex(leaderIdx).catch(() => undefined);
  const gaps = !ok && lastIndex !== undefined ? await cluster.diagnoseGaps(n, lastIndex).catch((e: unknown) => String(e)) : '';
  const summary = cluster.summary();
  await cluster.close();
  const modeNote =
    mode === 'pipelined'
      ? 'no batch API: each batch is 100 command() calls awaited one after the other (each resolves on local append + send, not commit), then the batch is awaited'
      : mode === 'concurrent'
        ? 'no batch API: each batch is 100 concurrent command() calls (Promise.all), then the batch is awaited'
        : 'CLIENT-SIDE batch: each batch is ONE liferaft log entry whose command is an array of 100 strings (not comparable to Raft-level batching)';
  return {
    peer: PEER,
    workload: 'W2',
    entriesPerSecond: ok ? n / (wallMs / 1000) : 0,
    n: ok ? n : done,
    wallMs,
    storage,
    mode,
    ok,
    notes: [
      `in-memory transport (${options.delivery ?? 'setImmediate'} delivery, by reference); log storage ${storage === 'memdown' ? 'memdown (in memory)' : 'leveldown on disk under os.tmpdir()'}`,
      modeNote,
      leaderDoneMs > 0
        ? `leader had committed every entry at ${leaderDoneMs.toFixed(0)} ms (leader-only rate ${(n / (leaderDoneMs / 1000)).toFixed(0)} entries/s)`
        : `the leader committed ${done} of ${n} entries`,
      ok ? '' : `FAILED: ${failure}`,
      gaps,
      `leader's last log index ${lastIndex ?? '?'}`,
      summary,
    ].filter((s) => s !== '').join('; '),
  };
}

function argValue(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

async function main(): Promise<void> {
  const n1 = Number(argValue('--n1') ?? 2000);
  const n2 = Number(argValue('--n2') ?? 2000);
  const reps = Number(argValue('--reps') ?? 2);
  const storageArg = argValue('--storage') ?? 'memdown';
  const storages: PeerStorage[] = storageArg === 'both' ? ['memdown', 'leveldown'] : [storageArg as PeerStorage];
  const modes = (argValue('--w2-modes') ?? 'pipelined').split(',') as PeerW2Mode[];
  const delivery = argValue('--delivery') === 'microtask' ? 'microtask' : 'setImmediate';
  const results: PeerResult[] = [];
  for (const storage of storages) {
    for (let r = 0; r < reps; r++) {
      if (n1 > 0) {
        const res = await runPeerW1(n1, { storage, delivery });
        results.push(res);
        process.stderr.write(`W1 ${storage} ${delivery} rep ${r + 1}: ${res.ok ? res.entriesPerSecond.toFixed(0) + ' entries/s' : 'FAILED'} (${res.wallMs.toFixed(0)} ms)\n`);
      }
      if (n2 > 0) {
        for (const w2Mode of modes) {
          const res = await runPeerW2(n2, { storage, w2Mode, delivery });
          results.push(res);
          process.stderr.write(`W2 ${storage} ${delivery} ${w2Mode} rep ${r + 1}: ${res.ok ? res.entriesPerSecond.toFixed(0) + ' entries/s' : 'FAILED'} (${res.wallMs.toFixed(0)} ms)\n`);
        }
      }
    }
  }
  console.log(JSON.stringify({ peer: PEER, node: process.version, results }, null, 2));
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
}
