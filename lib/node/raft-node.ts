import { EventEmitter } from 'eventemitter3';
import { InvalidArgumentError, InvalidMessageError, ProposalRefusedError, describe } from '../errors';
import type { WireValue, PeerTransport } from '../net/peer-transport';
import type { ServerOptions } from '../options';
import type { IPersistentState } from '../persistent-state';
import { Server, type ReadIndexResult, type ServerRole } from '../server';
import type { LogIndex, ServerId, Term } from '../types';
import { type ClientSession, type ClientSessionLimits, type CommandOutcome, DEFAULT_SESSION_LIMITS, invalidSessionReason } from './client-sessions';
import { CommandFailedError, NoLeaderError, NodeStoppedError, OutcomeUnknownError, SessionExpiredError } from './node-errors';
import { Forwarder } from './forwarding';
import { errorFor, isNodeEntry, readOutcomes, settledFrom, type Settled } from './outcomes';
import { messageFromWire, messageToWire } from './raft-wire';
import { AppliedWaiters, IndexWaiters } from './waiters';
import { SessionStateMachine, type NodeEntry, type NodeStateMachine } from './session-state-machine';

/** Server options a {@link RaftNode} passes through; it sets the rest itself. */
export type NodeServerOptions = Omit<ServerOptions<NodeEntry<WireValue>>, 'id' | 'clusterSize' | 'messageChannel' | 'persistentState' | 'stateMachine' | 'clock'>;

/** A store the node closes when it stops (`FilePersistentState` has `close`). */
export interface Closable {
  /** Releases the store; called once, by {@link RaftNode.stop}. */
  close?(): void;
}

/** What a {@link RaftNode} is built from. */
export interface RaftNodeOptions<C extends WireValue, R extends WireValue> {
  /** This member's id: its position in the transport's member list. */
  readonly id: ServerId;
  /** Messaging with the other members (a `TcpTransport` in production). */
  readonly transport: PeerTransport;
  /** Term, vote, log and snapshots (a `FilePersistentState` in production); closed by `stop`. */
  readonly persistentState: IPersistentState<NodeEntry<C>> & Closable;
  /** The application's state. */
  readonly stateMachine: NodeStateMachine<C, R>;
  /**
   * Raft settings. The node's defaults differ from a bare `Server`'s, for real networks and
   * disks: heartbeat 100 ms, election timeout 1,000 to 2,000 ms (etcd's), `preVote` and
   * `checkQuorum` on, `maxLogEntries` 10,000, `maxUncommittedBytes` 64 MiB,
   * `maxEntriesPerMessage` 1,000 and `maxBytesPerMessage` 4 MiB (so that an AppendEntries
   * stays well under the transport's 16 MiB frame limit).
   */
  readonly server?: NodeServerOptions;
  /** How long a proposal or read may wait before it fails. @default 5000 */
  readonly requestTimeoutMs?: number;
  /** How many clients and requests the session table remembers. */
  readonly sessionLimits?: ClientSessionLimits;
  /** The clock, in milliseconds. @default performance.now */
  readonly clock?: () => number;
}

/** Options of one {@link RaftNode.propose}. */
export interface ProposeOptions {
  /** Makes a retry safe: the command applies once per (clientId, sequence). */
  readonly session?: ClientSession;
}

/** What a {@link RaftNode} reports about itself. */
export interface NodeStatus {
  /** This member's id. */
  readonly id: ServerId;
  /** Its role now. */
  readonly role: ServerRole;
  /** Its current term. */
  readonly term: Term;
  /** The leader it knows, `null` when none. */
  readonly leaderId: ServerId | null;
  /** Its commit index. */
  readonly commitIndex: LogIndex;
  /** The last index applied to the state machine. */
  readonly lastApplied: LogIndex;
  /** The last index covered by its latest snapshot. */
  readonly snapshotIndex: LogIndex;
}

