/**
 * The setup of one simulated run and the primitives its steps are made of: the cluster with
 * its checked stores and state machines, the client workload, the held messages, and the
 * ways to deliver, crash, restart and settle. {@link ScheduleRun} drives it one schedule step
 * at a time (with {@link executeStep}); nothing here reaches a Node.js module.
 */
import { InMemoryCluster } from '../cluster';
import type { AddressedMessage } from '../network';
import type { IPersistentState } from '../persistent-state';
import type { Server } from '../server';
import type { LogIndex, ServerId, Term } from '../types';
import { SimulatedDiskState } from './disk';
import { SafetyChecker } from './invariants';
import { DigestStateMachine, type SimulatedStateMachine } from './machine';
import { checkAppliedState, checkCommitIndexes, checkMatchIndexes, logReader, observeServer } from './observe';
import { boundsFor, compactionEnabled, extensionsFor, limitsFor, workloadKeysFor, type RaftExtensions, type SimulationOptions } from './run-options';
import { ClientWorkload, KvStateMachine } from './workload';

/** The virtual time a quiet period advances at once when no message waits. */
export const QUIET_STEP_MS = 10;
/** How long a crashInTransfer step runs the cluster quietly, at most, waiting for a snapshot transfer to crash in. */
export const TRANSFER_WAIT_MS = 300;
/** How many times longer (in elections) a held success reply may wait for its receiver's log to be rewritten. */
export const REWRITE_WAIT_FACTOR = 20;
/** The most messages one {@link RunContext.deliverAll} delivers. */
const DELIVERY_BOUND = 100_000;

/**
 * A message held back by a {@link HoldStep}: delivered once `leaderTerms` reaches `until`,
 * or as soon as its receiver leads a term later than `term` (the moment a reply of an
 * earlier term is most dangerous to a leader).
 */
export interface HeldMessage {
  /** The receiver. */
  readonly to: ServerId;
  /** The network's id of the message. */
  readonly id: number;
  /** The count of leader terms at which it is released. */
  readonly until: number;
  /** The receiver's term when it was held. */
  readonly term: number;
  /** The message, described for the trace. */
  readonly what: string;
  /**
   * For a success AppendEntries reply: the index it acknowledges and the term of the
   * receiver's entry there when it was held. Such a reply waits, past a later leadership of
   * its receiver, until that entry was rewritten (the case where counting it would be wrong).
   */
  readonly acknowledged?: { readonly index: LogIndex; readonly term: Term | undefined };
}

/**
 * One run's cluster, checker and state, and the primitives of its steps (see the module
 * comment). Built by {@link ScheduleRun}; `options.onStart` is not called here.
 */
export class RunContext<T> {
  /** The run's options. */
  readonly options: SimulationOptions<T>;
  /** Number of servers. */
  readonly servers: number;
  /** The data of proposal number `n`. */
  readonly value: (n: number) => T;
  /** The checker every invariant reports to. */
  readonly checker: SafetyChecker<T>;
  /** Whether the servers compact their logs. */
  readonly compaction: boolean;
  /** The Raft options of the run. */
  readonly raft: RaftExtensions;
  /** The cluster ('manual' delivery). */
  readonly cluster: InMemoryCluster<T>;
  /** Each server's store, by id. */
  readonly stores: IPersistentState<T>[] = [];
  /** Each server's digest state machine, by id. */
  readonly digests: (DigestStateMachine<T> | undefined)[] = [];
  /** The user's (or the workload's) state machine of each server, compared at the end. */
  readonly machines: SimulatedStateMachine<T>[] = [];
  /** The client workload (with extensions and clients). */
  readonly workload: ClientWorkload | undefined;
  /** Servers isolated by an isolateLeader step. */
  readonly isolated = new Set<ServerId>();
  /** Messages held by hold steps. */
  readonly held: HeldMessage[] = [];
  /** The receiver of the last message delivered. */
  lastReceiver: ServerId | undefined;
  /** Snapshots installed by followers. */
  snapshotsInstalled = 0;
  /** Schedule steps run. */
  steps = 0;
  /** Messages delivered. */
  delivered = 0;
  readonly #userMachine: (() => SimulatedStateMachine<T>) | undefined;

