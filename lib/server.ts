import { EventEmitter } from 'eventemitter3';
import { compactLog } from './compaction';
import { answerRequestVote } from './election';
import { InvalidArgumentError, describe } from './errors';
import { checkCommittedEntries, receiveAppendEntries } from './follower';
import type { Message } from './messages';
import { resolveServerOptions, type ServerOptions } from './options';
import type { IPersistentState } from './persistent-state';
import { ServerState } from './server-state';
import { receiveTimeoutNow } from './leadership-transfer';
import { receiveInstallSnapshot } from './snapshot-transfer';
import type { LogEntry, LogIndex, LogPosition, ServerId, Snapshot, Term } from './types';
import { validateMessage } from './validation';

/** The three roles of a Raft server (§5.1). */
export type ServerRole = 'follower' | 'candidate' | 'leader';

/** Figure 2's volatile state on all servers. */
export interface VolatileState {
  /** Highest log index known to be committed. */
  commitIndex: LogIndex;
  /** Highest log index handed to the `committed` event. */
  lastApplied: LogIndex;
}

/** Figure 2's volatile state on leaders, indexed by {@link ServerId}. */
export interface LeaderState {
  /** For each server, the index of the next entry to send to it. */
  nextIndex: LogIndex[];
  /** For each server, the highest index known to be replicated on it (the leader's own last index in its own slot). */
  matchIndex: LogIndex[];
}

/** What {@link Server.propose} did with the data: one of three outcomes. */
export type ProposeResult = ProposeAppended | ProposeForward | ProposeDelay;

/** This server is the leader: the entry is in its log at `index`, and replication has started. */
export interface ProposeAppended {
  /** Discriminant. */
  readonly type: 'appended';
  /** Where the entry now stands in the leader's log. */
  readonly index: LogIndex;
  /** The leader's term, stamped on the entry. */
  readonly term: Term;
}

/** This server is a follower that knows the leader: send the proposal there. */
export interface ProposeForward {
  /** Discriminant. */
  readonly type: 'forward';
  /** The leader of the current term. */
  readonly leaderId: ServerId;
}

/** What {@link Server.proposeAll} did with a batch. */
export type ProposeAllResult = ProposeBatchAppended | ProposeForward | ProposeDelay;

/** This server is the leader: the batch is in its log at `firstIndex..lastIndex`, and replication has started. */
export interface ProposeBatchAppended {
  /** Discriminant. */
  readonly type: 'appended';
  /** Index of the batch's first entry. */
  readonly firstIndex: LogIndex;
  /** Index of the batch's last entry (`firstIndex - 1` for an empty batch). */
  readonly lastIndex: LogIndex;
  /** The leader's term, stamped on every entry of the batch. */
  readonly term: Term;
}

/** What {@link Server.transferLeadership} did: started (leader), or where to ask. */
export type TransferResult = TransferStarted | ProposeForward | ProposeDelay;

/** This server leads and has started handing over: it answers proposals with `delay` until the transfer ends. */
export interface TransferStarted {
  /** Discriminant. */
  readonly type: 'started';
}

/** What {@link Server.readIndex} answers: ready to read at an index (leader), or where to ask. */
export type ReadIndexResult = ReadReady | ProposeForward | ProposeDelay;

/** A linearizable read may be served now: the state machine has applied at least `index`, and this server was the leader after the read arrived. */
export interface ReadReady {
  /** Discriminant. */
  readonly type: 'ready';
  /** The read index: the leader's commitIndex when it was sure of its leadership. */
  readonly index: LogIndex;
}

/** No leader is known (an election is under way): try again later. */
export interface ProposeDelay {
  /** Discriminant. */
  readonly type: 'delay';
}

/**
 * The events a {@link Server} emits, synchronously, inside the call that caused them.
 *
 * @example
 * ```ts
 * server.on('committed', (entries) => entries.forEach((e) => stateMachine.apply(e.data)));
 * server.on('leaderChange', (leaderId, term) => console.log(`term ${term}: leader ${leaderId}`));
 * ```
 */
export interface ServerEvents<T> {
  /** Newly committed entries, in index order; each index once per Server object. `lastApplied` follows. */
  committed: (entries: readonly LogEntry<T>[]) => void;
  /** The known leader of the current term changed, including to `undefined` and to this server itself. */
  leaderChange: (leaderId: ServerId | undefined, term: Term) => void;
  /** This server's role changed; `term` is the term it changed in. */
  roleChange: (role: ServerRole, term: Term) => void;
  /**
   * A leader's snapshot replaced this server's state (after `stateMachine.restoreSnapshot`):
   * `commitIndex` and `lastApplied` are now its last index, and the entries it covers are
   * never reported by `committed`.
   */
  snapshotInstalled: (snapshot: Snapshot) => void;
}

