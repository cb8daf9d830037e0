import { InMemoryCluster } from '../cluster';
import type { Message, Reply } from '../messages';
import type { AddressedMessage } from '../network';
import type { IPersistentState } from '../persistent-state';
import type { Server } from '../server';
import { deriveSeed, seededRandom } from '../random';
import type { LogIndex, ServerId, Term } from '../types';
import { SimulatedDiskState } from './disk';
import { SafetyChecker, type Violation } from './invariants';
import { DigestStateMachine, type SimulatedStateMachine } from './machine';
import { checkAppliedState, checkCommitIndexes, checkMatchIndexes, logReader, observeServer } from './observe';
import { generateSchedule, type FaultWeights, type SimulationEvent } from './schedule';
import { ClientWorkload, KvStateMachine } from './workload';

export type { SimulatedStateMachine } from './machine';

/** The compaction bounds a simulated cluster runs with (see the `ServerOptions` of the same names). */
export interface CompactionBounds {
  /** Entries the log may hold before the server compacts it. */
  readonly maxLogEntries: number;
  /** Entries kept before the snapshot's end after a compaction. */
  readonly trailingLogEntries: number;
  /** InstallSnapshot data per message. */
  readonly maxSnapshotChunkBytes: number;
}

/**
 * The compaction bounds {@link runSchedule} uses for `seed` unless told otherwise: drawn from
 * the seed, `maxLogEntries` in [3, 40], `trailingLogEntries` in [0, maxLogEntries - 1], and
 * `maxSnapshotChunkBytes` in [1, 16] (the simulator's snapshots are some 30 to 60 bytes,
 * so a transfer takes several chunks).
 */
export function compactionFor(seed: number): CompactionBounds {
  const random = seededRandom(deriveSeed(seed, 0xc0a7));
  const maxLogEntries = 3 + Math.floor(random() ** 2 * 38); // small bounds (frequent compaction) more often
  // A third of the seeds keep no trailing entries, so followers need snapshots more often;
  // a quarter send whole snapshots in one chunk, so a late or repeated one is complete.
  const trailingLogEntries = random() < 1 / 3 ? 0 : Math.floor(random() * maxLogEntries);
  const maxSnapshotChunkBytes = random() < 1 / 4 ? 1_048_576 : 1 + Math.floor(random() * 16);
  return { maxLogEntries, trailingLogEntries, maxSnapshotChunkBytes };
}

