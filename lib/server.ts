import { EventEmitter } from 'eventemitter3';
import { InvalidArgumentError, InvalidMessageError, describe } from './errors';
import { DeferredEvents } from './deferred-events';
import { conflictHint, holds, lastPosition, readEntries, storeEntries, termAt, trimToByteBudget } from './log';
import type { AppendEntriesMessage, AppendEntriesReply, Message, RequestVoteMessage, RequestVoteReply } from './messages';
import { resolveServerOptions, type ResolvedServerOptions, type ServerOptions } from './options';
import type { IPersistentState } from './persistent-state';
import { FollowerProgress } from './progress';
import { isAtLeastAsUpToDate, majorityMatchIndex, quorumSize } from './quorum';
import type { LogEntry, LogIndex, ServerId, Term } from './types';
import { validateAppendEntriesReply, validateMessage, validateRequestVoteReply } from './validation';

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

  readonly #options: ResolvedServerOptions<T>;
  #role: ServerRole = 'follower';
  #leaderId: ServerId | undefined = undefined;
  #commitIndex: LogIndex = 0;
  #lastApplied: LogIndex = 0;
  #electionDeadline: number;
  #heartbeatDeadline = 0;
  #votes = new Set<ServerId>();
  #progress: FollowerProgress[] | undefined = undefined;
  #unsynced = false;
  /** Events raised during a call, emitted when the outermost entry point returns. */
  readonly #events = new DeferredEvents<ServerEvents<T>>(this);

  /**
   * Creates a follower with the term, vote and log found in the persistent state.
   * @throws {@link ConfigurationError} when an option is invalid.
   */
  constructor(options: ServerOptions<T>) {
    super();
    this.#options = resolveServerOptions(options);
    this.id = this.#options.id;
    this.clusterSize = this.#options.clusterSize;
    this.persistentState = this.#options.persistentState;
    this.#electionDeadline = this.#newElectionDeadline();
  }

  /** The current role. */
  get role(): ServerRole {
    return this.#role;
  }

  /** The latest term this server has seen (from its persistent state). */
  get currentTerm(): Term {
    return this.persistentState.currentTerm;
  }

  /** The leader known for the current term; this server's own id when it leads. */
  get leaderId(): ServerId | undefined {
    return this.#leaderId;
  }

  /** A snapshot of `commitIndex` and `lastApplied`. */
  get volatileState(): Readonly<VolatileState> {
    return { commitIndex: this.#commitIndex, lastApplied: this.#lastApplied };
  }

  /** A snapshot of `nextIndex` and `matchIndex` per server, present only while leader. */
  get leaderState(): Readonly<LeaderState> | undefined {
    const progress = this.#progress;
    if (progress === undefined) return undefined;
    const lastIndex = this.persistentState.currentLogIndex;
    return {
      nextIndex: progress.map((p, id) => (id === this.id ? lastIndex + 1 : p.nextIndex)),
      matchIndex: progress.map((p, id) => (id === this.id ? lastIndex : p.matchIndex)),
    };
  }

  // ---------------------------------------------------------------- inputs

  /**
   * Handles a request from a peer and calls its `replyChannel` exactly once, after the
   * persistent state holds what the reply promises.
   * @throws {@link InvalidMessageError} when the message is malformed; then nothing changes and no reply is sent.
   */
  processMessage(message: Message<T>): void {
    validateMessage(message, this);
    if (message.type === 'appendEntries') this.#checkCommittedEntries(message);
    this.#events.run(() => {
      if (message.type === 'requestVote') this.#onRequestVote(message);
      else this.#onAppendEntries(message);
    });
  }

  /** Reads the clock and does what is due: starts an election, or sends heartbeats as leader. */
  tick(): void {
    this.#events.run(() => {
      const now = this.#options.clock();
      if (this.#role === 'leader') {
        if (now >= this.#heartbeatDeadline) this.#sendHeartbeats();
      } else if (now >= this.#electionDeadline) {
        this.#startElection();
      }
    });
  }

  /** The clock time at which {@link Server.tick} next has work: a heartbeat or an election timeout. */
  nextDeadline(): number {
    return this.#role === 'leader' ? this.#heartbeatDeadline : this.#electionDeadline;
  }

  /** Acts as if the election timeout fired now: a follower or candidate starts an election; a leader ignores it. */
  triggerTimeout(): void {
    this.#events.run(() => {
      if (this.#role !== 'leader') this.#startElection();
    });
  }

  /** As leader, sends AppendEntries to every other server now; others ignore it. */
  triggerHeartbeat(): void {
    this.#events.run(() => {
      if (this.#role === 'leader') this.#sendHeartbeats();
    });
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
    if (this.#role !== 'leader') return this.#notLeader();
    return this.#events.run(() => {
      const term = this.currentTerm;
      this.persistentState.appendToLog(data, term);
      this.#afterAppend();
      return { type: 'appended', index: this.persistentState.currentLogIndex, term };
    });
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
    if (this.#role !== 'leader') return this.#notLeader();
    const term = this.currentTerm;
    const state = this.persistentState;
    const firstIndex = state.currentLogIndex + 1;
    if (data.length > 0) {
      this.#events.run(() => {
        if (state.appendEntries) state.appendEntries(data.map((item, k): LogEntry<T> => ({ index: firstIndex + k, term, data: item })));
        else for (const item of data) state.appendToLog(item, term);
        this.#afterAppend();
      });
    }
    return { type: 'appended', firstIndex, lastIndex: state.currentLogIndex, term };
  }

  #notLeader(): ProposeForward | ProposeDelay {
    if (this.#role === 'follower' && this.#leaderId !== undefined) return { type: 'forward', leaderId: this.#leaderId };
    return { type: 'delay' };
  }

  /** After a leader appended: replicate within this call, and commit at once in a cluster of one. */
  #afterAppend(): void {
    this.#unsynced = true;
    this.#replicateToAll();
    this.#advanceLeaderCommit();
  }

  // ---------------------------------------------------------------- elections (§5.2, §5.4.1)

  #startElection(): void {
    this.persistentState.incrementTerm();
    this.persistentState.vote(this.id);
    this.#unsynced = true;
    this.#progress = undefined;
    this.#votes = new Set([this.id]);
    this.#electionDeadline = this.#newElectionDeadline();
    this.#setRole('candidate');
    this.#setLeader(undefined);
    if (this.#votes.size >= quorumSize(this.clusterSize)) {
      this.#becomeLeader();
      return;
    }
    const term = this.currentTerm;
    const last = lastPosition(this.persistentState);
    this.#sync();
    for (let peer = 0; peer < this.clusterSize; peer++) {
      if (peer === this.id) continue;
      const voter = peer;
      const message: RequestVoteMessage = {
        type: 'requestVote',
        candidateTerm: term,
        candidateId: this.id,
        candidateLastLogEntry: last,
        replyChannel: (reply) => {
          validateRequestVoteReply(reply, voter, term);
          this.#events.run(() => this.#onRequestVoteReply(reply, voter, term));
        },
      };
      this.#options.messageChannel(voter, message);
    }
  }

  #onRequestVote(message: RequestVoteMessage): void {
    this.#observeTerm(message.candidateTerm);
    const state = this.persistentState;
    const granted =
      message.candidateTerm === state.currentTerm &&
      (state.votedFor === undefined || state.votedFor === message.candidateId) &&
      isAtLeastAsUpToDate(message.candidateLastLogEntry, lastPosition(state));
    if (granted) {
      if (state.votedFor === undefined) {
        state.vote(message.candidateId);
        this.#unsynced = true;
      }
      this.#electionDeadline = this.#newElectionDeadline();
    }
    this.#sync();
    message.replyChannel({ voter: this.id, voterTerm: state.currentTerm, voteGranted: granted });
  }

  #onRequestVoteReply(reply: RequestVoteReply, voter: ServerId, term: Term): void {
    if (this.#observeTerm(reply.voterTerm)) return;
    if (this.#role !== 'candidate' || this.currentTerm !== term || !reply.voteGranted) return;
    this.#votes.add(voter);
    if (this.#votes.size >= quorumSize(this.clusterSize)) this.#becomeLeader();
  }

  #becomeLeader(): void {
    const lastIndex = this.persistentState.currentLogIndex;
    this.#progress = Array.from({ length: this.clusterSize }, () => new FollowerProgress(lastIndex));
    this.#setRole('leader');
    this.#setLeader(this.id);
    this.#sendHeartbeats();
    this.#advanceLeaderCommit();
  }

  // ---------------------------------------------------------------- replication (§5.3)

  #onAppendEntries(message: AppendEntriesMessage<T>): void {
    this.#observeTerm(message.leaderTerm);
    const state = this.persistentState;
    const term = state.currentTerm;
    if (message.leaderTerm < term || this.#role === 'leader') {
      // A stale leader, or (only with a faulty peer) a second leader of this very term:
      // refuse without changing anything.
      this.#sync();
      message.replyChannel({ follower: this.id, followerTerm: term, success: false, matchIndex: 0 });
      return;
    }
    if (this.#role === 'candidate') this.#setRole('follower');
    this.#setLeader(message.leaderId);
    this.#electionDeadline = this.#newElectionDeadline();
    const prev = message.prevLogEntry;
    if (!holds(state, prev)) {
      const hint = conflictHint(state, prev, this.#commitIndex);
      this.#sync();
      message.replyChannel({ follower: this.id, followerTerm: term, success: false, matchIndex: hint });
      return;
    }
    if (storeEntries(state, message.entries)) this.#unsynced = true;
    const lastNewIndex = prev.index + message.entries.length;
    this.#sync();
    message.replyChannel({ follower: this.id, followerTerm: term, success: true, matchIndex: lastNewIndex });
    const commitIndex = Math.min(message.leaderCommitIndex, lastNewIndex);
    if (commitIndex > this.#commitIndex) this.#commitUpTo(commitIndex);
  }

  /**
   * A leader of this term or a later one holds every committed entry (§5.4.1, Leader
   * Completeness), so entries that contradict this server's committed prefix can only come
   * from a faulty peer. Refusing them up front means no message ever truncates a committed
   * entry. (A stale leader's message is refused by its term instead, without this check.)
   */
  #checkCommittedEntries(message: AppendEntriesMessage<T>): void {
    if (message.leaderTerm < this.currentTerm) return;
    const entries = message.entries;
    const checkedUpTo = Math.min(this.#commitIndex, message.prevLogEntry.index + entries.length);
    for (let index = message.prevLogEntry.index + 1; index <= checkedUpTo; index++) {
      const k = index - message.prevLogEntry.index - 1;
      const term = (entries[k] as LogEntry<T>).term;
      if (termAt(this.persistentState, index) !== term) {
        throw new InvalidMessageError(`entries[${k}].term`, term, `${termAt(this.persistentState, index) ?? 'undefined'}: entry ${index} is committed here with that term`);
      }
    }
  }

  #onAppendEntriesReply(reply: AppendEntriesReply, follower: ServerId, term: Term, prevIndex: LogIndex, count: number, epoch: number, settled: { value: boolean }): void {
    if (this.#observeTerm(reply.followerTerm)) return;
    const progress = this.#progress?.[follower];
    if (progress === undefined || this.currentTerm !== term) return;
    if (count > 0 && !settled.value) {
      settled.value = true;
      progress.inflight = Math.max(0, progress.inflight - 1);
      progress.answeredSinceHeartbeat = true;
    }
    if (reply.success) {
      if (progress.acknowledge(reply.matchIndex)) this.#advanceLeaderCommit();
    } else if (!progress.reject(prevIndex, reply.matchIndex, epoch)) {
      return;
    }
    if (this.#role === 'leader') this.#replicateTo(follower, progress);
  }

  /** Sends every follower what it can take now (after a proposal). */
  #replicateToAll(): void {
    const progress = this.#progress;
    if (progress === undefined) return;
    for (let peer = 0; peer < this.clusterSize; peer++) {
      if (peer !== this.id) this.#replicateTo(peer, progress[peer] as FollowerProgress);
    }
  }

  /** Sends entries from `nextIndex` while the in-flight limit allows. */
  #replicateTo(peer: ServerId, progress: FollowerProgress): void {
    const lastIndex = this.persistentState.currentLogIndex;
    while (progress.nextIndex <= lastIndex && progress.canSend(this.#options.maxInflightMessages)) {
      this.#sendEntries(peer, progress, lastIndex);
    }
  }

  /** The heartbeat (§5.2): every follower hears from the leader, and lost messages are resent. */
  #sendHeartbeats(): void {
    this.#heartbeatDeadline = this.#options.clock() + this.#options.heartbeatTimeout;
    const progress = this.#progress as FollowerProgress[];
    const lastIndex = this.persistentState.currentLogIndex;
    for (let peer = 0; peer < this.clusterSize; peer++) {
      if (peer === this.id) continue;
      const follower = progress[peer] as FollowerProgress;
      if (follower.mode === 'probe') follower.inflight = 0; // resend the probe: it or its answer may be lost
      else if (follower.inflight > 0 && !follower.answeredSinceHeartbeat) follower.resetToProbe();
      follower.answeredSinceHeartbeat = false;
      if (follower.nextIndex <= lastIndex && follower.canSend(this.#options.maxInflightMessages)) {
        this.#sendEntries(peer, follower, lastIndex);
      } else {
        const prevIndex = follower.mode === 'probe' ? follower.nextIndex - 1 : follower.matchIndex;
        this.#sendAppendEntries(peer, prevIndex, []);
      }
    }
  }

  /** Sends up to `maxEntriesPerMessage` entries from `nextIndex`; in replicate mode, advances `nextIndex` past them. */
  #sendEntries(peer: ServerId, progress: FollowerProgress, lastIndex: LogIndex): void {
    const from = progress.nextIndex;
    const { maxEntriesPerMessage, maxBytesPerMessage, entrySize } = this.#options;
    const entries = trimToByteBudget(readEntries(this.persistentState, from, Math.min(lastIndex, from + maxEntriesPerMessage - 1)), maxBytesPerMessage, entrySize);
    const to = from + entries.length - 1;
    progress.inflight++;
    if (progress.mode === 'replicate') progress.nextIndex = to + 1;
    this.#sendAppendEntries(peer, from - 1, entries);
  }

  #sendAppendEntries(peer: ServerId, prevIndex: LogIndex, entries: readonly LogEntry<T>[]): void {
    const term = this.currentTerm;
    const settled = { value: false };
    const count = entries.length;
    const epoch = this.#progress?.[peer]?.epoch ?? 0;
    const message: AppendEntriesMessage<T> = {
      type: 'appendEntries',
      leaderTerm: term,
      leaderId: this.id,
      prevLogEntry: { index: prevIndex, term: termAt(this.persistentState, prevIndex) ?? 0 },
      entries,
      leaderCommitIndex: this.#commitIndex,
      replyChannel: (reply) => {
        validateAppendEntriesReply(reply, peer, term, prevIndex + count);
        this.#events.run(() => this.#onAppendEntriesReply(reply, peer, term, prevIndex, count, epoch, settled));
      },
    };
    this.#sync();
    this.#options.messageChannel(peer, message);
  }

  // ---------------------------------------------------------------- commitment (§5.3, §5.4.2)

  /** Commits the highest index held by a majority, but only if its entry is of the current term (Figure 8). */
  #advanceLeaderCommit(): void {
    const progress = this.#progress;
    if (progress === undefined) return;
    this.#sync();
    const ownIndex = this.persistentState.currentLogIndex;
    const majority = majorityMatchIndex(progress.map((p, id) => (id === this.id ? ownIndex : p.matchIndex)));
    if (majority > this.#commitIndex && termAt(this.persistentState, majority) === this.currentTerm) {
      this.#commitUpTo(majority);
    }
  }

  #commitUpTo(index: LogIndex): void {
    this.#commitIndex = index;
    const entries = readEntries(this.persistentState, this.#lastApplied + 1, index);
    this.#lastApplied = index;
    this.#events.raise('committed', entries);
  }

  // ---------------------------------------------------------------- terms, roles, timers

  /** Any message or reply of a later term: adopt the term and become a follower (§5.1). Returns whether it did. */
  #observeTerm(term: Term): boolean {
    if (term <= this.persistentState.currentTerm) return false;
    this.persistentState.advanceToTerm(term);
    this.#unsynced = true;
    this.#stepDown();
    this.#setLeader(undefined);
    return true;
  }

  #stepDown(): void {
    if (this.#role === 'follower') return;
    this.#progress = undefined;
    this.#electionDeadline = this.#newElectionDeadline();
    this.#setRole('follower');
  }

  #setRole(role: ServerRole): void {
    if (this.#role === role) return;
    this.#role = role;
    this.#events.raise('roleChange', role, this.currentTerm);
  }

  #setLeader(leaderId: ServerId | undefined): void {
    if (this.#leaderId === leaderId) return;
    this.#leaderId = leaderId;
    this.#events.raise('leaderChange', leaderId, this.currentTerm);
  }

  #newElectionDeadline(): number {
    const { clock, random, electionTimeout, electionTimeoutRange } = this.#options;
    return clock() + electionTimeout + random() * electionTimeoutRange;
  }

  /** Makes buffered writes durable before anything that depends on them leaves the server. */
  #sync(): void {
    if (!this.#unsynced) return;
    this.#unsynced = false;
    this.persistentState.sync?.();
  }
}
