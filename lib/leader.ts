import type { AppendEntriesMessage, AppendEntriesReply } from './messages';
import { commitUpTo, leaderCommitIndex } from './commitment';
import { trimToByteBudget } from './log';
import { FollowerProgress } from './progress';
import type { LeaderState, ProposeBatchAppended } from './server';
import type { Role, ServerState } from './server-state';
import type { LogEntry, LogIndex, ServerId, Term } from './types';
import { validateAppendEntriesReply } from './validation';

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
  #heartbeatDeadline = 0;

  /** Leadership of `state`'s server in its current term; nothing is sent until {@link LeaderRole.start}. */
  constructor(state: ServerState<T>) {
    this.#state = state;
    this.#term = state.currentTerm;
    const lastIndex = state.log.lastIndex;
    this.#progress = Array.from({ length: state.options.clusterSize }, () => new FollowerProgress(lastIndex));
  }

  /** Asserts leadership with a round of heartbeats, and commits at once in a cluster of one. */
  start(): void {
    this.#sendHeartbeats();
    this.#advanceCommit();
  }

  /** The next heartbeat. */
  nextDeadline(): number {
    return this.#heartbeatDeadline;
  }

  /** Sends heartbeats when they are due. */
  tick(now: number): void {
    if (now >= this.#heartbeatDeadline) this.#sendHeartbeats();
  }

  /** A leader does not time out. */
  triggerTimeout(): void {}

  /** Sends heartbeats now. */
  triggerHeartbeat(): void {
    this.#sendHeartbeats();
  }

  /** Appends the batch and starts replicating it within this call. */
  propose(items: readonly T[]): ProposeBatchAppended {
    const { log } = this.#state;
    const firstIndex = log.lastIndex + 1;
    const term = this.#term;
    if (items.length > 0) {
      log.append(items, term);
      this.#state.outbox.written();
      this.#replicateToAll();
      this.#advanceCommit();
    }
    return { type: 'appended', firstIndex, lastIndex: log.lastIndex, term };
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

  #onReply(reply: AppendEntriesReply, follower: ServerId, prevIndex: LogIndex, count: number, epoch: number, settled: { value: boolean }): void {
    const state = this.#state;
    if (state.observeTerm(reply.followerTerm)) return;
    if (state.role !== this) return;
    const progress = this.#progress[follower] as FollowerProgress;
    if (count > 0 && !settled.value) {
      settled.value = true;
      progress.inflight = Math.max(0, progress.inflight - 1);
      progress.answeredSinceHeartbeat = true;
    }
    if (reply.success) {
      if (progress.acknowledge(reply.matchIndex)) this.#advanceCommit();
    } else if (!progress.reject(prevIndex, reply.matchIndex, epoch)) {
      return;
    }
    if (state.role === this) this.#replicateTo(follower, progress);
  }

  /** Sends every follower what it can take now (after a proposal). */
  #replicateToAll(): void {
    const id = this.#state.id;
    for (let peer = 0; peer < this.#progress.length; peer++) {
      if (peer !== id) this.#replicateTo(peer, this.#progress[peer] as FollowerProgress);
    }
  }

  /** Sends entries from `nextIndex` while the in-flight limit allows. */
  #replicateTo(peer: ServerId, progress: FollowerProgress): void {
    const lastIndex = this.#state.log.lastIndex;
    const maxInflight = this.#state.options.maxInflightMessages;
    while (progress.nextIndex <= lastIndex && progress.canSend(maxInflight)) {
      this.#sendEntries(peer, progress, lastIndex);
    }
  }

  /** The heartbeat (§5.2): every follower hears from the leader, and lost messages are resent. */
  #sendHeartbeats(): void {
    const { options, log, id } = this.#state;
    this.#heartbeatDeadline = options.clock() + options.heartbeatTimeout;
    const lastIndex = log.lastIndex;
    for (let peer = 0; peer < this.#progress.length; peer++) {
      if (peer === id) continue;
      const follower = this.#progress[peer] as FollowerProgress;
      if (follower.mode === 'probe') follower.inflight = 0; // resend the probe: it or its answer may be lost
      else if (follower.inflight > 0 && !follower.answeredSinceHeartbeat) follower.resetToProbe();
      follower.answeredSinceHeartbeat = false;
      if (follower.nextIndex <= lastIndex && follower.canSend(options.maxInflightMessages)) {
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
    const { maxEntriesPerMessage, maxBytesPerMessage, entrySize } = this.#state.options;
    const read = this.#state.log.entries(from, Math.min(lastIndex, from + maxEntriesPerMessage - 1)) as LogEntry<T>[];
    const entries = trimToByteBudget(read, maxBytesPerMessage, entrySize);
    const to = from + entries.length - 1;
    progress.inflight++;
    if (progress.mode === 'replicate') progress.nextIndex = to + 1;
    this.#sendAppendEntries(peer, from - 1, entries);
  }

  #sendAppendEntries(peer: ServerId, prevIndex: LogIndex, entries: readonly LogEntry<T>[]): void {
    const state = this.#state;
    const term = this.#term;
    const settled = { value: false };
    const count = entries.length;
    const epoch = (this.#progress[peer] as FollowerProgress).epoch;
    const message: AppendEntriesMessage<T> = {
      type: 'appendEntries',
      leaderTerm: term,
      leaderId: state.id,
      prevLogEntry: { index: prevIndex, term: state.log.termAt(prevIndex) ?? 0 },
      entries,
      leaderCommitIndex: state.log.commitIndex,
      replyChannel: (reply) => {
        validateAppendEntriesReply(reply, peer, term, prevIndex + count);
        state.step(() => this.#onReply(reply, peer, prevIndex, count, epoch, settled));
      },
    };
    state.outbox.send(peer, message);
  }

  /** Commits what a majority holds, if it is of this term (Figure 8). */
  #advanceCommit(): void {
    const state = this.#state;
    state.outbox.flush();
    const ownIndex = state.log.lastIndex;
    const id = state.id;
    const index = leaderCommitIndex(state, this.#progress.map((p, server) => (server === id ? ownIndex : p.matchIndex)));
    if (index > state.log.commitIndex) commitUpTo(state, index);
  }
}