/** What a simulation runs: the cluster, the data, the state machine, the limits. */
export interface SimulationOptions<T> {
  /** Number of servers. @default 5 */
  readonly servers?: number;
  /** Steps in the fault phase. @default 1000 */
  readonly length?: number;
  /** Relative weights of the kinds of fault. */
  readonly weights?: Partial<FaultWeights>;
  /** The data of proposal number `n` (n >= 1). @default `v${n}` */
  readonly value?: (n: number) => T;
  /** How to compare data. @default JSON text */
  readonly key?: (data: T) => string;
  /**
   * A state machine to run on every server; checked to agree at the end. With compaction
   * on, it must have `restore` (it is then applied, snapshotted and restored through the
   * server's `stateMachine`); one without `restore` turns compaction off for the run (the
   * factory is called once more per run, and per {@link scheduleFor}, to find out).
   */
  readonly stateMachine?: () => SimulatedStateMachine<T>;
  /**
   * Log compaction: `true` (the default) runs every server with a `stateMachine` (the
   * simulator's {@link DigestStateMachine}, driving the `stateMachine` option's machine if
   * any) and the bounds {@link compactionFor} draws from the seed; an object replaces some of
   * those bounds; `false` turns compaction off (the servers still apply to a
   * DigestStateMachine, so the state machine invariants are checked, but never compact).
   * The schedule of a seed also depends on it: with compaction, {@link scheduleFor} draws
   * `compact` and `crashInTransfer` steps as well.
   */
  readonly compaction?: boolean | Partial<CompactionBounds>;
  /** Virtual time allowed, once faults stop, to elect a leader and commit on every server. @default 10000 */
  readonly livenessBoundMs?: number;
  /**
   * Message limits of the servers. By default they are drawn from the seed, from 1 to 100
   * entries per message and from 1 to 64 messages in flight, so that small batches (which
   * expose commit-rule bugs) are exercised as well as large ones. A limit given here
   * replaces the drawn one; the other is still drawn.
   */
  readonly limits?: Partial<MessageLimits>;
  /** Receives a line per step describing what happened (for `--trace`). */
  readonly trace?: (line: string) => void;
  /**
   * Builds server `id`'s store, once (a restart reuses it): to run the simulation on your own
   * store, or on a deliberately faulty one. It should report to `checker` as
   * {@link ObservedPersistentState} does (wrap one) so that Log Matching and durable commits
   * are checked. A {@link SimulatedDiskState} (or a subclass) loses its unsynced writes at
   * each crash and is counted by its durable image for Durable Majority; any other store
   * keeps everything and is counted by its log.
   * @default `(id, checker) => new SimulatedDiskState(id, checker)`
   */
  readonly persistentState?: (id: ServerId, checker: SafetyChecker<T>) => IPersistentState<T>;
  /** Called with a server's store right after the cluster restarted it (a test hook, to plant a fault). */
  readonly onRestart?: (id: ServerId, state: IPersistentState<T>) => void;
  /** Whether to check liveness once the schedule is over. @default true */
  readonly checkLiveness?: boolean;
  /** Called with the cluster and the checker once they are built, before the first step (to tap the network, say). */
  readonly onStart?: (cluster: InMemoryCluster<T>, checker: SafetyChecker<T>) => void;
    /**
   * The extensions of issue 10: pre-vote, check-quorum and the read mode drawn per seed (see
   * {@link extensionsFor}; the options below force them), `transfer`, `read` and `client`
   * steps in the schedule, and the client workload (see {@link SimulationOptions.clients})
   * whose history is checked for linearizability at the end. Off by default, so that the
   * schedules and results of older runs stay the same.
   * @default false
   */
  readonly extensions?: boolean;
  /** Forces `preVote` (with `extensions`; otherwise it is drawn per seed). */
  readonly preVote?: boolean;
  /** Forces `checkQuorum` (with `extensions`; otherwise drawn per seed; `readMode: 'lease'` forces it on). */
  readonly checkQuorum?: boolean;
  /** Forces `readMode` (with `extensions`; otherwise drawn per seed, `lease` only with check-quorum). */
  readonly readMode?: 'safe' | 'lease';
  /**
   * Concurrent clients of the workload (with `extensions`; each with at most one operation
   * outstanding) on 2 or 3 keys (drawn per seed); 0 turns the workload off. The workload needs
   * string data, and runs the servers over a {@link KvStateMachine} unless `stateMachine` is
   * given. @default 3
   */
  readonly clients?: number;
  /** A test hook: replaces the server whose state machine answers a `readIndex` read (to plant a stale read). */
  readonly readFrom?: (leader: ServerId, cluster: InMemoryCluster<T>) => ServerId;
  /** Called at the end with the cluster and the checker, to look at what happened. */
  readonly onEnd?: (cluster: InMemoryCluster<T>, checker: SafetyChecker<T>) => void;
}

/** What one run produced. */
export interface SimulationResult {
  /** The seed of the cluster (and of the schedule, when drawn by {@link simulate}). */
  readonly seed: number;
  /** Steps of the schedule run before it ended or failed. */
  readonly steps: number;
  /** Simulated events: schedule steps, messages delivered and timers fired. */
  readonly events: number;
  /** Terms that elected a leader. */
  readonly elections: number;
  /** The highest term any server reached. */
  readonly highestTerm: Term;
  /** Entries committed (distinct indices). */
  readonly commits: number;
  /** Snapshots taken by compaction (durable or not), over every server. */
  readonly compactions: number;
  /** Leaders' snapshots installed by followers. */
  readonly snapshotsInstalled: number;
  /** The first broken invariant, if any. */
  readonly violation: Violation | undefined;
  /** The Raft options the run used (drawn per seed with extensions). */
  readonly raft: RaftExtensions;
  /** Client operations that completed (with extensions and clients). */
  readonly clientOperations: number;
  /** Client writes whose outcome stayed unknown. */
  readonly unknownOperations: number;
  /** Of the completed client operations: writes, reads through the log, reads through `readIndex`. */
  readonly clientOperationKinds: ClientOperationKinds;
}

/** How many client operations of each kind completed in a run. */
export interface ClientOperationKinds {
  /** Writes (put, append). */
  readonly writes: number;
  /** Reads through the log. */
  readonly logReads: number;
  /** Reads through readIndex. */
  readonly indexReads: number;
}

/** The Raft options of issue 10 a run uses. */
export interface RaftExtensions {
  /** See `ServerOptions.preVote`. */
  readonly preVote: boolean;
  /** See `ServerOptions.checkQuorum`. */
  readonly checkQuorum: boolean;
  /** See `ServerOptions.readMode`. */
  readonly readMode: 'safe' | 'lease';
}

/**
 * The Raft options a run with extensions uses for `seed`: pre-vote and check-quorum each on
 * for half the seeds, `lease` reads for half of those with check-quorum; those given in
 * `options` replace the drawn ones (a forced `lease` turns check-quorum on). Without
 * extensions, all off (`safe`).
 */