/** Counters a {@link RaftNode} keeps for metrics; each only grows. */
export interface NodeCounters {
  /** Commands proposed on this member while it led (its own and forwarded ones). */
  proposals: number;
  /** Commands this member forwarded to the leader. */
  forwardedProposals: number;
  /** Proposals that failed (no leader, unknown outcome, stopped). */
  failedProposals: number;
  /** Entries applied to the state machine. */
  applied: number;
  /** Linearizable reads served. */
  reads: number;
  /** Elections this member started. */
  elections: number;
  /** Times the known leader changed. */
  leaderChanges: number;
  /** Messages from peers refused as malformed. */
  invalidMessages: number;
  /** Errors thrown by the server (a failed sync, say): the step was not taken. */
  serverErrors: number;
}

/** The events of a {@link RaftNode}. */
export interface RaftNodeEvents {
  /** The known leader changed. */
  leaderChange: (leaderId: ServerId | undefined, term: Term) => void;
  /** The role changed. */
  roleChange: (role: ServerRole, term: Term) => void;
  /** An error the node survived (a failed sync, a malformed message): the step was not taken. */
  error: (error: Error) => void;
}

interface ProposalWaiter {
  readonly entry: NodeEntry<WireValue>;
  readonly settle: (outcome: Settled) => void;
  readonly deadline: number;
  /** Never forwarded again (it came from another member). */
  readonly forwarded: boolean;
}

interface ReadWaiter {
  /** Called once: with no error and the read index, or with the error. */
  readonly settle: (error: Error | undefined, index?: LogIndex) => void;
  readonly deadline: number;
  readonly forwarded: boolean;
}

/** How long between sweeps of expired waiters, in milliseconds. */
const SWEEP_INTERVAL_MS = 100;
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * A `Server` run for real: on timers from `nextDeadline()`, with its messages over a
 * {@link PeerTransport}, durable state in an {@link IPersistentState}, and the application's
 * {@link NodeStateMachine}. Its promise API is what an application calls:
 *
 * - {@link RaftNode.propose} resolves with the state machine's result once the command is
 *   applied on this member. Proposals that arrive in one turn of the event loop share one
 *   `proposeAll`, so one sync (group commit). A follower forwards them to the leader.
 * - {@link RaftNode.readIndex} resolves once this member's state may be read linearizably
 *   (thesis §6.4); a follower asks the leader for its read index, then waits to apply it.
 * - {@link RaftNode.stop} hands leadership to the most up-to-date follower, then closes.
 *
 * Failures are typed: {@link NoLeaderError} (nothing proposed, retry),
 * {@link OutcomeUnknownError} (may still apply: retry with the same session),
 * {@link SessionExpiredError}, {@link CommandFailedError}, {@link NodeStoppedError}.
 *
 * @example
 * ```ts
 * const node = new RaftNode({ id, transport, persistentState, stateMachine: new Counter() });
 * node.start();
 * const total = await node.propose(5, { session: { clientId: 'c1', sequence: 1 } });
 * await node.readIndex();   // then read the counter locally
 * await node.stop();
 * ```
 */
export class RaftNode<C extends WireValue, R extends WireValue> extends EventEmitter<RaftNodeEvents> {
  /** This member's id. */
  readonly id: ServerId;
  /** The Raft server inside (read its state; drive it only through the node). */
  readonly server: Server<NodeEntry<C>>;
  /** The counters behind the metrics. */
  readonly counters: NodeCounters = { proposals: 0, forwardedProposals: 0, failedProposals: 0, applied: 0, reads: 0, elections: 0, leaderChanges: 0, invalidMessages: 0, serverErrors: 0 };

  readonly #transport: PeerTransport;
  readonly #persistentState: RaftNodeOptions<C, R>['persistentState'];
  readonly #machine: SessionStateMachine<C, R>;
  readonly #clock: () => number;
  readonly #requestTimeoutMs: number;
  /** Proposals waiting for the next turn's `proposeAll`. */
  #queuedProposals: ProposalWaiter[] = [];
  /** Reads waiting for the next turn. */
  #queuedReads: ReadWaiter[] = [];
  #flushScheduled = false;
  /** Proposals appended by this member as leader, waiting to be applied. */
  readonly #appliedWaiters = new AppliedWaiters();
  /** Reads waiting for this member to apply up to their read index. */
  readonly #indexWaiters = new IndexWaiters();
  /** Requests forwarded to the leader, waiting for its answer. */
  readonly #forwarder: Forwarder;
  #timer: NodeJS.Timeout | undefined;
  #timerAt = Infinity;
  #sweeper: NodeJS.Timeout | undefined;
  #started = false;
  #stopped = false;