/**
 * One Raft server: a mutable state machine driven by four kinds of input (messages, clock
 * ticks, explicit triggers, proposals) that talks to its peers only through
 * `messageChannel` and the reply callbacks that messages carry.
 *
 * Durable state (term, vote, log) lives in its {@link IPersistentState}; everything else is
 * volatile, so a new `Server` over the same persistent state is that server restarted.
 * Nothing happens by itself: the host calls {@link Server.tick} at {@link Server.nextDeadline}
 * (or on a timer), and delivers messages with {@link Server.processMessage}.
 *
 * @example
 * ```ts
 * const server = new Server<string>({ id: 0, clusterSize: 3, messageChannel: send });
 * server.on('committed', (entries) => apply(entries));
 * setInterval(() => server.tick(), 10);
 * transport.onMessage((message) => server.processMessage(message));
 * const result = server.propose('set x 1');
 * ```
 */
export class Server<T> extends EventEmitter<ServerEvents<T>> {
  /** This server's id. */
  readonly id: ServerId;
  /** Number of servers in the cluster. */
  readonly clusterSize: number;
  /** Where the term, vote and log live. */
  readonly persistentState: IPersistentState<T>;

  readonly #state: ServerState<T>;

  /**
   * Creates a follower with the term, vote and log found in the persistent state.
   * @throws {@link ConfigurationError} when an option is invalid.
   */
  constructor(options: ServerOptions<T>) {
    super();
    const resolved = resolveServerOptions(options);
    this.id = resolved.id;
    this.clusterSize = resolved.clusterSize;
    this.persistentState = resolved.persistentState;
    this.#state = new ServerState(resolved, this);
    const snapshot = this.#state.log.snapshot.index > 0 ? this.persistentState.getSnapshot?.() : undefined;
    if (snapshot !== undefined) resolved.stateMachine?.restoreSnapshot(snapshot.data);
  }

  /** The current role. */
  get role(): ServerRole {
    return this.#state.role.name;
  }

  /** The latest term this server has seen (from its persistent state). */
  get currentTerm(): Term {
    return this.persistentState.currentTerm;
  }

  /** The leader known for the current term; this server's own id when it leads. */
  get leaderId(): ServerId | undefined {
    return this.#state.leaderId;
  }

  /** A snapshot of `commitIndex` and `lastApplied`. */
  get volatileState(): Readonly<VolatileState> {
    const { log } = this.#state;
    return { commitIndex: log.commitIndex, lastApplied: log.lastApplied };
  }

  /** The last entry covered by the latest snapshot (taken here or installed from a leader); `{0, 0}` when none. */
  get snapshot(): LogPosition {
    return this.#state.log.snapshot;
  }

  /** A snapshot of `nextIndex` and `matchIndex` per server, present only while leader. */
  get leaderState(): Readonly<LeaderState> | undefined {
    return this.#state.role.leaderState();
  }

  // ---------------------------------------------------------------- inputs

  /**
   * Handles a request from a peer and calls its `replyChannel` exactly once, after the
   * persistent state holds what the reply promises.
   * @throws {@link InvalidMessageError} when the message is malformed; then nothing changes and no reply is sent.
   */
  processMessage(message: Message<T>): void {
    const state = this.#state;
    const checked = validateMessage<T>(message, this);
    if (checked.type === 'appendEntries') checkCommittedEntries(state, checked);
    state.step('processMessage', () => {
      if (checked.type === 'requestVote') answerRequestVote(state, checked);
      else if (checked.type === 'appendEntries') receiveAppendEntries(state, checked);
      else if (checked.type === 'installSnapshot') receiveInstallSnapshot(state, checked);
      else receiveTimeoutNow(state, checked);
    });
  }

  /** Reads the clock and does what is due: starts an election, or sends heartbeats as leader. */
  tick(): void {
    const state = this.#state;
    state.step('tick', () => state.role.tick(state.options.clock()));
  }

  /**
   * The clock time at which {@link Server.tick} next has work: a heartbeat or an election
   * timeout; now, while committed entries wait to be applied (see `maxCommittedEntriesPerEvent`).
   */
  nextDeadline(): number {
    const state = this.#state;
    const deadline = state.role.nextDeadline();
    if (state.log.lastApplied < state.log.commitIndex) return Math.min(deadline, state.options.clock());
    return deadline;
  }

  /** Acts as if the election timeout fired now: a follower or candidate starts an election; a leader ignores it. */
  triggerTimeout(): void {
    const state = this.#state;
    state.step('triggerTimeout', () => state.role.triggerTimeout());
  }

  /** As leader, sends AppendEntries to every other server now; others ignore it. */
  triggerHeartbeat(): void {
    const state = this.#state;
    state.step('triggerHeartbeat', () => state.role.triggerHeartbeat());
  }

