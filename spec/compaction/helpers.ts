// Shared setup for the log-compaction tests: a recording StateMachine whose snapshot is the
// JSON of everything it applied, one Server driven by hand (reusing the hardening Solo),
// hand-built InstallSnapshot messages, and a driver for manual delivery in an
// InMemoryCluster. Everything runs on virtual clocks with seeded randomness; nothing sleeps.

import {
  InMemoryCluster,
  InMemoryPersistentState,
  Server,
  seededRandom,
  type AppendEntriesReply,
  type IPersistentState,
  type InMemoryClusterOptions,
  type InstallSnapshotMessage,
  type InstallSnapshotReply,
  type LogEntry,
  type LogIndex,
  type LogPosition,
  type Message,
  type ServerId,
  type StateMachine,
  type Term,
} from '../../lib';
import { appendEntries, dataFor, type Data, type ExtraOptions, type Sent } from '../hardening/helpers';

export { dataFor, type Data };

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Encodes a list of applied data as snapshot bytes. */
export function encodeItems(items: readonly string[]): Uint8Array {
  return encoder.encode(JSON.stringify(items));
}

/** Decodes snapshot bytes written by {@link encodeItems} (throws on anything else). */
export function decodeItems(data: Uint8Array): string[] {
  const parsed: unknown = JSON.parse(decoder.decode(data));
  if (!Array.isArray(parsed) || !parsed.every((x) => typeof x === 'string')) throw new Error('not a snapshot of this machine');
  return parsed as string[];
}

/**
 * A state machine whose state is the list of the data it applied, in order. Every call is
 * journaled in `calls` (shared with a test's own listeners when given).
 */
export class ListMachine implements StateMachine<Data> {
  items: string[] = [];
  /** Every entry `apply` was given, in call order (across restores). */
  readonly applied: LogEntry<Data>[] = [];
  readonly restored: Uint8Array[] = [];
  snapshots = 0;

  constructor(readonly calls: string[] = []) {}

  apply(entry: LogEntry<Data>): void {
    this.applied.push({ index: entry.index, term: entry.term, data: entry.data });
    this.items.push(entry.data);
    this.calls.push(`apply ${entry.index}`);
  }

  takeSnapshot(): Uint8Array {
    this.snapshots++;
    this.calls.push(`takeSnapshot ${this.items.length}`);
    return encodeItems(this.items);
  }

  restoreSnapshot(data: Uint8Array): void {
    this.restored.push(data.slice());
    this.items = decodeItems(data);
    this.calls.push(`restoreSnapshot ${this.items.length}`);
  }
}

/**
 * One Server driven by hand (like the hardening Solo) with a fresh ListMachine per Server
 * object, and its `committed` and `snapshotInstalled` events recorded. `calls` journals the
 * machine's calls and the events in order, across restarts.
 */
export class MachineSolo {
  now = 0;
  readonly sent: Sent[] = [];
  readonly calls: string[] = [];
  machine: ListMachine;
  committedEntries: LogEntry<Data>[] = [];
  installed: { lastIncluded: LogPosition; data: Uint8Array }[] = [];
  server: Server<Data>;

  constructor(
    readonly id: ServerId,
    readonly clusterSize: number,
    readonly state: InMemoryPersistentState<Data> | IPersistentState<Data> = new InMemoryPersistentState<Data>(),
    readonly extra: Omit<ExtraOptions, 'stateMachine'> = {},
    readonly withMachine = true,
  ) {
    this.machine = new ListMachine(this.calls);
    this.server = this.#build();
  }

  /** A new Server object (and a new machine) over the same store: the server restarted. */
  restart(): Server<Data> {
    this.server.removeAllListeners();
    this.machine = new ListMachine(this.calls);
    this.server = this.#build();
    return this.server;
  }

  #build(): Server<Data> {
    this.committedEntries = [];
    this.installed = [];
    const server = new Server<Data>({
      ...this.extra,
      ...(this.withMachine ? { stateMachine: this.machine } : {}),
      id: this.id,
      clusterSize: this.clusterSize,
      persistentState: this.state,
      clock: () => this.now,
      random: seededRandom(7),
      messageChannel: (to, message) => void this.sent.push({ to, message }),
    });
    server.on('committed', (es) => {
      for (const e of es) this.committedEntries.push({ index: e.index, term: e.term, data: e.data });
      this.calls.push(`committed ${es.map((e) => e.index).join(',')}`);
    });
    server.on('snapshotInstalled', (s) => {
      this.installed.push({ lastIncluded: { ...s.lastIncluded }, data: s.data.slice() });
      this.calls.push(`snapshotInstalled ${s.lastIncluded.index}`);
    });
    return server;
  }

  /** Removes and returns everything sent so far. */
  take(): Sent[] {
    return this.sent.splice(0, this.sent.length);
  }

  /** Starts an election and grants it the votes of `voters`; throws unless it became leader. Clears `sent`. */
  elect(voters: readonly ServerId[]): void {
    this.take();
    this.server.triggerTimeout();
    const term = this.server.currentTerm;
    for (const { to, message } of this.take()) {
      if (message.type === 'requestVote' && voters.includes(to)) message.replyChannel({ voter: to, voterTerm: term, voteGranted: true });
    }
    if (this.server.role !== 'leader') throw new Error(`server ${this.id} did not become leader`);
  }

  /** Delivers an AppendEntries from `leaderId` and returns its replies. */
  append(args: { term: Term; leaderId: ServerId; prev: LogPosition; entries?: readonly LogEntry<Data>[]; commit?: LogIndex }): AppendEntriesReply[] {
    const replies: AppendEntriesReply[] = [];
    this.server.processMessage(appendEntries(args, replies));
    return replies;
  }

  /** Delivers a hand-built InstallSnapshot and returns its replies. */
  install(args: { term: Term; leaderId: ServerId; last: LogPosition; offset?: number; data: Uint8Array; done?: boolean }): InstallSnapshotReply[] {
    const replies: InstallSnapshotReply[] = [];
    this.server.processMessage(installSnapshotMessage(args, replies));
    return replies;
  }

  /** What this server observably holds: term, volatile state, snapshot, log, machine. */
  observable(): unknown {
    const log: unknown[] = [];
    const first = (this.state as { firstLogIndex?: number }).firstLogIndex ?? 1;
    for (let i = first; i <= this.state.currentLogIndex; i++) log.push(this.state.getLogEntry(i));
    return {
      term: this.server.currentTerm,
      volatile: this.server.volatileState,
      snapshot: this.server.snapshot,
      stored: (this.state as { getSnapshot?: () => unknown }).getSnapshot?.(),
      currentLogIndex: this.state.currentLogIndex,
      first,
      log,
      items: [...this.machine.items],
      committed: this.committedEntries.length,
      installed: this.installed.length,
    };
  }
}

