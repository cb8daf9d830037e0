import { InvalidArgumentError, ConfigurationError, ListenerError, describe } from './errors';
import { CommittedLog } from './committed-log';
import type { Message, Reply } from './messages';
import { InMemoryNetwork, type DeliveryMode } from './network';
import { SERVER_DEFAULTS } from './options';
import { InMemoryPersistentState, type IPersistentState } from './persistent-state';
import { deriveSeed, seededRandom } from './random';
import { Server, type ProposeAllResult, type ProposeResult, type ReadIndexResult, type TransferResult } from './server';
import type { StateMachine } from './state-machine';
import type { LogEntry, LogPosition, ServerId } from './types';


/** The kind of reply each kind of request gets, as the network lists it. */
const REPLY_TYPES = { requestVote: 'requestVoteReply', appendEntries: 'appendEntriesReply', installSnapshot: 'installSnapshotReply', timeoutNow: 'timeoutNowReply' } as const;

/**
 * Options of {@link InMemoryCluster.make}. The timing options are passed to every server.
 */
export interface InMemoryClusterOptions<T = unknown> {
  /**
   * One seed drives every server's election jitter: same seed, same calls, same history.
   * @default 1
   */
  seed?: number;
  /**
   * `'immediate'`: messages are delivered as soon as the call that sent them is done, FIFO.
   * `'manual'`: messages wait in {@link InMemoryCluster.network} until delivered or dropped.
   * @default 'immediate'
   */
  delivery?: DeliveryMode;
  /** See {@link ServerOptions.electionTimeout}. @default 150 */
  electionTimeout?: number;
  /** See {@link ServerOptions.electionTimeoutRange}. @default 150 */
  electionTimeoutRange?: number;
  /** See {@link ServerOptions.heartbeatTimeout}. @default 50 */
  heartbeatTimeout?: number;
  /** See {@link ServerOptions.maxEntriesPerMessage}. @default 100 */
  maxEntriesPerMessage?: number;
  /** See {@link ServerOptions.maxInflightMessages}. @default 64 */
  maxInflightMessages?: number;
  /** See {@link ServerOptions.maxBytesPerMessage}. @default Infinity */
  maxBytesPerMessage?: number;
  /** See {@link ServerOptions.entrySize}. */
  entrySize?: (data: T) => number;
  /** See {@link ServerOptions.maxCommittedEntriesPerEvent}. @default Infinity */
  maxCommittedEntriesPerEvent?: number;
  /** See {@link ServerOptions.maxUncommittedBytes}. @default Infinity */
  maxUncommittedBytes?: number;
  /**
   * Builds server `id`'s persistent state, once per cluster (a restart reuses it). Use it to
   * run the cluster on your own store or to observe every write. It must return a store
   * (an object with the methods of {@link IPersistentState}) for every id: `make` throws
   * {@link ConfigurationError} otherwise, rather than quietly giving the server a store that
   * a restart would lose.
   * @default `() => new InMemoryPersistentState()`
   */
  persistentState?: (id: ServerId) => IPersistentState<unknown>;
  /**
   * Builds server `id`'s state machine; called at every start and restart of that server
   * (a restarted server gets a fresh one, restored from its snapshot and its log). Each
   * server applies its committed entries to it; see {@link ServerOptions.stateMachine}.
   */
  stateMachine?: (id: ServerId) => StateMachine<T>;
  /** See {@link ServerOptions.maxLogEntries} (needs `stateMachine`). @default Infinity */
  maxLogEntries?: number;
  /** See {@link ServerOptions.trailingLogEntries}. @default a tenth of `maxLogEntries` */
  trailingLogEntries?: number;
  /** See {@link ServerOptions.maxSnapshotChunkBytes}. @default 1,048,576 */
  maxSnapshotChunkBytes?: number;
  /** See {@link ServerOptions.preVote}. @default false */
  preVote?: boolean;
  /** See {@link ServerOptions.checkQuorum}. @default false */
  checkQuorum?: boolean;
  /** See {@link ServerOptions.readMode} (`'lease'` needs `checkQuorum`). @default 'safe' */
  readMode?: 'safe' | 'lease';
  /**
   * Whether the cluster records every committed entry for {@link InMemoryCluster.committed}.
   * That record grows with the history; turn it off for a long run with a bounded log (the
   * state machines then say what was applied), and `committed(id)` throws.
   * @default true
   */
  recordCommitted?: boolean;
}

