import type { InMemoryCluster } from '../cluster';
import type { Server } from '../server';
import type { LogEntry, LogIndex, ServerId, Term } from '../types';
import { checkLinearizability, formatExplanation, type KvOperation } from './linearizability';
import type { SimulatedStateMachine } from './machine';
import type { ClientStep } from './schedule';

/** A client command as the log carries it (JSON text): client, sequence number, operation, key, value. */
export interface KvCommand {
  /** The client. */
  readonly c: number;
  /** The client's sequence number of the operation. */
  readonly s: number;
  /** The operation. */
  readonly op: 'put' | 'append' | 'get';
  /** The key. */
  readonly k: string;
  /** The value put or appended. */
  readonly v?: string;
}

/** What a {@link ClientWorkload} counted. */
export interface WorkloadCounts {
  /** Operations started. */
  started: number;
  /** Operations that completed. */
  ok: number;
  /** Operations dropped for sure (no leader, refused, or a read answered forward or delay). */
  dropped: number;
  /** Writes whose outcome is unknown. */
  unknown: number;
  /** Writes that completed. */
  writesOk: number;
  /** Reads through the log that completed. */
  logReadsOk: number;
  /** Reads through readIndex that completed. */
  indexReadsOk: number;
}

/** Parses a client command, or `undefined` for other data (the schedule's plain proposals, say). */
export function parseKvCommand(data: unknown): KvCommand | undefined {
  if (typeof data !== 'string' || !data.startsWith('{"c":')) return undefined;
  try {
    return JSON.parse(data) as KvCommand;
  } catch {
    return undefined;
  }
}

/**
 * The key-value state machine of the client workload: `put` sets a key, `append`
 * concatenates to it, `get` reads it (and records what it read, by `client:seq`, for the
 * client to pick up when the entry's `committed` event comes); any other data is ignored.
 * Its state (the map, not the reads' answers) is its snapshot, and can be restored.
 */
export class KvStateMachine implements SimulatedStateMachine<string> {
  #values = new Map<string, string>();
  /** What each `get` applied here read, by `client:seq` (`undefined`: the key was absent). */
  readonly reads = new Map<string, string | undefined>();

  /** Applies one entry's data. */
  apply(data: string): void {
    const command = parseKvCommand(data);
    if (command === undefined) return;
    const before = this.#values.get(command.k);
    if (command.op === 'put') this.#values.set(command.k, command.v ?? '');
    else if (command.op === 'append') this.#values.set(command.k, (before ?? '') + (command.v ?? ''));
    else this.reads.set(`${command.c}:${command.s}`, before);
  }

  /** The value of `key` now, `undefined` when absent. */
  get(key: string): string | undefined {
    return this.#values.get(key);
  }