export function extensionsFor(seed: number, options: Pick<SimulationOptions<unknown>, 'extensions' | 'preVote' | 'checkQuorum' | 'readMode'> = {}): RaftExtensions {
  if (options.extensions !== true) return { preVote: false, checkQuorum: false, readMode: 'safe' };
  const random = seededRandom(deriveSeed(seed, 0x57ab));
  const preVote = options.preVote ?? random() < 0.5;
  const drawnQuorum = random() < 0.5;
  const drawnLease = random() < 0.5;
  const checkQuorum = options.checkQuorum ?? (options.readMode === 'lease' ? true : drawnQuorum);
  const readMode = options.readMode ?? (checkQuorum && drawnLease ? 'lease' : 'safe');
  return { preVote, checkQuorum, readMode };
}

/** How many keys the client workload of `seed` uses: 2 or 3. */
export function workloadKeysFor(seed: number): number {
  return 2 + Math.floor(seededRandom(deriveSeed(seed, 0x6b65))() * 2);
}

/**
 * The bounds a run with compaction uses: those drawn for `seed`, replaced by any given in
 * `compaction`; a drawn `trailingLogEntries` is lowered below a given `maxLogEntries`.
 */
export function boundsFor(seed: number, compaction: SimulationOptions<unknown>['compaction']): CompactionBounds {
  const given = typeof compaction === 'object' ? compaction : {};
  const bounds = { ...compactionFor(seed), ...given };
  if (given.trailingLogEntries === undefined && bounds.trailingLogEntries >= bounds.maxLogEntries) bounds.trailingLogEntries = bounds.maxLogEntries - 1;
  return bounds;
}

/** Whether a run with these options compacts: see {@link SimulationOptions.compaction}. */
export function compactionEnabled<T>(options: SimulationOptions<T>): boolean {
  if (options.compaction === false) return false;
  const factory = options.stateMachine;
  return factory === undefined || typeof factory().restore === 'function';
}

/** The message limits a simulated cluster runs with. */
export interface MessageLimits {
  /** See {@link ServerOptions.maxEntriesPerMessage}. */
  readonly maxEntriesPerMessage: number;
  /** See {@link ServerOptions.maxInflightMessages}. */
  readonly maxInflightMessages: number;
}

/** The message limits {@link runSchedule} uses for `seed` unless told otherwise (see {@link SimulationOptions.limits}). */
export function limitsFor(seed: number): MessageLimits {
  const random = seededRandom(deriveSeed(seed, 0x11e5));
  const entries = [1, 2, 3, 100] as const;
  const inflight = [1, 2, 4, 64] as const;
  return {
    maxEntriesPerMessage: entries[Math.floor(random() * entries.length)] ?? 100,
    maxInflightMessages: inflight[Math.floor(random() * inflight.length)] ?? 64,
  };
}

const QUIET_STEP_MS = 10;
/** How long a crashInTransfer step runs the cluster quietly, at most, waiting for a snapshot transfer to crash in. */
const TRANSFER_WAIT_MS = 300;
/**
 * A message held back by a {@link HoldStep}: delivered once `leaderTerms` reaches `until`,
 * or as soon as its receiver leads a term later than `term` (the moment a reply of an
 * earlier term is most dangerous to a leader).
 */
interface HeldMessage {
  readonly to: ServerId;
  readonly id: number;
  readonly until: number;
  readonly term: number;
  readonly what: string;
  /**
   * For a success AppendEntries reply: the index it acknowledges and the term of the
   * receiver's entry there when it was held. Such a reply waits, past a later leadership of
   * its receiver, until that entry was rewritten (the case where counting it would be wrong).
   */
  readonly acknowledged?: { readonly index: LogIndex; readonly term: Term | undefined };
}

/** How many times longer (in elections) a held success reply may wait for its receiver's log to be rewritten. */
const REWRITE_WAIT_FACTOR = 20;

const DELIVERY_BOUND = 100_000;

/**
 * Runs one schedule on a fresh cluster seeded with `seed`, checking every invariant of
 * {@link SafetyChecker} at every write, commit and election, and commitIndex after every
 * step; then stops the faults and checks liveness: within `livenessBoundMs` a leader is
 * elected and a fresh proposal, with every entry before it, is committed on all servers.
 * A call that throws ends the run with a `noException` violation naming the step and the
 * error (and the run can be shrunk like any other).
 * Deterministic: the same schedule, seed and options give the same result.
 */
