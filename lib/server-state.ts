import type { EventEmitter } from 'eventemitter3';
import { applyCommitted } from './commitment';
import { compactIfDue } from './compaction';
import { DeferredEvents } from './deferred-events';
import { ReentrancyError } from './errors';
import { CandidateRole } from './election';
import { FollowerRole } from './follower';
import { LeaderRole } from './leader';
import { PreVoteRole } from './pre-vote';
import { RaftLog } from './log';
import type { ResolvedServerOptions } from './options';
import { Outbox } from './outbox';
import type { LeaderState, ProposeBatchAppended, ProposeDelay, ProposeForward, ReadIndexResult, ServerEvents, ServerRole, TransferResult } from './server';
import { SnapshotReceiver } from './snapshot-transfer';
import type { ServerId, Term } from './types';

/**
 * What a server does in its current role. One object per role and term: the server swaps it
 * on every change of role (and for every new election or leadership), so each handler does
 * its role's job without asking which role it is in, and a callback that captured an old role
 * object can tell it is out of date by comparing it with {@link ServerState.role}.
 */
export interface Role<T> {
  /** The role's name, as {@link Server.role} reports it. */
  readonly name: ServerRole;
  /** The clock time at which {@link Role.tick} next has work. */
  nextDeadline(): number;
  /** Does what is due at `now`: start an election, or send heartbeats. */
  tick(now: number): void;
  /** The election timeout fired early (`triggerTimeout`). */
  triggerTimeout(): void;
  /** A heartbeat is asked for now (`triggerHeartbeat`). */
  triggerHeartbeat(): void;
  /** Appends and replicates a batch (leader), or says where to send it. */
  propose(items: readonly T[]): ProposeBatchAppended | ProposeForward | ProposeDelay;
  /**
   * An AppendEntries of the current term arrived from `leaderId`. Returns whether this server
   * now follows that leader (a candidate steps down; a leader refuses: two leaders in one
   * term can only mean a faulty peer).
   */
  followLeader(leaderId: ServerId): boolean;
  /** Figure 2's leader state, while leading. */
  leaderState(): LeaderState | undefined;
  /** Hands leadership to `to` (leader), or says where to ask. */
  transferLeadership(to: ServerId): TransferResult;
  /** Takes a read (leader), or answers where to ask. */
  readIndex(onDone: (result: ReadIndexResult) => void): void;
  /** Work at the end of every step, after committed entries were applied (a leader answers the reads that became ready). */
  afterStep?(): void;
  /** This role object is being replaced: answer what it still owes (a leader's waiting reads). */
  leave?(): void;
}

/**
 * The state one server's parts share: the options, the log, the outbox, the deferred events,
 * the current role, the known leader and the election timer; and the transitions between
 * roles. Terms are handled here and nowhere else: {@link ServerState.observeTerm} is the one
 * place a server adopts a later term.
 */
export class ServerState<T> {
  /** The checked options the server was built with. */
  readonly options: ResolvedServerOptions<T>;
  /** This server's id. */
  readonly id: ServerId;
  /** The log, with the commit and applied indices. */
  readonly log: RaftLog<T>;
  /** The only way out: messages and replies, each after a sync. */
  readonly outbox: Outbox<T>;
  /** Events raised during a call, emitted when its outermost step returns. */
  readonly events: DeferredEvents<ServerEvents<T>>;
  /** What this server does in its current role. */
  role: Role<T>;
  /** The leader known for the current term. */
  leaderId: ServerId | undefined = undefined;
  /** When a follower or candidate next starts an election, unless it hears from a leader. */
  electionDeadline: number;
  /** A snapshot a leader is sending this server, chunk by chunk. */
  readonly snapshotReceiver = new SnapshotReceiver();
  /** When this server last heard from the leader of its current term (`-Infinity`: never). */
  lastLeaderContact = -Infinity;
  /**
   * With `readMode: 'lease'`, a server restarted over a store that saw a term counts as in a
   * lease until one election timeout after it started: it may have followed a leader whose
   * lease still holds, and forgot it in the crash.
   */
  readonly #restartLeaseEnd: number;

  /** The state of a server starting as a follower; events are emitted on `emitter`. */
  constructor(options: ResolvedServerOptions<T>, emitter: EventEmitter<ServerEvents<T>>) {
    this.options = options;
    this.id = options.id;
    this.log = new RaftLog(options.persistentState);
    this.outbox = new Outbox(options.persistentState, options.messageChannel);
    this.events = new DeferredEvents(emitter);
    this.electionDeadline = this.#newElectionDeadline();
    this.role = new FollowerRole(this);
    const restarted = options.persistentState.currentTerm > 0;
    this.#restartLeaseEnd = options.readMode === 'lease' && restarted ? options.clock() + options.electionTimeout : -Infinity;
  }

