import { InvalidMessageError } from './errors';
import type { AppendEntriesMessage } from './messages';
import type { LeaderState, ProposeDelay, ProposeForward, ReadIndexResult } from './server';
import type { Role, ServerState } from './server-state';
import { commitUpTo } from './commitment';
import type { LogEntry, ServerId } from './types';

/**
 * What a follower and a candidate share: no leadership, an election timer that starts a new
 * election when it runs out (§5.2), proposals answered with where to send them.
 */
export abstract class ElectionTimerRole<T> implements Role<T> {
  /** The role's name. */
  abstract readonly name: 'follower' | 'candidate';
  /** The server's shared state. */
  protected readonly state: ServerState<T>;

  /** The role of `state`'s server. */
  constructor(state: ServerState<T>) {
    this.state = state;
  }

  /** The election deadline. */
  nextDeadline(): number {
    return this.state.electionDeadline;
  }

  /** Starts an election (or a pre-vote poll) once the deadline has passed (for a candidate: its vote was split). */
  tick(now: number): void {
    if (now >= this.state.electionDeadline) this.state.startElection();
  }

  /** Starts an election (or a pre-vote poll) now. */
  triggerTimeout(): void {
    this.state.startElection();
  }

  /** Only leaders send heartbeats. */
  triggerHeartbeat(): void {}

  /** Forward to the known leader, or delay when none is known. */
  propose(): ProposeForward | ProposeDelay {
    return notLeader(this.state);
  }

  /** Only a leader serves reads: forward to it, or delay (answered when the call's events are). */
  readIndex(onDone: (result: ReadIndexResult) => void): void {
    const state = this.state;
    state.events.callLater(() => onDone(notLeader(state)));
  }

  /** Only a leader transfers leadership: forward to it, or delay. */
  transferLeadership(): ProposeForward | ProposeDelay {
    return notLeader(this.state);
  }

  /** Whether this server now follows `leaderId`, the leader of its current term. */
  abstract followLeader(leaderId: ServerId): boolean;

  /** Not a leader. */
  leaderState(): LeaderState | undefined {
    return undefined;
  }
}

/** A follower: it answers leaders and candidates, and starts an election when its timer runs out without word from a leader. */
export class FollowerRole<T> extends ElectionTimerRole<T> {
  /** Discriminant. */
  readonly name = 'follower';

  /** A follower follows the leader of its term. */
  followLeader(): boolean {
    return true;
  }
}

/** What a server that does not lead answers a proposal: forward to the known leader, or delay. */
export function notLeader<T>(state: ServerState<T>): ProposeForward | ProposeDelay {
  const leaderId: ServerId | undefined = state.leaderId;
  if (state.role.name === 'follower' && leaderId !== undefined) return { type: 'forward', leaderId };
  return { type: 'delay' };
}

/**
 * The receiver's side of AppendEntries (Figure 2, §5.3), in any role: refuse a stale leader,
 * follow the current one, check that the log holds `prevLogEntry`, store the entries, answer,
 * and commit up to `min(leaderCommitIndex, last index from this message)`.
 */
export function receiveAppendEntries<T>(state: ServerState<T>, message: AppendEntriesMessage<T>): void {
  state.observeTerm(message.leaderTerm);
  const { log, outbox, id } = state;
  const term = state.currentTerm;
  if (message.leaderTerm < term || !state.role.followLeader(message.leaderId)) {
    // A stale leader, or (only with a faulty peer) a second leader of this very term:
    // refuse without changing anything.
    outbox.reply(message.replyChannel, { follower: id, followerTerm: term, success: false, matchIndex: 0 });
    return;
  }
  state.heardFromLeader(message.leaderId);
  const prev = message.prevLogEntry;
  if (!log.holds(prev)) {
    const hint = log.rejectionHint(prev);
    outbox.reply(message.replyChannel, { follower: id, followerTerm: term, success: false, matchIndex: hint.index, hintTerm: hint.term });
    return;
  }
  const firstWritten = log.storeFromLeader(message.entries);
  if (firstWritten > 0) outbox.written(firstWritten);
  const lastNewIndex = prev.index + message.entries.length;
  outbox.reply(message.replyChannel, { follower: id, followerTerm: term, success: true, matchIndex: lastNewIndex });
  const commitIndex = Math.min(message.leaderCommitIndex, lastNewIndex);
  if (commitIndex > log.commitIndex) commitUpTo(state, commitIndex);
}

/**
 * A leader of this term or a later one holds every committed entry (§5.4.1, Leader
 * Completeness), so entries that contradict this server's committed prefix can only come
 * from a faulty peer. Refusing them up front means no message ever truncates a committed
 * entry. (A stale leader's message is refused by its term instead, without this check.)
 * @throws {@link InvalidMessageError} naming the first contradicting entry.
 */
export function checkCommittedEntries<T>(state: ServerState<T>, message: AppendEntriesMessage<T>): void {
  if (message.leaderTerm < state.currentTerm) return;
  const { log } = state;
  const entries = message.entries;
  const prevIndex = message.prevLogEntry.index;
  const checkedUpTo = Math.min(log.commitIndex, prevIndex + entries.length);
  for (let index = prevIndex + 1; index <= checkedUpTo; index++) {
    const k = index - prevIndex - 1;
    const term = (entries[k] as LogEntry<T>).term;
    const here = log.termAt(index); // undefined for an entry compacted away: nothing to compare
    if (here !== undefined && here !== term) {
      throw new InvalidMessageError(`entries[${k}].term`, term, `${here}: entry ${index} is committed here with that term`);
    }
  }
}