export function runSchedule<T = string>(schedule: readonly SimulationEvent[], seed: number, options: SimulationOptions<T> = {}): SimulationResult {
  const servers = options.servers ?? 5;
  const value = options.value ?? ((n: number) => `v${n}` as unknown as T);
  const checker = new SafetyChecker<T>(options.key);
  const trace = options.trace;
  const limits = { ...limitsFor(seed), ...options.limits };
  const stores: IPersistentState<T>[] = [];
  const compaction = compactionEnabled(options);
  const bounds = compaction ? boundsFor(seed, options.compaction) : undefined;
  const key = options.key ?? ((data: T) => JSON.stringify(data) ?? 'undefined');
  const digests: (DigestStateMachine<T> | undefined)[] = [];
  const raft = extensionsFor(seed, options);
  const clients = options.extensions === true ? (options.clients ?? 3) : 0;
  const userMachine = options.stateMachine ?? (clients > 0 ? () => new KvStateMachine() as unknown as SimulatedStateMachine<T> : undefined);
  const cluster = InMemoryCluster.make<T>(servers, {
    seed,
    ...(options.extensions === true ? raft : {}),
    delivery: 'manual',
    maxEntriesPerMessage: limits.maxEntriesPerMessage,
    maxInflightMessages: limits.maxInflightMessages,
    stateMachine: (id) => {
      const machine = new DigestStateMachine<T>(key, compaction ? userMachine?.() : undefined);
      digests[id] = machine;
      return machine;
    },
    ...(bounds ?? {}),
    persistentState: (id) => {
      const store = options.persistentState?.(id, checker) ?? new SimulatedDiskState<T>(id, checker);
      stores[id] = store;
      return store as IPersistentState<unknown>;
    },
  });
  const machines: SimulatedStateMachine<T>[] = [];
  let snapshotsInstalled = 0;
  const watch = (server: Server<T>): void => {
    observeServer(server, checker);
    server.on('snapshotInstalled', () => snapshotsInstalled++);
    const factory = userMachine;
    if (compaction) {
      const inner = digests[server.id]?.inner;
      if (inner !== undefined) machines[server.id] = inner;
    } else if (factory !== undefined) {
      const machine = factory();
      machines[server.id] = machine;
      server.on('committed', (entries) => entries.forEach((entry) => machine.apply(entry.data)));
    }
  };
  const workload =
    clients > 0
      ? new ClientWorkload(cluster as unknown as InMemoryCluster<string>, clients, workloadKeysFor(seed), (id) => {
          const read = options.readFrom?.(id, cluster) ?? id;
          const machine = compaction ? digests[read]?.inner : machines[read];
          return machine instanceof KvStateMachine ? machine : undefined;
        })
      : undefined;
  const watchAll = (server: Server<T>): void => {
    watch(server);
    workload?.watch(server as unknown as Server<string>);
  };
  cluster.servers.forEach(watchAll);
  checker.watchStores({
    servers,
    durableEntry: (id, index) => {
      const store = stores[id] as IPersistentState<T>;
      return store instanceof SimulatedDiskState ? (store as SimulatedDiskState<T>).durableEntry(index) : store.getLogEntry(index);
    },
    durablyCovered: (id, index) => {
      const store = stores[id] as IPersistentState<T>;
      const snapshot = store instanceof SimulatedDiskState ? (store as SimulatedDiskState<T>).durableSnapshot : store.getSnapshot?.();
      return snapshot !== undefined && snapshot.lastIncluded.index >= index;
    },
  });
  const isolated = new Set<ServerId>();
  const held: HeldMessage[] = [];
  let lastReceiver: ServerId | undefined;
  const deliver = (message: AddressedMessage<T>): void => {
    lastReceiver = message.to;
    cluster.network.deliver(message.to, message.id);
    delivered++;
    if (message.message.type === 'appendEntriesReply') checkMatchIndexes(cluster, checker, message.to); // the only message that moves a matchIndex
  };
  /** The checks after each event: commitIndex and lastApplied monotonic, state machines against the committed prefix. */
  const checkStep = (): void => {
    checkCommitIndexes(cluster, checker);
    checkAppliedState(cluster, checker, digests);
  };
  options.onStart?.(cluster, checker);
  let steps = 0;
  let delivered = 0;

  const say = (line: string): void => trace?.(`t=${cluster.now.toFixed(1).padStart(8)}  ${line}`);
  const pickMessage = (pick: number): AddressedMessage<T> | undefined => {
    const count = cluster.network.undeliveredCount;
    return count === 0 ? undefined : cluster.network.undeliveredAt(Math.min(count - 1, Math.floor(pick * count)));
  };
  /**
   * The message a hold step takes: with `pick` below one half, and while any waits, one of
   * the success AppendEntries replies acknowledging entries its receiver has not committed
   * (entries that may yet be rewritten: the replies whose late arrival is dangerous, see
   * {@link HeldMessage.acknowledged}); otherwise as {@link pickMessage}.
   */
  const pickToHold = (pick: number): AddressedMessage<T> | undefined => {
    if (pick < 0.5) {
      const successes: AddressedMessage<T>[] = [];
      const count = cluster.network.undeliveredCount;
      for (let k = 0; k < count; k++) {
        const candidate = cluster.network.undeliveredAt(k) as AddressedMessage<T>;
        const message = candidate.message;
        if (message.type !== 'appendEntriesReply' || !message.reply.success) continue;
        const receiver = cluster.servers[candidate.to] as Server<T>;
        if (message.reply.matchIndex > receiver.volatileState.commitIndex) successes.push(candidate);
      }
      if (successes.length > 0) return successes[Math.floor(pick * 2 * successes.length)];
    }
    return pickMessage(pick);
  };
  const deliverAll = (): void => {
    for (let bound = 0; bound < DELIVERY_BOUND && checker.violation === undefined; bound++) {
      const next = cluster.network.undeliveredAt(0);
      if (next === undefined) break;
      deliver(next);
      checkStep();
    }
  };
  const settle = (ms: number, until?: () => boolean): boolean => {
    const end = cluster.now + ms;
    for (;;) {
      deliverAll();
      if (checker.violation !== undefined) return false;
      if (until?.()) return true;
      if (cluster.now >= end) return false;
      cluster.advance(Math.min(QUIET_STEP_MS, end - cluster.now));
      checkStep();
    }
  };
  /** Crashes server `id` if it runs: the cluster stops it (replies it sent may still arrive), its store loses its unsynced writes. */
  const crash = (id: ServerId, keep: number | undefined): string => {
    if (!cluster.isRunning(id)) return '';
    cluster.crash(id, { keepSentReplies: true });
    const store = stores[id];
    if (!(store instanceof SimulatedDiskState)) return '';
    const { lost, kept } = store.crash(keep ?? 0);
    return lost + kept === 0 ? '' : ` (unsynced writes: ${lost} lost, ${kept} kept)`;
  };
  /** Delivers the held messages whose time has come (all of them when `all`). */
  const release = (all: boolean): void => {
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
      lastReceiver = message.to;
      cluster.network.deliver(message.to, message.id);
      delivered++;
      checkMatchIndexes(cluster, checker, message.to);
      say(`release held #${message.id} ${message.what}`);
      checkStep();
    }
  };
  /**
   * The server a crash or restart step takes instead of `id`: `id` itself, unless a held
   * success reply waits for it (a crash would lose the reply, and with it the chance of the
   * late arrival it was held for), then the next server in id order that none waits for
   * (`id` when every server has one). So crashes stay as frequent.
   */
  const spare = (id: ServerId): ServerId => {
    const waitedFor = (server: ServerId): boolean => held.some((message) => message.to === server && message.acknowledged !== undefined);
    for (let k = 0; k < servers; k++) {
      const candidate = (id + k) % servers;
      if (!waitedFor(candidate)) return candidate;
    }
    return id;
  };
  const restart = (id: ServerId): void => {
    cluster.restart(id);
    options.onRestart?.(id, stores[id] as IPersistentState<T>);
    const server = cluster.servers[id] as Server<T>;
    checker.restarted(id, logReader(server.persistentState));
    checker.restartedAt(id, server.volatileState.lastApplied, server.persistentState.getSnapshot?.()?.lastIncluded.index ?? 0);
    watchAll(server);
  };

  const apply = (event: SimulationEvent): void => {
    switch (event.type) {
      case 'advance':
        cluster.advance(event.ms);
        say(`advance ${event.ms} ms`);
        break;
      case 'deliver':
      case 'drop':
      case 'duplicate': {
        const chosen = pickMessage(event.pick);
        if (chosen === undefined) break;
        if (event.type === 'deliver') {
          deliver(chosen);
        } else if (event.type === 'drop') {
          cluster.network.drop(chosen.to, chosen.id);
        } else {
          cluster.network.duplicate(chosen.to, chosen.id);
        }
        say(`${event.type} #${chosen.id} ${chosen.from}→${chosen.to} ${describeMessage(chosen.message)}`);
        break;
      }
      case 'hold': {
        const chosen = pickToHold(event.pick);
        if (chosen === undefined) break;
        cluster.network.hold(chosen.to, chosen.id);
        const what = `${chosen.from}→${chosen.to} ${describeMessage(chosen.message)}`;
        const receiver = cluster.servers[chosen.to] as Server<T>;
        const term = receiver.currentTerm;
        const elections = Math.max(1, event.elections);
        const message = chosen.message;
        if (message.type === 'appendEntriesReply' && message.reply.success) {
          const index = message.reply.matchIndex;
          const acknowledged = { index, term: receiver.persistentState.getLogEntry(index)?.term };
          held.push({ to: chosen.to, id: chosen.id, until: checker.leaderTerms + elections * REWRITE_WAIT_FACTOR, term, what, acknowledged });
        } else {
          held.push({ to: chosen.to, id: chosen.id, until: checker.leaderTerms + elections, term, what });
        }
        say(`hold #${chosen.id} ${what} for ${event.elections} election${event.elections === 1 ? '' : 's'}`);
        break;
      }
      case 'propose': {
        const result = cluster.propose(value(event.value));
        say(`propose v${event.value}: ${result.type === 'appended' ? `appended at ${result.index} in term ${result.term}` : result.type}`);
        break;
      }
      case 'timeout':
        cluster.timeout(event.server);
        say(`timeout ${event.server}`);
        break;
      case 'heartbeat':
        cluster.heartbeat(event.server);
        say(`heartbeat ${event.server}`);
        break;
      case 'crash': {
        const id = spare(event.lastReceiver === true ? (lastReceiver ?? event.server) : event.server);
        const loss = crash(id, event.keep);
        say(`crash ${id}${event.lastReceiver === true ? ' (the last receiver)' : ''}${loss}`);
        break;
      }
      case 'restart': {
        const id = spare(event.lastReceiver === true ? (lastReceiver ?? event.server) : event.server);
        const loss = crash(id, event.keep);
        restart(id);
        say(`restart ${id}${event.lastReceiver === true ? ' (the last receiver)' : ''}${loss}`);
        break;
      }
      case 'partition':
        cluster.partition(...event.groups.map((group) => [...group]));
        say(`partition ${event.groups.map((group) => `{${group.join(',')}}`).join(' ')}`);
        break;
      case 'heal':
        cluster.heal();
        say('heal');
        break;
      case 'isolateLeader': {
        const leader = cluster.leader();
        if (leader === undefined) break;
        cluster.disconnect(leader.id);
        isolated.add(leader.id);
        say(`isolate leader ${leader.id} (term ${leader.currentTerm})`);
        break;
      }
      case 'reconnectAll':
        isolated.forEach((id) => cluster.reconnect(id));
        isolated.clear();
        say('reconnect all');
        break;
      case 'cutLink':
        cluster.network.cutLink(event.from, event.to);
        say(`cut link ${event.from}→${event.to}`);
        break;
      case 'restoreLinks':
        cluster.network.restoreAllLinks();
        say('restore links');
        break;
      case 'quiet':
        say(`quiet for ${event.ms} ms`);
        settle(event.ms);
        break;
      case 'compact': {
        if (!compaction || !cluster.isRunning(event.server)) break;
        const server = cluster.servers[event.server] as Server<T>;
        const position = server.compact();
        say(`compact ${event.server}: snapshot at (${position.index},t${position.term}), log ${server.persistentState.firstLogIndex ?? 1}..${server.persistentState.currentLogIndex}`);
        break;
      }
      case 'transfer': {
        const leader = cluster.leader();
        if (leader === undefined) break;
        const others = cluster.servers.map((server) => server.id).filter((id) => id !== leader.id);
        const to = others[Math.min(others.length - 1, Math.floor(event.pick * others.length))];
        if (to === undefined) break;
        const result = leader.transferLeadership(to);
        say(`transfer leadership ${leader.id}→${to} (term ${leader.currentTerm}): ${result.type}`);
        break;
      }
      case 'read': {
        const leader = cluster.leader();
        if (leader === undefined) break;
        let answer = 'waits';
        leader.readIndex((result) => {
          answer = result.type === 'ready' ? `ready at ${result.index}` : result.type;
          if (answer !== 'waits') say(`read on ${leader.id} answered ${answer}`);
        });
        say(`read on ${leader.id} (term ${leader.currentTerm}): ${answer}`);
        break;
      }
      case 'client':
        if (workload !== undefined) say(workload.step(event));
        break;
      case 'crashInTransfer': {
        const transfers = (): AddressedMessage<T>[] => {
          const found: AddressedMessage<T>[] = [];
          const count = cluster.network.undeliveredCount;
          for (let k = 0; k < count; k++) {
            const candidate = cluster.network.undeliveredAt(k) as AddressedMessage<T>;
            if (candidate.message.type === 'installSnapshot' || candidate.message.type === 'installSnapshotReply') found.push(candidate);
          }
          return found;
        };
        if (transfers().length === 0 && compaction) {
          // None waits: make one likely. A crashed server comes back (it has missed entries),
          // the leader compacts (so a follower that has missed entries needs the snapshot),
          // and the cluster runs as a quiet period (oldest message first, time when none
          // waits) until a transfer message waits, for at most TRANSFER_WAIT_MS.
          const down = cluster.servers.find((server) => !cluster.isRunning(server.id) && spare(server.id) === server.id);
          if (down !== undefined) {
            restart(down.id);
            say(`crash in transfer: restart ${down.id} first`);
          }
          const leader = cluster.leader();
          if (leader !== undefined) {
            const position = leader.compact();
            say(`crash in transfer: leader ${leader.id} compacts, snapshot at (${position.index},t${position.term})`);
          }
          const end = cluster.now + TRANSFER_WAIT_MS;
          while (transfers().length === 0 && checker.violation === undefined && cluster.now < end) {
            const next = cluster.network.undeliveredAt(0);
            if (next !== undefined) deliver(next);
            else cluster.advance(Math.min(QUIET_STEP_MS, end - cluster.now));
            checkStep();
          }
          if (checker.violation !== undefined) break;
        }
        const waiting = transfers();
        const chosen = waiting[Math.min(waiting.length - 1, Math.floor(event.pick * waiting.length))];
        if (chosen === undefined) {
          say('crash in transfer: no snapshot transfer under way');
          break;
        }
        const target = event.receiver ? chosen.to : chosen.from;
        if (spare(target) !== target) break; // a held success reply waits for it
        const what = `${chosen.from}→${chosen.to} ${describeMessage(chosen.message)}`;
        const loss = crash(target, event.keep);
        if (event.restart) restart(target);
        say(`${event.restart ? 'restart' : 'crash'} ${target}, ${event.receiver ? 'receiver' : 'sender'} of undelivered #${chosen.id} ${what}${loss}`);
        break;
      }
    }
  };

  let current = 'the liveness check';
  try {
    for (const event of schedule) {
      current = `step ${steps + 1} (${event.type})`;
      apply(event);
      steps++;
      checkStep();
      if (checker.violation === undefined) release(false);
      if (checker.violation !== undefined) break;
    }
    current = 'the liveness check';
    if (checker.violation === undefined && options.checkLiveness !== false) checkLiveness();
    current = 'the linearizability check';
    if (checker.violation === undefined && workload !== undefined) {
      const explanation = workload.check();
      if (explanation !== undefined) checker.report('linearizable', `the clients' history (${workload.history.length} operations) is not linearizable: ${explanation}`);
    }
  } catch (error) {
    checker.report('noException', `${current} threw ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`);
  }
  options.onEnd?.(cluster, checker);

  let highestTerm = 0;
  for (const server of cluster.servers) highestTerm = Math.max(highestTerm, server.currentTerm);
  const violation = checker.violation;
  if (violation !== undefined) say(`VIOLATION ${violation.invariant}: ${violation.message}`);
  return {
    seed,
    steps,
    events: steps + delivered + cluster.timersFired,
    elections: checker.leaderTerms,
    highestTerm,
    commits: checker.committedCount,
    compactions: stores.reduce((sum, store) => sum + (store instanceof SimulatedDiskState ? store.snapshotWrites : 0), 0) - snapshotsInstalled,
    snapshotsInstalled,
    violation,
    raft,
    clientOperations: workload?.counts.ok ?? 0,
    unknownOperations: workload?.counts.unknown ?? 0,
    clientOperationKinds: { writes: workload?.counts.writesOk ?? 0, logReads: workload?.counts.logReadsOk ?? 0, indexReads: workload?.counts.indexReadsOk ?? 0 },
  };

  function checkLiveness(): void {
    say('faults stop: heal, reconnect, restore links, restart crashed servers');
    cluster.heal();
    cluster.network.restoreAllLinks();
    isolated.forEach((id) => cluster.reconnect(id));
    isolated.clear();
    release(true);
    if (checker.violation !== undefined) return;
    for (let id = 0; id < servers; id++) if (!cluster.isRunning(id)) restart(id);
    const bound = options.livenessBoundMs ?? 10_000;
    const end = cluster.now + bound;
    let probe: { index: LogIndex; term: Term } | undefined;
    let probes = 0;
    const allCommitted = (): boolean => {
      const leader = cluster.leader();
      if (leader === undefined) return false;
      if (probe === undefined || probe.term !== leader.currentTerm) {
        const result = leader.propose(value(1_000_000 + ++probes));
        if (result.type !== 'appended') return false;
        probe = { index: result.index, term: result.term };
        say(`liveness probe appended at ${probe.index} in term ${probe.term}`);
        return false;
      }
      const target = probe.index;
      return cluster.servers.every((server) => server.volatileState.commitIndex >= target);
    };
    if (!settle(end - cluster.now, allCommitted)) {
      if (checker.violation !== undefined) return;
      const leader = cluster.leader();
      checker.report(
        'liveness',
        leader === undefined
          ? `no leader ${bound} ms after faults stopped`
          : `leader ${leader.id} (term ${leader.currentTerm}) did not commit its probe on every server within ${bound} ms after faults stopped (commit indexes ${cluster.servers.map((s) => s.volatileState.commitIndex).join(', ')})`,
      );
      return;
    }
    say(`liveness: probe committed on every server (index ${probe?.index})`);
    if (machines.length > 0) {
      const snapshots = machines.map((machine) => machine.snapshot());
      if (snapshots.some((snapshot) => snapshot !== snapshots[0])) {
        checker.report('stateMachineSafety', `state machines differ at the end: ${snapshots.map((s, id) => `server ${id}: ${s}`).join('; ')}`);
      }
    }
  }
}

