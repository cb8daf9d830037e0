import { commitUpTo, leaderCommitIndex } from './commitment';
import { measureProposal, trimToByteBudget } from './log';
import { QuorumContact } from './check-quorum';
import { LeadershipTransfer } from './leadership-transfer';
import type { AppendEntriesMessage, AppendEntriesReply, InstallSnapshotMessage, InstallSnapshotReply, TimeoutNowMessage } from './messages';
import { holdsSnapshots } from './persistent-state';
import { FollowerProgress } from './progress';
import { notLeader } from './follower';
import { majorityMatchIndexInPlace } from './quorum';
import { ReadQueue } from './read-index';
import type { LeaderState, ProposeBatchAppended, ProposeDelay, ReadIndexResult, TransferStarted } from './server';
import type { Role, ServerState } from './server-state';
import { UncommittedSize } from './uncommitted-size';
import type { LogEntry, LogIndex, ServerId, Term } from './types';
import type { OutgoingSnapshot } from './snapshot-transfer';
import { validateAppendEntriesReply, validateInstallSnapshotReply, validateTimeoutNowReply } from './validation';

/**
 * A leader (§5.3): it appends proposals, replicates them to every follower with per-follower
 * progress (probing, then pipelining), asserts itself with heartbeats, and commits what a
 * majority holds. One object per term of leadership.
 */
export class LeaderRole<T> implements Role<T> {
  /** Discriminant. */
  readonly name = 'leader';
  readonly #state: ServerState<T>;
  readonly #term: Term;
  readonly #progress: FollowerProgress[];
  readonly #uncommitted: UncommittedSize;
  /** Scratch space for the match indexes when looking for the majority (no allocation per acknowledgement). */
  readonly #matchScratch: LogIndex[];
  #heartbeatDeadline = 0;
  /** Heartbeats sent so far in this term: the age of a message in flight is counted in these. */
  #round = 0;
  /** With check-quorum: when each follower last answered. */
  readonly #contact: QuorumContact | undefined;
  /** A leadership transfer under way. */
  #transfer: LeadershipTransfer | undefined = undefined;
  /** Reads waiting for their index, a confirmation of leadership, or the state machine. */
  readonly #reads = new ReadQueue();
  /** Per server, the latest heartbeat round it answered in this term (its own slot unused). */
  readonly #answeredRound: number[];
  /** With `readMode: 'lease'`: when each follower last answered, counted from when the answered message was sent. */
  readonly #lease: QuorumContact | undefined;
  /** Whether this leader sent `timeoutNow` in its term, which ends its read lease. */
  #leaseForfeited = false;
  /** Whether this leader wrote its no-op (at most one per term). */
  #noopWritten = false;

  /** Leadership of `state`'s server in its current term; nothing is sent until {@link LeaderRole.start}. */
  constructor(state: ServerState<T>) {
    this.#state = state;
    this.#term = state.currentTerm;
    const lastIndex = state.log.lastIndex;
    this.#progress = Array.from({ length: state.options.clusterSize }, () => new FollowerProgress(lastIndex));
    this.#uncommitted = new UncommittedSize(state.options.maxUncommittedBytes);
    this.#matchScratch = new Array<LogIndex>(state.options.clusterSize).fill(0);
    this.#contact = state.options.checkQuorum ? new QuorumContact(state.options.clusterSize, state.id, state.options.clock()) : undefined;
    this.#lease = state.options.readMode === 'lease' ? new QuorumContact(state.options.clusterSize, state.id, -Infinity) : undefined;
    this.#answeredRound = new Array<number>(state.options.clusterSize).fill(0);
  }