/** The options of Part 2 that are passed to every server only when given. */
const OPTIONAL_SERVER_OPTIONS = ['maxLogEntries', 'trailingLogEntries', 'maxSnapshotChunkBytes', 'preVote', 'checkQuorum', 'readMode'] as const;

/**
 * A whole Raft cluster in one process, for tests, simulations, examples and learning:
 * servers wired through a locked synchronous channel ({@link InMemoryNetwork}), a virtual
 * clock that only moves when told to, seeded randomness, and fault injection (disconnect,
 * partition, crash, restart).
 *
 * @example
 * ```ts
 * const cluster = InMemoryCluster.make<string>(3, { seed: 7 });
 * cluster.runUntil(() => cluster.leader() !== undefined, 10_000);
 * cluster.propose('hello');
 * cluster.committed(1);   // [{ index: 1, term: 1, data: 'hello' }]
 * ```
 */
export class InMemoryCluster<T> {
  /** Number of servers. */
  readonly clusterSize: number;
  /** The channel between the servers: link state and, in `'manual'` delivery, the waiting messages. */
  readonly network: InMemoryNetwork<T>;
  readonly #servers: Server<T>[];
  readonly #states: IPersistentState<T>[];
  readonly #randoms: (() => number)[];
  readonly #running: boolean[];
  /** Per server, every entry its current Server object emitted as committed. */
  readonly #committed: CommittedLog<T>[];
  readonly #recordCommitted: boolean;
  readonly #options: Required<Omit<InMemoryClusterOptions<T>, 'seed' | 'delivery' | 'persistentState' | 'entrySize' | 'stateMachine' | 'recordCommitted' | (typeof OPTIONAL_SERVER_OPTIONS)[number]>> &
    Pick<InMemoryClusterOptions<T>, 'entrySize' | (typeof OPTIONAL_SERVER_OPTIONS)[number]>;
  readonly #makeStateMachine: ((id: ServerId) => StateMachine<T>) | undefined;
  /** Per server, the state machine of its current Server object. */
  readonly #stateMachines: (StateMachine<T> | undefined)[];
  #now = 0;
  #timersFired = 0;

  /**
   * Builds a cluster of `count` servers, all followers at term 0 with empty logs and
   * virtual time 0. Nothing happens until time is advanced or a server is triggered.
   * @throws {@link ConfigurationError} when `count` or an option is invalid.
   */
  static make<T>(count: number, options: InMemoryClusterOptions<T> = {}): InMemoryCluster<T> {
    return new InMemoryCluster<T>(count, options);
  }