  /** Builds the cluster for `seed` with `options`, watched by a fresh checker. */
  constructor(seed: number, options: SimulationOptions<T>) {
    this.options = options;
    const servers = (this.servers = options.servers ?? 5);
    this.value = options.value ?? ((n: number) => `v${n}` as unknown as T);
    const checker = (this.checker = new SafetyChecker<T>(options.key));
    const limits = { ...limitsFor(seed), ...options.limits };
    const compaction = (this.compaction = compactionEnabled(options));
    const bounds = compaction ? boundsFor(seed, options.compaction) : undefined;
    const key = options.key ?? ((data: T) => JSON.stringify(data) ?? 'undefined');
    const raft = (this.raft = extensionsFor(seed, options));
    const clients = options.extensions === true ? (options.clients ?? 3) : 0;
    const userMachine = (this.#userMachine = options.stateMachine ?? (clients > 0 ? () => new KvStateMachine() as unknown as SimulatedStateMachine<T> : undefined));
    const cluster = (this.cluster = InMemoryCluster.make<T>(servers, {
      seed,
      ...(options.extensions === true ? raft : {}),
      delivery: 'manual',
      maxEntriesPerMessage: limits.maxEntriesPerMessage,
      maxInflightMessages: limits.maxInflightMessages,
      stateMachine: (id) => {
        const machine = new DigestStateMachine<T>(key, compaction ? userMachine?.() : undefined);
        this.digests[id] = machine;
        return machine;
      },
      ...(bounds ?? {}),
      persistentState: (id) => {
        const store = options.persistentState?.(id, checker) ?? new SimulatedDiskState<T>(id, checker);
        this.stores[id] = store;
        return store as IPersistentState<unknown>;
      },
    }));
    this.workload =
      clients > 0
        ? new ClientWorkload(cluster as unknown as InMemoryCluster<string>, clients, workloadKeysFor(seed), (id) => {
            const read = options.readFrom?.(id, cluster) ?? id;
            const machine = compaction ? this.digests[read]?.inner : this.machines[read];
            return machine instanceof KvStateMachine ? machine : undefined;
          })
        : undefined;
    cluster.servers.forEach((server) => this.watchAll(server));
    checker.watchStores({
      servers,
      durableEntry: (id, index) => {
        const store = this.stores[id] as IPersistentState<T>;
        return store instanceof SimulatedDiskState ? (store as SimulatedDiskState<T>).durableEntry(index) : store.getLogEntry(index);
      },
      durablyCovered: (id, index) => {
        const store = this.stores[id] as IPersistentState<T>;
        const snapshot = store instanceof SimulatedDiskState ? (store as SimulatedDiskState<T>).durableSnapshot : store.getSnapshot?.();
        return snapshot !== undefined && snapshot.lastIncluded.index >= index;
      },
    });
  }

  /** Attaches the checker, the snapshot counter and the state machines to a (re)started server. */
  private watch(server: Server<T>): void {
    observeServer(server, this.checker);
    server.on('snapshotInstalled', () => this.snapshotsInstalled++);
    const factory = this.#userMachine;
    if (this.compaction) {
      const inner = this.digests[server.id]?.inner;
      if (inner !== undefined) this.machines[server.id] = inner;
    } else if (factory !== undefined) {
      const machine = factory();
      this.machines[server.id] = machine;
      server.on('committed', (entries) => entries.forEach((entry) => machine.apply(entry.data)));
    }
  }

  /** {@link watch}, and the workload's watch. */
  private watchAll(server: Server<T>): void {
    this.watch(server);
    this.workload?.watch(server as unknown as Server<string>);
  }

  /** Writes a trace line (with the virtual time) when the options ask for a trace. */
  say(line: string): void {
    this.options.trace?.(`t=${this.cluster.now.toFixed(1).padStart(8)}  ${line}`);
  }

  /** Delivers one waiting message, and checks matchIndex after an AppendEntries reply. */
  deliver(message: AddressedMessage<T>): void {
    this.lastReceiver = message.to;
    this.cluster.network.deliver(message.to, message.id);
    this.delivered++;
    if (message.message.type === 'appendEntriesReply') checkMatchIndexes(this.cluster, this.checker, message.to); // the only message that moves a matchIndex
  }

  /** The checks after each event: commitIndex and lastApplied monotonic, state machines against the committed prefix. */
  checkStep(): void {
    checkCommitIndexes(this.cluster, this.checker);
    checkAppliedState(this.cluster, this.checker, this.digests);
  }

  /** The waiting message at `pick` (in [0, 1)) of the network's order, if any waits. */
  pickMessage(pick: number): AddressedMessage<T> | undefined {
    const count = this.cluster.network.undeliveredCount;
    return count === 0 ? undefined : this.cluster.network.undeliveredAt(Math.min(count - 1, Math.floor(pick * count)));
  }

  /**
   * The message a hold step takes: with `pick` below one half, and while any waits, one of
   * the success AppendEntries replies acknowledging entries its receiver has not committed
   * (entries that may yet be rewritten: the replies whose late arrival is dangerous, see
   * {@link HeldMessage.acknowledged}); otherwise as {@link pickMessage}.
   */
  pickToHold(pick: number): AddressedMessage<T> | undefined {
    if (pick < 0.5) {
      const successes: AddressedMessage<T>[] = [];
      const count = this.cluster.network.undeliveredCount;
      for (let k = 0; k < count; k++) {
        const candidate = this.cluster.network.undeliveredAt(k) as AddressedMessage<T>;
        const message = candidate.message;
        if (message.type !== 'appendEntriesReply' || !message.reply.success) continue;
        const receiver = this.cluster.servers[candidate.to] as Server<T>;
        if (message.reply.matchIndex > receiver.volatileState.commitIndex) successes.push(candidate);
      }
      if (successes.length > 0) return successes[Math.floor(pick * 2 * successes.length)];
    }
    return this.pickMessage(pick);
  }

  /** Delivers waiting messages, oldest first, until none waits (or a violation). */
  deliverAll(): void {
    for (let bound = 0; bound < DELIVERY_BOUND && this.checker.violation === undefined; bound++) {
      const next = this.cluster.network.undeliveredAt(0);
      if (next === undefined) break;
      this.deliver(next);
      this.checkStep();
    }
  }

  /**
   * Runs the cluster quietly for `ms`: every waiting message delivered, then time advanced by
   * {@link QUIET_STEP_MS}, until `until` holds (returns true) or the time is up (false).
   */
  settle(ms: number, until?: () => boolean): boolean {
    const end = this.cluster.now + ms;
    for (;;) {
      this.deliverAll();
      if (this.checker.violation !== undefined) return false;
      if (until?.()) return true;
      if (this.cluster.now >= end) return false;
      this.cluster.advance(Math.min(QUIET_STEP_MS, end - this.cluster.now));
      this.checkStep();
    }
  }

  /** Crashes server `id` if it runs: the cluster stops it (replies it sent may still arrive), its store loses its unsynced writes. */
  crash(id: ServerId, keep: number | undefined): string {
    if (!this.cluster.isRunning(id)) return '';
    this.cluster.crash(id, { keepSentReplies: true });
    const store = this.stores[id];
    if (!(store instanceof SimulatedDiskState)) return '';
    const { lost, kept } = store.crash(keep ?? 0);
    return lost + kept === 0 ? '' : ` (unsynced writes: ${lost} lost, ${kept} kept)`;
  }

  /** Delivers the held messages whose time has come (all of them when `all`). */
  release(all: boolean): void {
    const { cluster, checker, held } = this;
    for (let k = 0; k < held.length && checker.violation === undefined; ) {
      const message = held[k] as HeldMessage;
      const receiver = cluster.servers[message.to] as Server<T>;
      const ack = message.acknowledged;
      const leadsLater =
        receiver.role === 'leader' &&
        receiver.currentTerm > message.term &&
        (ack === undefined || receiver.persistentState.getLogEntry(ack.index)?.term !== ack.term);
      if (!all && !leadsLater && checker.leaderTerms < message.until) {
        k++;
        continue;
      }
      held.splice(k, 1);
      if (!cluster.network.isHeld(message.to, message.id)) continue; // lost in a crash
      this.lastReceiver = message.to;
      cluster.network.deliver(message.to, message.id);
      this.delivered++;
      checkMatchIndexes(cluster, checker, message.to);
      this.say(`release held #${message.id} ${message.what}`);
      this.checkStep();
    }
  }

  /**
   * The server a crash or restart step takes instead of `id`: `id` itself, unless a held
   * success reply waits for it (a crash would lose the reply, and with it the chance of the
   * late arrival it was held for), then the next server in id order that none waits for
   * (`id` when every server has one). So crashes stay as frequent.
   */
  spare(id: ServerId): ServerId {
    const waitedFor = (server: ServerId): boolean => this.held.some((message) => message.to === server && message.acknowledged !== undefined);
    for (let k = 0; k < this.servers; k++) {
      const candidate = (id + k) % this.servers;
      if (!waitedFor(candidate)) return candidate;
    }
    return id;
  }

  /** Restarts server `id` (on its store) and watches it again. */
  restart(id: ServerId): void {
    this.cluster.restart(id);
    this.options.onRestart?.(id, this.stores[id] as IPersistentState<T>);
    const server = this.cluster.servers[id] as Server<T>;
    this.checker.restarted(id, logReader(server.persistentState));
    this.checker.restartedAt(id, server.volatileState.lastApplied, server.persistentState.getSnapshot?.()?.lastIncluded.index ?? 0);
    this.watchAll(server);
  }
}