  /** The current term, from the persistent state. */
  get currentTerm(): Term {
    return this.log.store.currentTerm;
  }

  /** Whether a step is running: the server is handling an input and must not be re-entered. */
  #busy = false;
  /** Committed entries the current step may still hand to the `committed` event. */
  applyBudget = 0;

  /**
   * Runs the work of one input (`call` names it for errors). Refuses re-entry: a channel that
   * calls back into the server while it handles an input gets a {@link ReentrancyError} and
   * changes nothing. Each step may apply up to `maxCommittedEntriesPerEvent` committed
   * entries, and applies a backlog left by earlier steps, then compacts the log when it has
   * outgrown `maxLogEntries`. Events raised are emitted when the step returns (listeners may
   * call the server again then).
   * @throws {@link ReentrancyError} when called during another step.
   */
  step<R>(call: string, body: () => R): R {
    if (this.#busy) throw new ReentrancyError(call);
    const events = this.events;
    events.enter();
    this.#busy = true;
    this.applyBudget = this.options.maxCommittedEntriesPerEvent;
    let completed = false;
    try {
      const result = body();
      applyCommitted(this);
      compactIfDue(this);
      this.role.afterStep?.();
      completed = true;
      return result;
    } finally {
      this.#busy = false;
      events.exit(completed);
    }
  }

  /** Any message or reply of a later term: adopt the term and become a follower (§5.1). Returns whether it did. */
  observeTerm(term: Term): boolean {
    if (term <= this.currentTerm) return false;
    this.log.store.advanceToTerm(term);
    this.outbox.written();
    this.becomeFollower();
    this.setLeader(undefined);
    return true;
  }

  /**
   * Steps down to follower (from candidate or leader), with a fresh election timer unless
   * `resetTimer` is false (the caller resets it itself).
   */
  becomeFollower(resetTimer = true): void {
    if (this.role instanceof FollowerRole) return;
    if (resetTimer) this.electionDeadline = this.#newElectionDeadline();
    this.#setRole(new FollowerRole(this));
  }

  /**
   * Starts an election: after an election timeout (`'timeout'`, also `triggerTimeout`), with
   * `preVote` a poll comes first; after a poll won (`'poll won'`), the real election; for a
   * leader's `timeoutNow` (`'transfer'`), the real election at once, its RequestVotes marked
   * `leadershipTransfer`.
   */
  startElection(reason: 'timeout' | 'poll won' | 'transfer' = 'timeout'): void {
    if (this.options.preVote && reason === 'timeout') {
      const poll = new PreVoteRole(this);
      this.#setRole(poll);
      poll.start();
      return;
    }
    const candidate = new CandidateRole(this, reason === 'transfer');
    this.#setRole(candidate);
    candidate.start();
  }

  /**
   * Whether this server heard from a current leader within the election timeout (a leader
   * hears from itself), or, in lease mode, restarted less than an election timeout ago.
   */
  inLeaderLease(): boolean {
    if (this.role.name === 'leader') return true;
    const now = this.options.clock();
    if (now < this.#restartLeaseEnd) return true;
    return this.leaderId !== undefined && now - this.lastLeaderContact < this.options.electionTimeout;
  }

  /** Becomes the leader of the current term and asserts it at once with heartbeats. */
  becomeLeader(): void {
    const leader = new LeaderRole(this);
    this.#setRole(leader);
    this.setLeader(this.id);
    leader.start();
  }

  /** Records the known leader of the current term, raising `leaderChange` when it changes. */
  setLeader(leaderId: ServerId | undefined): void {
    if (this.leaderId === leaderId) return;
    this.leaderId = leaderId;
    this.events.raise('leaderChange', leaderId, this.currentTerm);
  }

  /**
   * The leader of the current term, `leaderId`, spoke (AppendEntries or InstallSnapshot):
   * record it, restart the election timer, and note the time for the leader lease.
   */
  heardFromLeader(leaderId: ServerId): void {
    this.setLeader(leaderId);
    this.resetElectionTimer();
    this.lastLeaderContact = this.options.clock();
  }

  /** A fresh election deadline: `clock() + electionTimeout + jitter`. */
  #newElectionDeadline(): number {
    const { clock, random, electionTimeout, electionTimeoutRange } = this.options;
    return clock() + electionTimeout + random() * electionTimeoutRange;
  }

  /** Restarts the election timer (a leader was heard from, or a vote was granted). */
  resetElectionTimer(): void {
    this.electionDeadline = this.#newElectionDeadline();
  }

  #setRole(role: Role<T>): void {
    const old = this.role;
    const changed = role.name !== old.name;
    this.role = role;
    old.leave?.();
    if (changed) this.events.raise('roleChange', role.name, this.currentTerm);
  }
}