  /** The map as JSON text, keys in order. */
  snapshot(): string {
    return JSON.stringify([...this.#values.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  }

  /** Replaces the map with the one `state` holds. */
  restore(state: string): void {
    this.#values = new Map(JSON.parse(state) as [string, string][]);
  }
}

/** How long (virtual ms) a client waits for its operation before giving its outcome up as unknown. */
export const CLIENT_TIMEOUT_MS = 3000;

/** The keys of the workload. */
export const WORKLOAD_KEYS = ['x', 'y', 'z'] as const;

/** An operation a client waits for. */
interface Pending {
  readonly client: number;
  readonly seq: number;
  readonly op: 'put' | 'append' | 'get' | 'read';
  readonly key: string;
  readonly value?: string;
  readonly invokedAt: number;
  /** For a proposal: the server object that took it, and where. */
  readonly server?: Server<string>;
  readonly index?: LogIndex;
  readonly term?: Term;
}

/**
 * The simulated clients: each has at most one operation outstanding; writes and log reads
 * are proposed to the leader and complete when the proposing Server object's `committed`
 * event shows the entry (at the same index and term); `readIndex` reads complete when the
 * leader answers `ready` (the value is read from its state machine then), and are dropped
 * (no effect, surely) on `forward` or `delay`. An operation still waiting after
 * {@link CLIENT_TIMEOUT_MS}, or whose server crashed, has an unknown outcome. The history
 * is checked with {@link checkLinearizability} by {@link ClientWorkload.check}.
 */
export class ClientWorkload {
  readonly #cluster: InMemoryCluster<string>;
  readonly #clients: number;
  readonly #keys: number;
  readonly #machine: (id: ServerId) => KvStateMachine | undefined;
  readonly #pending = new Map<number, Pending>();
  readonly #history: KvOperation[] = [];
  readonly #watched = new WeakSet<object>();
  #seq = 0;
  /** Operations started, completed, dropped and given up as unknown. */
  readonly counts: WorkloadCounts = { started: 0, ok: 0, dropped: 0, unknown: 0, writesOk: 0, logReadsOk: 0, indexReadsOk: 0 };

  /** `machine(id)` is server `id`'s current KV machine. */
  constructor(cluster: InMemoryCluster<string>, clients: number, keys: number, machine: (id: ServerId) => KvStateMachine | undefined) {
    this.#cluster = cluster;
    this.#clients = Math.max(1, clients);
    this.#keys = Math.max(1, Math.min(keys, WORKLOAD_KEYS.length));
    this.#machine = machine;
  }

  /** The operations recorded so far (completed or unknown). */
  get history(): readonly KvOperation[] {
    return this.#history;
  }

  /** Listens to a (new) Server object's `committed` event; call it for each, after the state machine's own listeners. */
  watch(server: Server<string>): void {
    if (this.#watched.has(server)) return;
    this.#watched.add(server);
    server.on('committed', (entries) => this.#committed(server, entries));
  }

  /** Runs one client step; returns a line for the trace. */
  step(event: ClientStep): string {
    this.expire();
    const client = event.client % this.#clients;
    const key = WORKLOAD_KEYS[event.key % this.#keys] as string;
    if (this.#pending.has(client)) return `client ${client} busy`;
    // A client talks to a server that believes it leads, which may be a deposed leader of an
    // older term cut off by a partition: that is where stale reads would come from.
    const leaders = this.#cluster.servers.filter((s) => s.role === 'leader' && this.#cluster.isRunning(s.id));
    const leader = leaders[(event.client + event.key) % Math.max(1, leaders.length)];
    if (leader === undefined) return `client ${client} ${event.op} ${key}: no leader`;
    const seq = ++this.#seq;
    const invokedAt = this.#cluster.now;
    this.counts.started++;
    if (event.op === 'read') {
      const pending: Pending = { client, seq, op: 'read', key, invokedAt };
      this.#pending.set(client, pending);
      let answer = 'waits';
      leader.readIndex((result) => {
        if (this.#pending.get(client) !== pending) return; // given up already
        this.#pending.delete(client);
        if (result.type !== 'ready') {
          this.counts.dropped++;
          answer = result.type;
          return;
        }
        const machine = this.#machine(leader.id);
        if (machine === undefined || this.#cluster.servers[leader.id] !== leader) {
          this.counts.dropped++;
          return;
        }
        const value = machine.get(key);
        answer = `ready at ${result.index}: ${value === undefined ? 'absent' : JSON.stringify(value)}`;
        this.counts.ok++;
        this.counts.indexReadsOk++;
        this.#history.push({ client, kind: 'get', key, invokedAt, returnedAt: this.#cluster.now, result: value, outcome: 'ok' });
      });
      return `client ${client} readIndex ${key} on ${leader.id}: ${answer}`;
    }
    const value = event.op === 'put' ? `p${seq}` : event.op === 'append' ? `${seq}.` : undefined;
    const command: KvCommand = { c: client, s: seq, op: event.op, k: key, ...(value === undefined ? {} : { v: value }) };
    this.watch(leader as Server<string>);
    const result = leader.propose(JSON.stringify(command));
    if (result.type !== 'appended') {
      this.counts.dropped++;
      return `client ${client} ${event.op} ${key}: ${result.type}`;
    }
    this.#pending.set(client, { client, seq, op: event.op, key, ...(value === undefined ? {} : { value }), invokedAt, server: leader as Server<string>, index: result.index, term: result.term });
    return `client ${client} ${event.op} ${key}${value === undefined ? '' : ` ${value}`} appended at ${result.index} on ${leader.id}`;
  }

  /** Gives up, as unknown, the operations waiting too long or whose server crashed. */
  expire(all = false): void {
    for (const [client, pending] of [...this.#pending]) {
      const server = pending.server;
      const gone = server !== undefined && (this.#cluster.servers[server.id] !== server || !this.#cluster.isRunning(server.id));
      if (all || gone || this.#cluster.now - pending.invokedAt > CLIENT_TIMEOUT_MS) {
        this.#pending.delete(client);
        this.#giveUp(pending);
      }
    }
  }

  /**
   * Ends the workload (every waiting operation becomes unknown) and checks the history:
   * `undefined` when it is linearizable (or the search ran out of budget), else the
   * checker's explanation.
   */
  check(): string | undefined {
    this.expire(true);
    const result = checkLinearizability(this.#history);
    return result.linearizable === false ? formatExplanation(result) : undefined;
  }

  #giveUp(pending: Pending): void {
    if (pending.op === 'read' || pending.op === 'get') {
      this.counts.dropped++;
      return; // a read with an unknown outcome has no effect: the checker drops it
    }
    this.counts.unknown++;
    this.#history.push({ client: pending.client, kind: pending.op, key: pending.key, value: pending.value as string, invokedAt: pending.invokedAt, returnedAt: undefined, outcome: 'unknown' });
  }

  #committed(server: Server<string>, entries: readonly LogEntry<string>[]): void {
    for (const [client, pending] of [...this.#pending]) {
      if (pending.server !== server || pending.index === undefined) continue;
      const entry = entries.find((candidate) => candidate.index === pending.index);
      if (entry === undefined) continue;
      this.#pending.delete(client);
      const command = parseKvCommand(entry.data);
      if (entry.term !== pending.term || command === undefined || command.c !== client || command.s !== pending.seq) {
        // Another entry is committed at its index: the proposal (at that index and term
        // only, as Raft never moves an entry) surely took no effect. Left out of the history.
        this.counts.dropped++;
        continue;
      }
      const returnedAt = this.#cluster.now;
      this.counts.ok++;
      if (pending.op === 'get') {
        const reads = this.#machine(server.id)?.reads;
        const id = `${client}:${pending.seq}`;
        if (reads === undefined || !reads.has(id)) {
          this.counts.ok--;
          this.counts.dropped++;
          continue;
        }
        const read = reads.get(id);
        reads.delete(id);
        this.counts.logReadsOk++;
        this.#history.push({ client, kind: 'get', key: pending.key, invokedAt: pending.invokedAt, returnedAt, result: read, outcome: 'ok' });
      } else {
        this.counts.writesOk++;
        this.#history.push({ client, kind: pending.op as 'put' | 'append', key: pending.key, value: pending.value as string, invokedAt: pending.invokedAt, returnedAt, outcome: 'ok' });
      }
    }
  }
}