  /**
   * Builds the node; nothing runs until {@link RaftNode.start}.
   * @throws {@link ConfigurationError} when a server option is invalid.
   */
  constructor(options: RaftNodeOptions<C, R>) {
    super();
    this.id = options.id;
    this.#transport = options.transport;
    this.#forwarder = new Forwarder(options.transport);
    this.#persistentState = options.persistentState;
    this.#clock = options.clock ?? (() => performance.now());
    this.#requestTimeoutMs = options.requestTimeoutMs ?? 5000;
    if (!(this.#requestTimeoutMs > 0)) throw new InvalidArgumentError(`requestTimeoutMs must be > 0, got ${describe(options.requestTimeoutMs)}`);
    this.#machine = new SessionStateMachine<C, R>(options.stateMachine, (index, term, outcome) => this.#applied(index, term, outcome), options.sessionLimits ?? DEFAULT_SESSION_LIMITS);
    this.server = new Server<NodeEntry<C>>({
      heartbeatTimeout: 100,
      electionTimeout: 1000,
      electionTimeoutRange: 1000,
      preVote: true,
      checkQuorum: true,
      maxLogEntries: 10_000,
      maxUncommittedBytes: 64 * 1024 * 1024,
      maxEntriesPerMessage: 1000,
      maxBytesPerMessage: 4 * 1024 * 1024,
      ...(options.server as Omit<ServerOptions<NodeEntry<C>>, 'id'> | undefined),
      id: options.id,
      clusterSize: options.transport.clusterSize,
      persistentState: options.persistentState,
      stateMachine: this.#machine,
      clock: this.#clock,
      // A message the transport drops is lost like any other: Raft resends.
      messageChannel: (to, message) => void this.#transport.send(to, messageToWire(message), (reply) => this.#step(() => (message.replyChannel as (reply: unknown) => void)(reply))),
    });
    this.server.on('roleChange', (role, term) => {
      if (role === 'candidate') this.counters.elections++;
      this.emit('roleChange', role, term);
    });
    this.server.on('leaderChange', (leaderId, term) => {
      this.counters.leaderChanges++;
      this.#forwarder.leaderChanged(leaderId);
      this.emit('leaderChange', leaderId, term);
    });
    this.server.on('committed', () => this.#indexWaiters.release(this.server.volatileState.lastApplied));
    this.server.on('snapshotInstalled', () => this.#indexWaiters.release(this.server.volatileState.lastApplied));
  }

  /** Starts the timers and begins answering peers. Calling it twice does nothing. */
  start(): void {
    if (this.#started || this.#stopped) return;
    this.#started = true;
    this.#transport.onRequest((from, body, reply) => this.#receive(from, body, reply));
    this.#sweeper = setInterval(() => this.#sweep(), SWEEP_INTERVAL_MS);
    this.#sweeper.unref();
    this.#arm();
  }

  /** Where this member stands now. */
  status(): NodeStatus {
    const { commitIndex, lastApplied } = this.server.volatileState;
    return { id: this.id, role: this.server.role, term: this.server.currentTerm, leaderId: this.server.leaderId ?? null, commitIndex, lastApplied, snapshotIndex: this.server.snapshot.index };
  }

  /** Number of clients the session table remembers now. */
  get sessionCount(): number {
    return this.#machine.sessions.size;
  }

  /**
   * Proposes `command`; resolves with the state machine's result once it is applied here
   * (on a follower, once the leader applied it).
   * @throws (rejects) {@link NoLeaderError}, {@link OutcomeUnknownError},
   *   {@link SessionExpiredError}, {@link CommandFailedError}, {@link NodeStoppedError};
   *   {@link InvalidArgumentError} for a malformed session.
   */
  propose(command: C, options: ProposeOptions = {}): Promise<R> {
    if (this.#stopped || !this.#started) return Promise.reject(new NodeStoppedError());
    const session = options.session;
    if (session !== undefined) {
      const reason = invalidSessionReason(session);
      if (reason !== undefined) return Promise.reject(new InvalidArgumentError(`propose: ${reason}`));
    }
    const entry: NodeEntry<C> = session === undefined ? { command } : { command, session: { clientId: session.clientId, sequence: session.sequence } };
    return new Promise<R>((resolve, reject) => {
      this.#queueProposal(entry, false, (outcome) => {
        if (outcome.ok) resolve(outcome.result as R);
        else {
          this.counters.failedProposals++;
          reject(errorFor(outcome, session));
        }
      });
    });
  }

  /**
   * A linearizable read: resolves once this member's state machine may be read, reflecting
   * every write acknowledged before the call.
   * @throws (rejects) {@link NoLeaderError} when no leader could confirm the read in time,
   *   {@link NodeStoppedError}.
   */
  readIndex(): Promise<void> {
    if (this.#stopped || !this.#started) return Promise.reject(new NodeStoppedError());
    return new Promise<void>((resolve, reject) => {
      this.#queueRead(false, (error) => {
        if (error === undefined) {
          this.counters.reads++;
          resolve();
        } else reject(error);
      });
    });
  }

  /**
   * Stops: a leader first hands leadership to the most up-to-date follower (waiting at most
   * `transferTimeoutMs`, default 2,000; 0 skips the hand-over), so the cluster does not wait
   * out an election timeout; then the timers stop, waiting requests fail, the transport and
   * the store close.
   */
  async stop(options: { readonly transferTimeoutMs?: number } = {}): Promise<void> {
    if (this.#stopped) return;
    const transferTimeoutMs = options.transferTimeoutMs ?? 2000;
    if (this.#started && transferTimeoutMs > 0 && this.server.role === 'leader' && this.server.clusterSize > 1) await this.#handOver(transferTimeoutMs);
    this.#stopped = true;
    clearTimeout(this.#timer);
    clearInterval(this.#sweeper);
    const stopped = new NodeStoppedError();
    for (const waiter of this.#queuedProposals) waiter.settle(settledFrom(stopped));
    for (const waiter of this.#queuedReads) waiter.settle(stopped);
    this.#appliedWaiters.failAll({ ok: false, code: 'OUTCOME_UNKNOWN', message: 'the node stopped before the entry was applied' });
    this.#indexWaiters.failAll(stopped);
    this.#forwarder.failAll(new OutcomeUnknownError('the node stopped while the leader had the request'));
    this.#queuedProposals = [];
    this.#queuedReads = [];
    await this.#transport.close();
    this.#persistentState.close?.();
  }

  // ------------------------------------------------------------ the event loop

  /** Runs one input of the server, survives its errors, and re-arms the timer. */
  #step(input: () => void): void {
    if (this.#stopped) return;
    try {
      input();
    } catch (error) {
      if (error instanceof InvalidMessageError) this.counters.invalidMessages++;
      else this.counters.serverErrors++;
      this.emit('error', error instanceof Error ? error : new Error(String(error)));
    }
    this.#arm();
  }

  /** Sets the timer for the server's next deadline, unless one is set for earlier. */
  #arm(): void {
    if (this.#stopped || !this.#started) return;
    const deadline = this.server.nextDeadline();
    if (this.#timer !== undefined && this.#timerAt <= deadline) return;
    clearTimeout(this.#timer);
    this.#timerAt = deadline;
    const delay = Math.min(MAX_TIMER_MS, Math.max(0, Math.ceil(deadline - this.#clock())));
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#timerAt = Infinity;
      this.#step(() => this.server.tick());
    }, delay);
  }

  #scheduleFlush(): void {
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    setImmediate(() => {
      this.#flushScheduled = false;
      this.#flushProposals();
      this.#flushReads();
    });
  }

  // ------------------------------------------------------------ proposals

  #queueProposal(entry: NodeEntry<WireValue>, forwarded: boolean, settle: (outcome: Settled) => void): void {
    this.#queuedProposals.push({ entry, settle, deadline: this.#clock() + this.#requestTimeoutMs, forwarded });
    this.#scheduleFlush();
  }

  /** One `proposeAll` for every proposal of the turn: one append, one sync. */
  #flushProposals(): void {
    const batch = this.#queuedProposals;
    if (batch.length === 0 || this.#stopped) return;
    this.#queuedProposals = [];
    if (this.server.role !== 'leader') {
      this.#forwardProposals(batch);
      return;
    }
    let result: ReturnType<Server<NodeEntry<C>>['proposeAll']> | undefined;
    let failure: unknown;
    this.#step(() => {
      try {
        result = this.#appliedWaiters.proposeAndWait(
          () => this.server.proposeAll(batch.map((waiter) => waiter.entry as NodeEntry<C>)),
          (appended) => (appended.type === 'appended' ? appended : undefined),
          batch,
        );
      } catch (error) {
        failure = error;
      }
    });
    if (result === undefined) {
      // Refused before appending (over maxUncommittedBytes), or appended but not synced:
      // the entries may still commit, so their outcome is unknown.
      const outcome: Settled =
        failure instanceof ProposalRefusedError
          ? { ok: false, code: 'OVERLOADED', message: failure.message }
          : { ok: false, code: 'OUTCOME_UNKNOWN', message: `the leader failed to store the entries: ${failure instanceof Error ? failure.message : String(failure)}` };
      for (const waiter of batch) waiter.settle(outcome);
      return;
    }
    if (result.type === 'appended') {
      this.counters.proposals += batch.length;
      return;
    }
    this.#forwardProposals(batch);
  }

  /** Sends proposals to the leader, or fails them with `NoLeaderError` when none is reachable. */
  #forwardProposals(batch: readonly ProposalWaiter[]): void {
    const leaderId = this.server.leaderId;
    const local = batch.filter((waiter) => !waiter.forwarded);
    for (const waiter of batch) if (waiter.forwarded) waiter.settle({ ok: false, code: 'NO_LEADER', message: `member ${this.id} is not the leader` });
    if (local.length === 0) return;
    const noLeader: Settled = { ok: false, code: 'NO_LEADER', message: leaderId === undefined ? 'no leader is known; nothing was proposed' : `the leader (member ${leaderId}) is unreachable; nothing was proposed` };
    if (leaderId === undefined || leaderId === this.id) {
      for (const waiter of local) waiter.settle(noLeader);
      return;
    }
    const deadline = Math.max(...local.map((waiter) => waiter.deadline));
    const body: WireValue = { kind: 'propose', entries: local.map((waiter) => waiter.entry as unknown as WireValue) };
    const sent = this.#forwarder.send(
      leaderId,
      body,
      deadline,
      (answer) => {
        const outcomes = readOutcomes(answer, local.length);
        local.forEach((waiter, i) => waiter.settle(outcomes[i] ?? { ok: false, code: 'OUTCOME_UNKNOWN', message: 'the leader sent a malformed answer' }));
      },
      (error) => {
        for (const waiter of local) waiter.settle(settledFrom(error));
      },
    );
    if (!sent) {
      for (const waiter of local) waiter.settle(noLeader);
      return;
    }
    this.counters.forwardedProposals += local.length;
  }

  /** Called by the state machine for every applied entry: settles the proposal waiting on it. */
  #applied(index: LogIndex, term: Term, outcome: CommandOutcome): void {
    this.counters.applied++;
    this.#appliedWaiters.applied(index, term, outcome);
  }

  // ------------------------------------------------------------ reads

  #queueRead(forwarded: boolean, settle: (error: Error | undefined, index?: LogIndex) => void): void {
    this.#queuedReads.push({ settle, deadline: this.#clock() + this.#requestTimeoutMs, forwarded });
    this.#scheduleFlush();
  }

  /** One read index for every read of the turn (the server shares its heartbeat round too). */
  #flushReads(): void {
    const batch = this.#queuedReads;
    if (batch.length === 0 || this.#stopped) return;
    this.#queuedReads = [];
    const settleAll = (error: Error | undefined, index?: LogIndex): void => {
      for (const waiter of batch) waiter.settle(error, index);
    };
    this.#step(() =>
      this.server.readIndex((result: ReadIndexResult) => {
        if (result.type === 'ready') settleAll(undefined, result.index);
        else if (result.type === 'forward' && result.leaderId !== this.id) this.#forwardReads(batch, result.leaderId);
        else settleAll(new NoLeaderError());
      }),
    );
  }

  #forwardReads(batch: readonly ReadWaiter[], leaderId: ServerId): void {
    const local = batch.filter((waiter) => !waiter.forwarded);
    for (const waiter of batch) if (waiter.forwarded) waiter.settle(new NoLeaderError(`member ${this.id} is not the leader`));
    if (local.length === 0) return;
    const settleAll = (error: Error | undefined): void => {
      for (const waiter of local) waiter.settle(error);
    };
    const deadline = Math.max(...local.map((waiter) => waiter.deadline));
    const sent = this.#forwarder.send(
      leaderId,
      { kind: 'readIndex' },
      deadline,
      (answer) => {
        const index = typeof answer === 'object' && answer !== null && !Array.isArray(answer) ? (answer as { readonly index?: WireValue }).index : undefined;
        if (typeof index !== 'number' || !Number.isSafeInteger(index) || index < 0) settleAll(new NoLeaderError(`the leader (member ${leaderId}) could not serve the read`));
        else this.#indexWaiters.wait(index, this.server.volatileState.lastApplied, deadline, settleAll);
      },
      // Nothing was written: whatever went wrong, the read is safe to retry.
      (error) => settleAll(error instanceof OutcomeUnknownError ? new NoLeaderError(`the read was not confirmed: ${error.message}`) : error),
    );
    if (!sent) settleAll(new NoLeaderError(`the leader (member ${leaderId}) is unreachable`));
  }