/** Draws the schedule for `seed` and runs it (see {@link runSchedule}). */
export function simulate<T = string>(seed: number, options: SimulationOptions<T> = {}): SimulationResult {
  return runSchedule(scheduleFor(seed, options), seed, options);
}

/** The schedule {@link simulate} runs for `seed`. */
export function scheduleFor<T>(seed: number, options: SimulationOptions<T> = {}): SimulationEvent[] {
  return generateSchedule(seed, {
    servers: options.servers ?? 5,
    length: options.length ?? 1000,
    compaction: compactionEnabled(options),
    ...(options.extensions === true ? { extensions: true } : {}),
    ...(options.weights ? { weights: options.weights } : {}),
  });
}

/**
 * Shrinks a failing schedule: removes chunks of steps, then single steps, then shortens
 * waits, keeping each change only if the same invariant still breaks (delta debugging).
 * Returns a schedule that still fails, usually a few dozen steps long; a schedule that does
 * not fail with `invariant` is returned unchanged after one run.
 */
export function shrinkSchedule<T>(
  schedule: readonly SimulationEvent[],
  seed: number,
  invariant: Violation['invariant'],
  options: SimulationOptions<T> = {},
  maxRuns = 3000,
): SimulationEvent[] {
  let runs = 0;
  const { trace: _unused, ...quiet } = options;
  const fails = (candidate: readonly SimulationEvent[]): boolean => {
    runs++;
    return runSchedule(candidate, seed, quiet).violation?.invariant === invariant;
  };
  if (!fails(schedule)) return [...schedule]; // nothing to shrink: the schedule does not fail that way
  let current = [...schedule];
  let chunks = 2;
  while (current.length >= 2 && runs < maxRuns) {
    const size = Math.ceil(current.length / chunks);
    let reduced = false;
    for (let start = 0; start < current.length && runs < maxRuns; start += size) {
      const candidate = [...current.slice(0, start), ...current.slice(start + size)];
      if (fails(candidate)) {
        current = candidate;
        chunks = Math.max(chunks - 1, 2);
        reduced = true;
        break;
      }
    }
    if (!reduced) {
      if (chunks >= current.length) break;
      chunks = Math.min(current.length, chunks * 2);
    }
  }
  for (let k = 0; k < current.length && runs < maxRuns; k++) {
    const event = current[k] as SimulationEvent;
    if ((event.type === 'advance' || event.type === 'quiet') && event.ms > 1) {
      const candidate = [...current];
      candidate[k] = { ...event, ms: Math.max(1, Math.floor(event.ms / 2)) };
      if (fails(candidate)) {
        current = candidate;
        k--;
      }
    }
  }
  return current;
}

