import { ElectionTimerRole } from './follower';
import type { RequestVoteMessage, RequestVoteReply } from './messages';
import { isAtLeastAsUpToDate, quorumSize } from './quorum';
import type { ServerState } from './server-state';
import type { ServerId, Term } from './types';
import { requestVotes } from './vote-requests';

/**
 * Pre-vote (thesis §9.6): before a server raises its term, it asks the others whether they
 * would vote for it in `currentTerm + 1`. Only a majority of yes starts the real election,
 * so a server that cannot win (cut off from the majority, or with a stale log) never raises
 * the term and never disrupts a healthy leader when it comes back.
 */

/**
 * A follower polling the others (role `'follower'`: nothing about its term or vote changes).
 * One object per poll: an answer to an earlier poll, or to a real election, finds a different
 * object in `state.role` and is ignored, so a pre-vote answer never counts as a vote.
 */
export class PreVoteRole<T> extends ElectionTimerRole<T> {
  /** A poll is run by a follower. */
  readonly name = 'follower';
  readonly #yes = new Set<ServerId>();
  /** The term the poll asks about: `currentTerm + 1`. */
  readonly #term: Term;

  /** A poll for `state`'s server, with a fresh election timer (a poll that gets no majority in time is run again). */
  constructor(state: ServerState<T>) {
    super(state);
    this.#term = state.currentTerm + 1;
    state.resetElectionTimer();
  }

  /**
   * Forgets the leader (so that this server no longer refuses others' polls on its behalf,
   * etcd-io/etcd#8334), counts its own yes, and asks every other server.
   */
  start(): void {
    const state = this.state;
    state.setLeader(undefined);
    this.#yes.add(state.id);
    if (this.#hasQuorum()) {
      state.startElection('poll won');
      return;
    }
    requestVotes(state, this.#term, 'poll', false, (reply, voter) => this.#onReply(reply, voter));
  }

  #onReply(reply: RequestVoteReply, voter: ServerId): void {
    const state = this.state;
    // A refusal from a later term: this server is behind, and takes the term (as for any message).
    if (!reply.voteGranted && state.observeTerm(reply.voterTerm)) return;
    if (state.role !== this || !reply.voteGranted) return;
    this.#yes.add(voter);
    if (this.#hasQuorum()) state.startElection('poll won');
  }

  #hasQuorum(): boolean {
    return this.#yes.size >= quorumSize(this.state.options.clusterSize);
  }

  /** A leader of this term spoke: stop polling and follow it. */
  followLeader(): boolean {
    this.state.becomeFollower(false);
    return true;
  }
}

/**
 * The voter's side of a poll: yes when the poll's term is above this server's, the
 * candidate's log is at least as up to date, and this server has not heard from a current
 * leader within the election timeout (a leader hears from itself). Nothing changes here: no
 * term, no vote, no timer. The answer carries this server's term, so a poller from a stale
 * term learns the current one.
 */
export function answerPreVote<T>(state: ServerState<T>, message: RequestVoteMessage): void {
  const { log, outbox } = state;
  const currentTerm = log.store.currentTerm;
  const granted = message.candidateTerm > currentTerm && !state.inLeaderLease() && isAtLeastAsUpToDate(message.candidateLastLogEntry, log.lastPosition());
  outbox.reply(message.replyChannel, { voter: state.id, voterTerm: currentTerm, voteGranted: granted });
}