  /**
   * Proposes data for the replicated log. A leader appends it and starts replicating it
   * within this call; a follower that knows the leader says where to forward it; otherwise
   * the caller should retry later. `appended` is not `committed`: wait for the event.
   *
   * @example
   * ```ts
   * const result = server.propose({ key: 'x', value: 1 });
   * if (result.type === 'forward') peers[result.leaderId].propose({ key: 'x', value: 1 });
   * ```
   */
  propose(data: T): ProposeResult {
    const state = this.#state;
    const result = state.step('propose', () => state.role.propose([data]));
    return result.type === 'appended' ? { type: 'appended', index: result.lastIndex, term: result.term } : result;
  }

  /**
   * Proposes a batch: a leader appends every item, in order, as consecutive entries, and
   * replicates them together (one store call when the store has `appendEntries`, and
   * AppendEntries as full as `maxEntriesPerMessage` allows). Much faster than one `propose`
   * per item under load. An empty batch appends nothing (`firstIndex` is then `lastIndex + 1`).
   *
   * @example
   * ```ts
   * const result = leader.proposeAll(['a', 'b', 'c']);
   * if (result.type === 'appended') console.log(`entries ${result.firstIndex}..${result.lastIndex}`);
   * ```
   * @throws {@link InvalidArgumentError} when `data` is not an array.
   */
  proposeAll(data: readonly T[]): ProposeAllResult {
    if (!Array.isArray(data)) throw new InvalidArgumentError(`proposeAll expects an array, got ${describe(data)}`);
    const state = this.#state;
    return state.step('proposeAll', () => state.role.propose(data));
  }

  /**
   * Compacts the log now (Raft §7): stores a snapshot of the state at `lastApplied` (`data`,
   * or `stateMachine.takeSnapshot()` when `data` is absent) and drops the entries it covers
   * but the last `trailingLogEntries`. Followers that need a dropped entry get the snapshot.
   * Does nothing when nothing was applied since the latest snapshot.
   *
   * @example
   * ```ts
   * const position = server.compact();          // with the stateMachine option
   * const same = server.compact(myStateBytes);  // or with the state given as bytes
   * ```
   * @returns the latest snapshot's last entry (`{index: 0, term: 0}` when nothing was ever applied).
   * @throws {@link InvalidArgumentError} when `data` is absent and there is no `stateMachine`,
   * when `data` is not a `Uint8Array`, or when the persistent state cannot hold snapshots.
   */
  compact(data?: Uint8Array): LogPosition {
    const state = this.#state;
    return state.step('compact', () => compactLog(state, data));
  }

  /**
   * Hands leadership to server `to` (thesis §3.10). A leader stops taking proposals
   * (`propose` answers `delay`), brings `to` up to date, then sends it `timeoutNow`, and `to`
   * starts an election at once; if `to` has not become leader within an election timeout,
   * the leader takes proposals again. A second call for the same server changes nothing; for
   * another server, it replaces the transfer under way. A follower answers where the leader
   * is (`forward`), a server without leader `delay`.
   *
   * @example
   * ```ts
   * const result = server.transferLeadership(2);   // before taking this machine down
   * if (result.type === 'forward') servers[result.leaderId].transferLeadership(2);
   * ```
   * @throws {@link InvalidArgumentError} when `to` is not a server id of the cluster, or is
   * this server while it leads.
   */
  transferLeadership(to: ServerId): TransferResult {
    if (typeof to !== 'number' || !Number.isSafeInteger(to) || to < 0 || to >= this.clusterSize) {
      throw new InvalidArgumentError(`transferLeadership expects a server id in [0, ${this.clusterSize}), got ${describe(to)}`);
    }
    const state = this.#state;
    if (to === this.id && state.role.name === 'leader') throw new InvalidArgumentError(`transferLeadership: server ${to} is the leader already`);
    return state.step('transferLeadership', () => state.role.transferLeadership(to));
  }

  /**
   * A linearizable read (thesis §6.4): calls `onDone` exactly once, in this call or a later
   * one, after the call's events. A leader answers `ready` with an index once its state
   * machine has applied it and reading then is linearizable (see `readMode`); a leader that
   * has committed nothing in its term first appends a no-op entry (at most one per term,
   * never shown to `committed` listeners or the state machine). A follower answers
   * `forward`, a server without leader `delay`; a leader that loses leadership before
   * `ready` answers `forward` or `delay`.
   *
   * @example
   * ```ts
   * server.readIndex((result) => {
   *   if (result.type === 'ready') respond(stateMachine.get(key));   // applied up to result.index
   *   else if (result.type === 'forward') forwardTo(result.leaderId);
   * });
   * ```
   * @throws {@link InvalidArgumentError} when `onDone` is not a function.
   */
  readIndex(onDone: (result: ReadIndexResult) => void): void {
    if (typeof onDone !== 'function') throw new InvalidArgumentError(`readIndex expects a function, got ${describe(onDone)}`);
    const state = this.#state;
    state.step('readIndex', () => state.role.readIndex(onDone));
  }
}