/** A one-line summary of a message or reply, as traces show it. */
export function describeMessage<T>(message: Message<T> | Reply): string {
  switch (message.type) {
    case 'requestVote':
      return `RequestVote t${message.candidateTerm} last=(${message.candidateLastLogEntry.index},t${message.candidateLastLogEntry.term})`;
    case 'appendEntries': {
      const entries = message.entries;
      const range = entries.length === 0 ? '[]' : `[${entries[0]?.index}..${entries[entries.length - 1]?.index}]`;
      return `AppendEntries t${message.leaderTerm} prev=(${message.prevLogEntry.index},t${message.prevLogEntry.term}) entries=${range} commit=${message.leaderCommitIndex}`;
    }
    case 'requestVoteReply':
      return `RequestVoteReply t${message.reply.voterTerm} ${message.reply.voteGranted ? 'granted' : 'denied'}`;
    case 'appendEntriesReply':
      return `AppendEntriesReply t${message.reply.followerTerm} ${message.reply.success ? 'ok' : 'fail'} match=${message.reply.matchIndex}`;
    case 'installSnapshot':
      return `InstallSnapshot t${message.leaderTerm} last=(${message.lastIncluded.index},t${message.lastIncluded.term}) offset=${message.offset} bytes=${message.data.length}${message.done ? ' done' : ''}`;
    case 'installSnapshotReply':
      return `InstallSnapshotReply t${message.reply.followerTerm} ${message.reply.success ? 'ok' : 'fail'} received=${message.reply.bytesReceived}`;
    case 'timeoutNow':
      return `TimeoutNow t${message.leaderTerm} from ${message.leaderId}`;
    case 'timeoutNowReply':
      return `TimeoutNowReply t${message.reply.followerTerm}`;
  }
}