  /**
   * Takes a read: answered `ready` once an entry of this term is committed (a no-op is written
   * for it when nothing of this term is in the log), leadership is confirmed after the read
   * arrived (a heartbeat round answered by a majority, sent as soon as the host ticks, or a
   * valid lease), and the state machine has applied the index.
   */
  readIndex(onDone: (result: ReadIndexResult) => void): void {
    const state = this.#state;
    const { options, log } = state;
    const confirmed = options.clusterSize === 1 || this.#leaseHolds();
    if (confirmed && this.#reads.size === 0 && log.termAt(log.commitIndex) === this.#term && log.lastApplied >= log.commitIndex) {
      const index = log.commitIndex; // nothing to wait for: answered when the call's events are
      state.events.callLater(() => onDone({ type: 'ready', index }));
      return;
    }
    this.#reads.add(onDone, this.#round, confirmed);
    if (!confirmed) this.#heartbeatDeadline = Math.min(this.#heartbeatDeadline, options.clock()); // due now: the host's next tick sends it
    if (log.termAt(log.commitIndex) !== this.#term && log.termAt(log.lastIndex) !== this.#term) this.#writeNoop();
  }

  /** Answers the reads that became ready in this step. */
  afterStep(): void {
    if (this.#reads.size === 0) return;
    const state = this.#state;
    const log = state.log;
    const progress = {
      ownTermCommitIndex: log.termAt(log.commitIndex) === this.#term ? log.commitIndex : undefined,
      quorumRound: this.#quorumRound(),
      lastApplied: log.lastApplied,
    };
    const waitingSince = this.#reads.serve(progress, (onDone, result) => state.events.callLater(() => onDone(result)));
    // A read of the current round needs the next one: due now. A round already sent is awaited.
    if (waitingSince >= this.#round) this.#heartbeatDeadline = Math.min(this.#heartbeatDeadline, state.options.clock());
  }

  /** Leadership is over: every waiting read is answered with where to go now. */
  leave(): void {
    const state = this.#state;
    this.#reads.abandon((onDone) => state.events.callLater(() => onDone(notLeader(state))));
  }

  /** The latest heartbeat round a majority has answered (this leader has "answered" every round it sent). */
  #quorumRound(): number {
    const rounds = this.#answeredRound.slice();
    rounds[this.#state.id] = this.#round;
    return majorityMatchIndexInPlace(rounds);
  }

  /** With `readMode: 'lease'`: whether a majority answered messages sent within the last election timeout. */
  #leaseHolds(): boolean {
    const lease = this.#lease;
    // Once timeoutNow went out, the target may win with votes check-quorum lets through: no lease for the rest of the term.
    if (lease === undefined || this.#leaseForfeited) return false;
    const { options } = this.#state;
    return lease.majorityHeardAt() + options.electionTimeout > options.clock();
  }

  /** Writes this term's no-op (a store without `appendEntries` cannot hold one: reads then wait for a proposal of this term to commit). */
  #writeNoop(): void {
    const state = this.#state;
    const store = state.log.store;
    if (this.#noopWritten || store.appendEntries === undefined) return;
    this.#noopWritten = true;
    const index = state.log.lastIndex + 1;
    const noop: LogEntry<T> = { index, term: this.#term, data: undefined as T, kind: 'noop' };
    store.appendEntries([noop]);
    state.outbox.written(index);
    this.#replicateToAll();
    this.#advanceCommit();
  }

  /** A follower answered a message sent in heartbeat round `round` at clock time `sentAt`: it took this server for its leader then. */
  #answered(follower: ServerId, round: number, sentAt: number): void {
    const now = this.#state.options.clock();
    this.#contact?.heard(follower, now);
    this.#lease?.heard(follower, sentAt);
    if (round > (this.#answeredRound[follower] as number)) this.#answeredRound[follower] = round;
  }

  /** Asserts leadership with a round of heartbeats, and commits at once in a cluster of one. */
  start(): void {
    this.#sendHeartbeats();
    this.#advanceCommit();
  }

  /** The next heartbeat, the end of a transfer's time, or when check-quorum would step down. */
  nextDeadline(): number {
    let deadline = this.#heartbeatDeadline;
    if (this.#transfer !== undefined) deadline = Math.min(deadline, this.#transfer.deadline);
    if (this.#contact !== undefined) deadline = Math.min(deadline, this.#stepDownTime());
    return deadline;
  }

  /**
   * Steps down when check-quorum finds no majority heard from within an election timeout;
   * gives up a transfer whose time is up; sends heartbeats when they are due.
   */
  tick(now: number): void {
    if (this.#contact !== undefined && now >= this.#stepDownTime()) {
      const state = this.#state;
      state.becomeFollower();
      state.setLeader(undefined);
      return;
    }
    if (this.#transfer !== undefined && now >= this.#transfer.deadline) this.#transfer = undefined;
    if (now >= this.#heartbeatDeadline) this.triggerHeartbeat();
  }

  /** When check-quorum steps this leader down, unless a majority answers before. */
  #stepDownTime(): number {
    return (this.#contact as QuorumContact).majorityHeardAt() + this.#state.options.electionTimeout;
  }

  /** A leader does not time out. */
  triggerTimeout(): void {}

  /** Sends heartbeats now, then commits what may have waited for a sync that failed before. */
  triggerHeartbeat(): void {
    this.#sendHeartbeats();
    this.#advanceCommit();
  }

  /**
   * Appends the batch and starts replicating it within this call.
   * @throws ProposalRefusedError when `maxUncommittedBytes` would be exceeded, InvalidArgumentError
   * when a byte bound is set and `entrySize` fails on an item; nothing is appended then.
   */
  propose(items: readonly T[]): ProposeBatchAppended | ProposeDelay {
    if (this.#transfer !== undefined) return { type: 'delay' }; // handing over: the next leader takes it
    const { log, options } = this.#state;
    const firstIndex = log.lastIndex + 1;
    const term = this.#term;
    if (items.length > 0) {
      if (options.maxBytesPerMessage !== Infinity || options.maxUncommittedBytes !== Infinity) {
        // Sizes matter: measure now, so a size function that fails refuses this proposal
        // rather than every later AppendEntries that would carry it.
        this.#uncommitted.admit(measureProposal(items, options.entrySize), firstIndex + items.length - 1);
      }
      log.append(items, term);
      this.#state.outbox.written(firstIndex);
      this.#replicateToAll();
      this.#advanceCommit();
    }
    return { type: 'appended', firstIndex, lastIndex: firstIndex + items.length - 1, term };
  }

  /**
   * Starts handing leadership to `to` (the server checked it is another server of the
   * cluster): proposals wait, `to` is brought up to date and then sent `timeoutNow`.
   */
  transferLeadership(to: ServerId): TransferStarted {
    if (this.#transfer?.to !== to) this.#transfer = new LeadershipTransfer(to, this.#state.options.clock() + this.#state.options.electionTimeout);
    this.#continueTransfer();
    return { type: 'started' };
  }

  /** Sends `timeoutNow` once the transfer's target holds the whole log; until then, replication catches it up. */
  #continueTransfer(): void {
    const transfer = this.#transfer;
    if (transfer === undefined || transfer.timeoutNowSent) return;
    const state = this.#state;
    const progress = this.#progress[transfer.to] as FollowerProgress;
    if (progress.matchIndex < state.log.lastIndex) {
      this.#replicateTo(transfer.to, progress);
      return;
    }
    transfer.timeoutNowSent = true;
    this.#leaseForfeited = true;
    const term = this.#term;
    const to = transfer.to;
    const message: TimeoutNowMessage = {
      type: 'timeoutNow',
      leaderTerm: term,
      leaderId: state.id,
      replyChannel: (reply) => {
        const checked = validateTimeoutNowReply(reply, to, term);
        state.step('replyChannel', () => {
          if (state.observeTerm(checked.followerTerm) || state.role !== this) return;
          this.#contact?.heard(to, state.options.clock());
        });
      },
    };
    state.outbox.send(to, message);
  }

  /** Another leader in this very term can only be a faulty peer: refuse it. */
  followLeader(): boolean {
    return false;
  }

  /** `nextIndex` and `matchIndex` per server (its own last index in its own slot). */
  leaderState(): LeaderState {
    const lastIndex = this.#state.log.lastIndex;
    const id = this.#state.id;
    return {
      nextIndex: this.#progress.map((p, server) => (server === id ? lastIndex + 1 : p.nextIndex)),
      matchIndex: this.#progress.map((p, server) => (server === id ? lastIndex : p.matchIndex)),
    };
  }

  #onReply(reply: AppendEntriesReply, follower: ServerId, prevIndex: LogIndex, epoch: number, round: number, sentAt: number): void {
    const state = this.#state;
    if (state.observeTerm(reply.followerTerm)) return;
    if (state.role !== this) return;
    this.#answered(follower, round, sentAt);
    const progress = this.#progress[follower] as FollowerProgress;
    if (reply.success) {
      if (progress.acknowledge(reply.matchIndex, epoch)) {
        this.#advanceCommit();
        if (this.#transfer?.to === follower && state.role === this) this.#continueTransfer();
      }
    } else if (!progress.reject(prevIndex, this.#resumeAfter(reply, progress), epoch)) {
      return;
    }
    if (state.role === this) this.#replicateTo(follower, progress);
  }

  /**
   * Where to resume after a rejection: with the follower's `hintTerm`, the last entry of this
   * log at or below the hint whose term is at most that term (etcd's findConflictByTerm): the
   * follower's log cannot match above it. Without it (an older peer), the hint index itself.
   */
  #resumeAfter(reply: AppendEntriesReply, progress: FollowerProgress): LogIndex {
    const log = this.#state.log;
    if (reply.hintTerm === undefined) return reply.matchIndex;
    const start = Math.min(reply.matchIndex, log.lastIndex);
    return log.lastIndexWithTermAtMost(start, reply.hintTerm, Math.min(progress.matchIndex, start));
  }

  /** Sends every follower what it can take now (after a proposal). */
  #replicateToAll(): void {
    const id = this.#state.id;
    for (let peer = 0; peer < this.#progress.length; peer++) {
      if (peer !== id) this.#replicateTo(peer, this.#progress[peer] as FollowerProgress);
    }
  }

  /** Sends entries from `nextIndex` while the in-flight limit allows (or the snapshot, when they were compacted). */
  #replicateTo(peer: ServerId, progress: FollowerProgress): void {
    if (this.#needsSnapshot(progress)) {
      const transfer = progress.snapshotTransfer as OutgoingSnapshot;
      if (!transfer.sending) this.#sendSnapshotChunk(peer, transfer);
      return;
    }
    const lastIndex = this.#state.log.lastIndex;
    const maxInflight = this.#state.options.maxInflightMessages;
    while (progress.nextIndex <= lastIndex && progress.canSend(maxInflight)) {
      this.#sendEntries(peer, progress, lastIndex);
    }
  }

  /**
   * The heartbeat (§5.2): every follower hears from the leader. An empty heartbeat checks the
   * follower holds everything sent so far (its `prevLogEntry` is the last entry sent), so a
   * lost message shows up as a rejection one round trip later. A message unanswered for a
   * whole heartbeat period is presumed lost: a probe is sent again, a pipeline goes back to
   * probing from `matchIndex`. A message sent less than a period ago is left to arrive.
   */
  #sendHeartbeats(): void {
    const { options, log, id } = this.#state;
    this.#heartbeatDeadline = options.clock() + options.heartbeatTimeout;
    const round = ++this.#round;
    const lastIndex = log.lastIndex;
    for (let peer = 0; peer < this.#progress.length; peer++) {
      if (peer === id) continue;
      const follower = this.#progress[peer] as FollowerProgress;
      if (follower.lostAt(round)) {
        if (follower.mode === 'probe') follower.retryProbe();
        else follower.resetToProbe();
      }
      // After any reset: probing from matchIndex + 1 may need entries compacted since.
      if (this.#needsSnapshot(follower)) {
        // A chunk unanswered for a whole period is sent again; the transfer itself keeps
        // the follower's election timer from running out.
        const transfer = follower.snapshotTransfer as OutgoingSnapshot;
        if (transfer.dueAt(round)) this.#sendSnapshotChunk(peer, this.#moveToNewerSnapshot(follower, transfer));
        continue;
      }
      if (follower.nextIndex <= lastIndex && follower.canSend(options.maxInflightMessages)) {
        this.#sendEntries(peer, follower, lastIndex);
      } else {
        // At the last entry sent: a follower that lost some of it rejects, and the leader
        // resumes from the follower's hint at once; one that has it frees what is in flight.
        this.#sendAppendEntries(peer, follower.nextIndex - 1, []);
      }
    }
  }

  /** Sends up to `maxEntriesPerMessage` entries from `nextIndex`; in replicate mode, advances `nextIndex` past them. */
  #sendEntries(peer: ServerId, progress: FollowerProgress, lastIndex: LogIndex): void {
    const from = progress.nextIndex;
    const { maxEntriesPerMessage, maxBytesPerMessage, entrySize } = this.#state.options;
    const read = this.#state.log.entries(from, Math.min(lastIndex, from + maxEntriesPerMessage - 1));
    const entries = trimToByteBudget(read, maxBytesPerMessage, entrySize);
    const to = from + entries.length - 1;
    progress.inflights.add(to, this.#round);
    if (progress.mode === 'replicate') progress.nextIndex = to + 1;
    this.#sendAppendEntries(peer, from - 1, entries);
  }

  /**
   * Whether `progress`'s follower is getting, or must now get, the snapshot: the entry at its
   * `nextIndex`, or the one before (which AppendEntries is checked against), was compacted. Starts the
   * transfer of the latest snapshot when one is needed.
   */
  #needsSnapshot(progress: FollowerProgress): boolean {
    const log = this.#state.log;
    const transfer = progress.snapshotTransfer;
    if (transfer !== undefined) {
      if (!transfer.sending) this.#moveToNewerSnapshot(progress, transfer);
      return true;
    }
    if (log.canReplicateFrom(progress.nextIndex)) return false;
    this.#startSnapshot(progress);
    return true;
  }

  /**
   * A transfer whose first chunk has not got through yet (none in flight, or the one in
   * flight presumed lost) starts again with the latest snapshot, if there is a newer one:
   * a follower down for a while then gets the newest state, not one it would have to follow
   * with another snapshot.
   */
  #moveToNewerSnapshot(progress: FollowerProgress, transfer: OutgoingSnapshot): OutgoingSnapshot {
    if (transfer.acknowledged > 0 || transfer.snapshot.lastIncluded.index >= this.#state.log.snapshot.index) return transfer;
    this.#startSnapshot(progress);
    return progress.snapshotTransfer as OutgoingSnapshot;
  }

  /** Starts sending the latest snapshot to `progress`'s follower. */
  #startSnapshot(progress: FollowerProgress): void {
    const store = this.#state.log.store;
    const snapshot = holdsSnapshots(store) ? store.getSnapshot() : undefined;
    if (snapshot === undefined) throw new Error('a leader compacted entries without a snapshot'); // cannot happen: entries are compacted only into a snapshot
    progress.startSnapshot(snapshot);
  }

  /** Sends the next chunk of `transfer` (from the bytes the follower holds). */
  #sendSnapshotChunk(peer: ServerId, transfer: OutgoingSnapshot): void {
    const state = this.#state;
    const term = this.#term;
    const { offset, data, done } = transfer.nextChunk(state.options.maxSnapshotChunkBytes, this.#round);
    const total = transfer.snapshot.data.length;
    const round = this.#round;
    const sentAt = this.#lease === undefined ? 0 : state.options.clock();
    const message: InstallSnapshotMessage = {
      type: 'installSnapshot',
      leaderTerm: term,
      leaderId: state.id,
      lastIncluded: transfer.snapshot.lastIncluded,
      offset,
      data,
      done,
      replyChannel: (reply) => {
        const checked = validateInstallSnapshotReply(reply, peer, term, total);
        state.step('replyChannel', () => this.#onSnapshotReply(checked, peer, transfer, offset, done, round, sentAt));
      },
    };
    state.outbox.send(peer, message);
  }

  #onSnapshotReply(reply: InstallSnapshotReply, follower: ServerId, transfer: OutgoingSnapshot, offset: number, done: boolean, round: number, sentAt: number): void {
    const state = this.#state;
    if (state.observeTerm(reply.followerTerm)) return;
    if (state.role !== this) return;
    this.#answered(follower, round, sentAt);
    const progress = this.#progress[follower] as FollowerProgress;
    if (progress.snapshotTransfer !== transfer || !transfer.answered(offset, reply.bytesReceived)) return; // over, or late
    if (reply.success && done && reply.bytesReceived === transfer.snapshot.data.length) {
      progress.finishSnapshot(transfer.snapshot.lastIncluded.index);
      this.#advanceCommit();
      if (state.role === this) this.#replicateTo(follower, progress);
      if (this.#transfer?.to === follower && state.role === this) this.#continueTransfer();
      return;
    }
    // Taken: send the next chunk. Refused: resend from where the follower stands, unless
    // that is the chunk it just refused (then the next heartbeat does, so nothing loops).
    if (reply.success || reply.bytesReceived !== offset) this.#sendSnapshotChunk(follower, transfer);
  }

  #sendAppendEntries(peer: ServerId, prevIndex: LogIndex, entries: readonly LogEntry<T>[]): void {
    const state = this.#state;
    const term = this.#term;
    const lastSent = prevIndex + entries.length;
    const epoch = (this.#progress[peer] as FollowerProgress).epoch;
    const round = this.#round;
    const sentAt = this.#lease === undefined ? 0 : state.options.clock();
    const message: AppendEntriesMessage<T> = {
      type: 'appendEntries',
      leaderTerm: term,
      leaderId: state.id,
      prevLogEntry: { index: prevIndex, term: state.log.termAt(prevIndex) ?? 0 },
      entries,
      leaderCommitIndex: state.log.commitIndex,
      replyChannel: (reply) => {
        const checked = validateAppendEntriesReply(reply, peer, term, lastSent);
        state.step('replyChannel', () => this.#onReply(checked, peer, prevIndex, epoch, round, sentAt));
      },
    };
    state.outbox.send(peer, message);
  }

  /**
   * Commits what a majority holds, if it is of this term (Figure 8). The leader's own log
   * counts only as far as it is durable: a sync is attempted first, and a failed one throws.
   */
  #advanceCommit(): void {
    const state = this.#state;
    state.outbox.flush();
    const scratch = this.#matchScratch;
    const progress = this.#progress;
    for (let server = 0; server < progress.length; server++) scratch[server] = (progress[server] as FollowerProgress).matchIndex;
    scratch[state.id] = state.outbox.durableIndex;
    const index = leaderCommitIndex(state, scratch);
    if (index > state.log.commitIndex) {
      commitUpTo(state, index);
      this.#uncommitted.committed(index);
    }
  }
}