/** A hand-built InstallSnapshot whose replies are recorded in `replies`. */
export function installSnapshotMessage(
  args: { term: Term; leaderId: ServerId; last: LogPosition; offset?: number; data: Uint8Array; done?: boolean },
  replies: InstallSnapshotReply[],
): InstallSnapshotMessage {
  return {
    type: 'installSnapshot',
    leaderTerm: args.term,
    leaderId: args.leaderId,
    lastIncluded: args.last,
    offset: args.offset ?? 0,
    data: args.data,
    done: args.done ?? true,
    replyChannel: (reply) => void replies.push(reply),
  };
}

/** Entries in the hardening data convention, from `firstIndex`. */
export function entriesAt(firstIndex: LogIndex, terms: readonly Term[]): LogEntry<Data>[] {
  return terms.map((term, k) => ({ index: firstIndex + k, term, data: dataFor(firstIndex + k, term) }));
}

/** A cluster whose servers each get a fresh ListMachine at every (re)start. */
export function machineCluster(size: number, options: Omit<InMemoryClusterOptions<Data>, 'stateMachine'> = {}): InMemoryCluster<Data> {
  return InMemoryCluster.make<Data>(size, { seed: 3, ...options, stateMachine: () => new ListMachine() });
}

/** The ListMachine of server `id`. */
export function machineOf(cluster: InMemoryCluster<Data>, id: ServerId): ListMachine {
  const machine = cluster.stateMachine(id);
  if (!(machine instanceof ListMachine)) throw new Error(`server ${id} has no ListMachine`);
  return machine;
}

/** Elects a leader in an immediate-delivery cluster (throws if none within 10 s of virtual time). */
export function electLeader(cluster: InMemoryCluster<Data>): ServerId {
  if (!cluster.runUntil(() => cluster.leader() !== undefined, 10_000)) throw new Error('no leader elected');
  return (cluster.leader() as { id: ServerId }).id;
}

/** Proposes `count` items to the current leader, named `prefix-k`. */
export function proposeMany(cluster: InMemoryCluster<Data>, count: number, prefix = 'x'): void {
  for (let k = 0; k < count; k++) {
    const result = cluster.propose(`${prefix}-${k}`);
    if (result.type !== 'appended') throw new Error(`proposal ${k} was not appended: ${result.type}`);
  }
}

/** Whether every running server listed has applied up to the leader's commitIndex. */
export function caughtUp(cluster: InMemoryCluster<Data>, ids: readonly ServerId[]): boolean {
  const leader = cluster.leader();
  if (leader === undefined) return false;
  const target = leader.volatileState.commitIndex;
  return ids.every((id) => (cluster.servers[id] as { volatileState: { lastApplied: number } }).volatileState.lastApplied === target);
}

/**
 * In manual delivery: delivers the oldest waiting message or reply, one at a time, until
 * none waits (or `maxSteps`). `drop(to, message)` chooses messages to lose instead.
 */
export function pumpManual(
  cluster: InMemoryCluster<Data>,
  drop: (to: ServerId, message: Message<Data> | { type: string }) => boolean = () => false,
  maxSteps = 100_000,
): number {
  let steps = 0;
  for (;;) {
    const next = cluster.network.allUndelivered()[0];
    if (next === undefined) return steps;
    if (++steps > maxSteps) throw new Error('pumpManual: too many deliveries');
    if (drop(next.to, next.message)) cluster.network.drop(next.to, next.id);
    else cluster.network.deliver(next.to, next.id);
  }
}

/**
 * Answers, as follower `follower` with a matching log would, every AppendEntries `solo`
 * sent it, and what those answers make `solo` send, until it sends it nothing more. Other
 * messages are kept in `solo.sent`.
 */
export function ackFrom(solo: MachineSolo, follower: ServerId, maxRounds = 1_000): void {
  for (let round = 0; round < maxRounds; round++) {
    const mine = solo.sent.filter((s) => s.to === follower && s.message.type === 'appendEntries');
    if (mine.length === 0) return;
    solo.sent.splice(0, solo.sent.length, ...solo.sent.filter((s) => !mine.includes(s)));
    for (const { message } of mine) {
      if (message.type !== 'appendEntries') continue;
      message.replyChannel({ follower, followerTerm: message.leaderTerm, success: true, matchIndex: message.prevLogEntry.index + message.entries.length });
    }
  }
  throw new Error('ackFrom: too many rounds');
}