  private constructor(count: number, options: InMemoryClusterOptions<T>) {
    if (!Number.isSafeInteger(count) || count < 1) throw new ConfigurationError('count', count, 'a positive integer');
    if (typeof options !== 'object' || options === null) throw new ConfigurationError('options', options, 'an object');
    const seed = options.seed ?? 1;
    if (!Number.isSafeInteger(seed)) throw new ConfigurationError('seed', seed, 'an integer');
    const delivery = options.delivery ?? 'immediate';
    if (delivery !== 'immediate' && delivery !== 'manual') throw new ConfigurationError('delivery', delivery, '"immediate" or "manual"');
    this.clusterSize = count;
    this.#options = {
      electionTimeout: options.electionTimeout ?? SERVER_DEFAULTS.electionTimeout,
      electionTimeoutRange: options.electionTimeoutRange ?? SERVER_DEFAULTS.electionTimeoutRange,
      heartbeatTimeout: options.heartbeatTimeout ?? SERVER_DEFAULTS.heartbeatTimeout,
      maxEntriesPerMessage: options.maxEntriesPerMessage ?? SERVER_DEFAULTS.maxEntriesPerMessage,
      maxInflightMessages: options.maxInflightMessages ?? SERVER_DEFAULTS.maxInflightMessages,
      maxBytesPerMessage: options.maxBytesPerMessage ?? SERVER_DEFAULTS.maxBytesPerMessage,
      maxCommittedEntriesPerEvent: options.maxCommittedEntriesPerEvent ?? SERVER_DEFAULTS.maxCommittedEntriesPerEvent,
      maxUncommittedBytes: options.maxUncommittedBytes ?? SERVER_DEFAULTS.maxUncommittedBytes,
      ...(options.entrySize === undefined ? {} : { entrySize: options.entrySize }),
    };
    for (const name of OPTIONAL_SERVER_OPTIONS) {
      const value = options[name];
      if (value !== undefined) (this.#options as Record<string, unknown>)[name] = value;
    }
    const makeStateMachine = options.stateMachine;
    if (makeStateMachine !== undefined && typeof makeStateMachine !== 'function') {
      throw new ConfigurationError('stateMachine', makeStateMachine, 'a function from server id to StateMachine');
    }
    if (makeStateMachine === undefined && options.maxLogEntries !== undefined && options.maxLogEntries !== Infinity) {
      throw new ConfigurationError('maxLogEntries', options.maxLogEntries, 'left unset without the `stateMachine` factory (compaction needs a state machine to snapshot)');
    }
    this.#makeStateMachine = makeStateMachine;
    this.#stateMachines = Array.from({ length: count }, () => undefined);
    this.network = new InMemoryNetwork<T>(count, delivery, { isRunning: (id) => this.#running[id] === true });
    const makeState = options.persistentState;
    if (makeState !== undefined && typeof makeState !== 'function') throw new ConfigurationError('persistentState', makeState, 'a function from server id to IPersistentState');
    this.#states = Array.from({ length: count }, (_, id) => (makeState ? checkStore<T>(makeState(id), id) : new InMemoryPersistentState<T>()));
    this.#randoms = Array.from({ length: count }, (_, id) => seededRandom(deriveSeed(seed, id)));
    this.#running = Array.from({ length: count }, () => true);
    this.#committed = Array.from({ length: count }, () => new CommittedLog<T>());
    const recordCommitted = options.recordCommitted ?? true;
    if (typeof recordCommitted !== 'boolean') throw new ConfigurationError('recordCommitted', recordCommitted, 'a boolean');
    this.#recordCommitted = recordCommitted;
    this.#servers = Array.from({ length: count }, (_, id) => this.#startServer(id));
  }

  /** The servers; `servers[i].id === i`. A restarted server replaces its slot. */
  get servers(): readonly Server<T>[] {
    return this.#servers;
  }

  /** The virtual clock in milliseconds, read by every server. */
  get now(): number {
    return this.#now;
  }

  /** How many timers (`tick` calls that were due) the cluster has run. */
  get timersFired(): number {
    return this.#timersFired;
  }

  /** Whether server `id` is running (not crashed). */
  isRunning(id: ServerId): boolean {
    this.#checkId(id);
    return this.#running[id] === true;
  }

  /**
   * Moves the clock forward by `ms`, running every timer that falls due, in time order
   * (ties by server id), with the messages each one causes.
   * @throws {@link InvalidArgumentError} unless `ms` is a finite number `>= 0`.
   */
  advance(ms: number): void {
    const end = this.#endOf(ms);
    while (this.#step(end));
  }

  /**
   * Advances timer by timer until `predicate()` holds (returns true) or `maxMs` has passed
   * (returns false). Checks the predicate first, so it may return true without moving time.
   * @throws {@link InvalidArgumentError} unless `predicate` is a function and `maxMs` a finite number `>= 0`.
   */
  runUntil(predicate: () => boolean, maxMs: number): boolean {
    if (typeof predicate !== 'function') throw new InvalidArgumentError(`Expected a predicate function, got ${describe(predicate)}`);
    const end = this.#endOf(maxMs);
    if (predicate()) return true;
    while (this.#step(end)) {
      if (predicate()) return true;
    }
    return predicate();
  }

  /** A running server in the leader role with the highest term, if any. */
  leader(): Server<T> | undefined {
    let best: Server<T> | undefined;
    for (const server of this.#servers) {
      if (this.#running[server.id] && server.role === 'leader' && (best === undefined || server.currentTerm > best.currentTerm)) best = server;
    }
    return best;
  }

  /**
   * Asks the current {@link InMemoryCluster.leader} to hand leadership to `to` (see
   * {@link Server.transferLeadership}); `delay` when there is no leader.
   * @throws {@link InvalidArgumentError} when `to` is not a server of the cluster, or is the leader.
   */
  transferLeadership(to: ServerId): TransferResult {
    this.#checkId(to);
    const leader = this.leader();
    return leader === undefined ? { type: 'delay' } : leader.transferLeadership(to);
  }

  /**
   * A linearizable read through the current {@link InMemoryCluster.leader} (see
   * {@link Server.readIndex}); `onDone` gets `delay` at once when there is no leader.
   * @throws {@link InvalidArgumentError} when `onDone` is not a function.
   */
  readIndex(onDone: (result: ReadIndexResult) => void): void {
    if (typeof onDone !== 'function') throw new InvalidArgumentError(`readIndex expects a function, got ${describe(onDone)}`);
    const leader = this.leader();
    if (leader !== undefined) {
      leader.readIndex(onDone);
      return;
    }
    try {
      onDone({ type: 'delay' });
    } catch (error) {
      throw new ListenerError([error]); // as a server reports what its callbacks threw
    }
  }

  /** Proposes `data` to the current {@link InMemoryCluster.leader}; `delay` when there is none. */
  propose(data: T): ProposeResult {
    const leader = this.leader();
    return leader === undefined ? { type: 'delay' } : leader.propose(data);
  }

  /**
   * Proposes a batch to the current {@link InMemoryCluster.leader} (see {@link Server.proposeAll});
   * `delay` when there is none.
   * @throws {@link InvalidArgumentError} unless `data` is an array.
   */
  proposeAll(data: readonly T[]): ProposeAllResult {
    if (!Array.isArray(data)) throw new InvalidArgumentError(`Expected an array of proposals, got ${describe(data)}`);
    const leader = this.leader();
    return leader === undefined ? { type: 'delay' } : leader.proposeAll(data);
  }

  /** Fires server `id`'s election timeout now (`triggerTimeout`); nothing if it is crashed. */
  timeout(id: ServerId): void {
    this.#checkId(id);
    this.network.runOrDefer(() => {
      if (this.#running[id]) this.#server(id).triggerTimeout();
    });
  }

  /** Makes server `id` send heartbeats now if it leads (`triggerHeartbeat`); nothing if it is crashed. */
  heartbeat(id: ServerId): void {
    this.#checkId(id);
    this.network.runOrDefer(() => {
      if (this.#running[id]) this.#server(id).triggerHeartbeat();
    });
  }

  /** Cuts server `id` off from every other server until {@link InMemoryCluster.reconnect}. */
  disconnect(id: ServerId): void {
    this.#checkId(id);
    this.network.isolate(id);
  }

  /** Undoes {@link InMemoryCluster.disconnect}. */
  reconnect(id: ServerId): void {
    this.#checkId(id);
    this.network.unisolate(id);
  }

  /**
   * Splits the cluster: messages cross no group boundary until {@link InMemoryCluster.heal}.
   * A server named in no group is alone. A new partition replaces the previous one.
   * @throws {@link InvalidArgumentError} when an id is outside the cluster or named twice.
   */
  partition(...groups: ServerId[][]): void {
    const seen = new Set<ServerId>();
    for (const group of groups) {
      if (!Array.isArray(group)) throw new InvalidArgumentError(`Expected each group of the partition to be an array of server ids, got ${describe(group)}`);
      for (const id of group as unknown[]) {
        this.#checkId(id as ServerId);
        if (seen.has(id as ServerId)) throw new InvalidArgumentError(`Server ${id} is named in two groups of the partition`);
        seen.add(id as ServerId);
      }
    }
    this.network.setGroups(groups);
  }

  /** Removes the partition (not the disconnections made by {@link InMemoryCluster.disconnect}). */
  heal(): void {
    this.network.clearGroups();
  }

  /**
   * Stops server `id`: its timers stop, its messages in flight are lost, its persistent state
   * is kept. With `{ keepSentReplies: true }` the replies it sent before the crash stay in
   * the network and may still arrive, as packets already on the wire do (the simulator
   * crashes so); requests to and from it are lost either way.
   * @throws {@link InvalidArgumentError} when `id` is not a server of the cluster.
   */
  crash(id: ServerId, options: { readonly keepSentReplies?: boolean } = {}): void {
    this.#checkId(id);
    if (typeof options !== 'object' || options === null) throw new InvalidArgumentError(`Expected crash options to be an object, got ${describe(options)}`);
    if (!this.#running[id]) return;
    this.#running[id] = false;
    this.network.purge(id, options.keepSentReplies === true);
  }

  /** Starts a new `Server` over server `id`'s persistent state in its slot (crashing the old one first if running). */
  restart(id: ServerId): void {
    this.crash(id);
    this.#running[id] = true;
    this.#committed[id]?.view(); // a view taken before the restart keeps every entry of the old Server
    this.#committed[id] = new CommittedLog<T>();
    this.#servers[id] = this.#startServer(id);
  }

  /**
   * Every entry server `id` has emitted as committed since its last (re)start, in index
   * order, as a read-only view, not a copy: the same array on every call, brought up to date
   * by each call (each entry is copied into it once, so the calls cost linear time in all).
   * A restart starts a new array, so a view taken before it keeps the entries of the old
   * `Server` object. Copy it (`[...cluster.committed(id)]`) to keep a snapshot, and do not
   * modify it. Entries a server got through a leader's snapshot were never emitted, so they
   * are not in it.
   * @throws {@link InvalidArgumentError} when `id` is not a server of the cluster, or the
   * cluster was made with `recordCommitted: false`.
   */
  committed(id: ServerId): readonly LogEntry<T>[] {
    this.#checkId(id);
    if (!this.#recordCommitted) throw new InvalidArgumentError('committed(id): this cluster was made with recordCommitted: false');
    return (this.#committed[id] as CommittedLog<T>).view();
  }

  /**
   * Server `id`'s state machine: the one its current Server object runs (while the server is
   * crashed, the one it had), when the cluster has the `stateMachine` factory.
   */
  stateMachine(id: ServerId): StateMachine<T> | undefined {
    this.#checkId(id);
    return this.#stateMachines[id];
  }

  #startServer(id: ServerId): Server<T> {
    const network = this.network;
    const stateMachine = this.#makeStateMachine?.(id);
    this.#stateMachines[id] = stateMachine;
    const server = new ClusterServer<T>(network, {
      ...(stateMachine === undefined ? {} : { stateMachine }),
      id,
      clusterSize: this.clusterSize,
      persistentState: this.#states[id] as IPersistentState<T>,
      clock: () => this.#now,
      random: this.#randoms[id] as () => number,
      messageChannel: (to, message) => this.#send(id, to, message),
      ...this.#options,
    });
    const committed = this.#committed[id] as CommittedLog<T>;
    if (this.#recordCommitted) server.on('committed', (entries) => committed.add(entries));
    return server;
  }

  #send(from: ServerId, to: ServerId, message: Message<T>): void {
    this.network.sendMessage(from, to, message, (sent) => {
      const replyChannel = (reply: Reply['reply']): void => {
        const wrapped = { type: REPLY_TYPES[sent.type], reply } as Reply;
        this.network.sendReply(to, from, wrapped, () => (sent.replyChannel as (r: Reply['reply']) => void)(reply));
      };
      this.#server(to).processMessage({ ...sent, replyChannel } as Message<T>);
    });
  }

  /** Runs the earliest timer due by `end` and returns true, or moves the clock to `end` and returns false. */
  #step(end: number): boolean {
    let due: Server<T> | undefined;
    let dueAt = Infinity;
    for (const server of this.#servers) {
      if (!this.#running[server.id]) continue;
      const deadline = server.nextDeadline();
      if (deadline < dueAt) {
        dueAt = deadline;
        due = server;
      }
    }
    if (due === undefined || dueAt > end) {
      this.#now = Math.max(this.#now, end);
      return false;
    }
    this.#now = Math.max(this.#now, dueAt);
    this.#timersFired++;
    due.tick();
    return true;
  }

  #endOf(ms: number): number {
    if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0) throw new InvalidArgumentError(`Expected a duration in ms (a finite number >= 0), got ${describe(ms)}`);
    return this.#now + ms;
  }

  #server(id: ServerId): Server<T> {
    return this.#servers[id] as Server<T>;
  }

  #checkId(id: ServerId): void {
    if (!Number.isSafeInteger(id) || id < 0 || id >= this.clusterSize) {
      throw new InvalidArgumentError(`Expected a server id in [0, ${this.clusterSize}), got ${describe(id)}`);
    }
  }
}

/** The methods a persistent state must have; checked on what a `persistentState` factory returns. */
const STORE_METHODS = ['advanceToTerm', 'incrementTerm', 'vote', 'getLogEntry', 'getLastLogEntry', 'appendToLog', 'truncateLog'] as const;

/** What the `persistentState` factory returned for server `id`, checked to be a store. */
function checkStore<T>(store: unknown, id: ServerId): IPersistentState<T> {
  const candidate = store as Record<string, unknown> | null | undefined;
  if (typeof candidate !== 'object' || candidate === null || STORE_METHODS.some((method) => typeof candidate[method] !== 'function')) {
    throw new ConfigurationError(`persistentState(${id})`, store, 'an IPersistentState (an object with advanceToTerm, incrementTerm, vote, getLogEntry, getLastLogEntry, appendToLog and truncateLog)');
  }
  return store as IPersistentState<T>;
}

/**
 * A `Server` whose every entry point takes the network's lock, so that a call made
 * directly on `cluster.servers[i]` is as safe as one made through the cluster: no handler
 * ever runs inside another. A call made while the lock is held (from an event listener)
 * runs right after the current handler; `propose` and `proposeAll`, which must answer at
 * once, run at once (the server's events are emitted only once its state is complete).
 */
class ClusterServer<T> extends Server<T> {
  readonly #network: InMemoryNetwork<T>;

  constructor(network: InMemoryNetwork<T>, options: ConstructorParameters<typeof Server<T>>[0]) {
    super(options);
    this.#network = network;
  }

  override processMessage(message: Message<T>): void {
    if (this.#network.takeHandOver()) super.processMessage(message); // the network delivering, under its lock
    else this.#network.runOrDefer(() => super.processMessage(message));
  }

  override tick(): void {
    this.#network.runOrDefer(() => super.tick());
  }

  override triggerTimeout(): void {
    this.#network.runOrDefer(() => super.triggerTimeout());
  }

  override triggerHeartbeat(): void {
    this.#network.runOrDefer(() => super.triggerHeartbeat());
  }

  override propose(data: T): ProposeResult {
    return this.#network.run(() => super.propose(data));
  }

  override proposeAll(data: readonly T[]): ProposeAllResult {
    return this.#network.run(() => super.proposeAll(data));
  }

  override readIndex(onDone: (result: ReadIndexResult) => void): void {
    this.#network.run(() => super.readIndex(onDone));
  }

  override transferLeadership(to: ServerId): TransferResult {
    return this.#network.run(() => super.transferLeadership(to));
  }

  override compact(data?: Uint8Array): LogPosition {
    return this.#network.run(() => super.compact(data));
  }
}