  // ------------------------------------------------------------ peers

  /** A request from a peer: a Raft message, or a forwarded proposal or read. */
  #receive(from: ServerId, body: WireValue, reply: (answer: WireValue) => void): void {
    if (this.#stopped) return;
    const kind = typeof body === 'object' && body !== null && !Array.isArray(body) ? (body as { readonly kind?: WireValue }).kind : undefined;
    if (kind === 'raft') {
      this.#step(() => this.server.processMessage(messageFromWire<NodeEntry<C>>((body as { readonly message: WireValue }).message, reply)));
    } else if (kind === 'propose') {
      this.#receiveProposals(body as { readonly entries?: WireValue }, reply);
    } else if (kind === 'readIndex') {
      this.#queueRead(true, (error, index) => reply(error === undefined ? { index: index ?? this.server.volatileState.lastApplied } : { error: error.message }));
    } else {
      this.counters.invalidMessages++;
      this.emit('error', new InvalidMessageError('kind', kind, `one of raft, propose, readIndex (from member ${from})`));
    }
  }

  #receiveProposals(body: { readonly entries?: WireValue }, reply: (answer: WireValue) => void): void {
    const entries = body.entries;
    if (!Array.isArray(entries) || entries.length === 0 || !entries.every(isNodeEntry)) {
      this.counters.invalidMessages++;
      reply({ outcomes: [] });
      return;
    }
    const outcomes: Settled[] = new Array<Settled>(entries.length);
    let pending = entries.length;
    (entries as readonly NodeEntry<WireValue>[]).forEach((entry, i) => {
      this.#queueProposal(entry, true, (outcome) => {
        outcomes[i] = outcome;
        if (--pending === 0) reply({ outcomes: outcomes as unknown as WireValue });
      });
    });
  }

  // ------------------------------------------------------------ deadlines and hand-over

  /** Fails what waited too long, and proposals whose index was applied without them. */
  #sweep(): void {
    const now = this.#clock();
    this.#appliedWaiters.sweep(now, this.server.volatileState.lastApplied, this.#requestTimeoutMs);
    this.#indexWaiters.sweep(now);
    this.#forwarder.sweep(now, this.#requestTimeoutMs);
  }

  async #handOver(timeoutMs: number): Promise<void> {
    const leaderState = this.server.leaderState;
    if (leaderState === undefined) return;
    let best: ServerId | undefined;
    leaderState.matchIndex.forEach((match, id) => {
      if (id !== this.id && (best === undefined || match > (leaderState.matchIndex[best] ?? -1))) best = id;
    });
    if (best === undefined) return;
    const to = best;
    await new Promise<void>((resolve) => {
      const finish = (): void => {
        clearTimeout(timer);
        this.server.off('roleChange', onRole);
        resolve();
      };
      const onRole = (role: ServerRole): void => {
        if (role !== 'leader') finish();
      };
      const timer = setTimeout(finish, timeoutMs);
      this.server.on('roleChange', onRole);
      this.#step(() => this.server.transferLeadership(to));
    });
  }
}
