import type { RequestVoteMessage, RequestVoteReply } from './messages';
import { ElectionTimerRole } from './follower';
import { answerPreVote } from './pre-vote';
import { isAtLeastAsUpToDate, quorumSize } from './quorum';
import type { ServerState } from './server-state';
import type { ServerId, Term } from './types';
import { requestVotes } from './vote-requests';

/**
 * A candidate (§5.2): it has voted for itself in a new term and asks the others for their
 * votes. One object per election: a reply to an earlier election finds a different object in
 * {@link ServerState.role} and is ignored.
 */
export class CandidateRole<T> extends ElectionTimerRole<T> {
  /** Discriminant. */
  readonly name = 'candidate';
  readonly #votes = new Set<ServerId>();
  readonly #term: Term;
  readonly #leadershipTransfer: boolean;

  /**
   * Starts a new term for `state`'s server, votes for itself and restarts the election
   * timer. `leadershipTransfer`: the leader asked for this election (`timeoutNow`).
   */
  constructor(state: ServerState<T>, leadershipTransfer = false) {
    super(state);
    this.#leadershipTransfer = leadershipTransfer;
    const store = state.log.store;
    store.incrementTerm();
    store.vote(state.id);
    state.outbox.written();
    this.#term = store.currentTerm;
    this.#votes.add(state.id);
    state.resetElectionTimer();
  }

  /** Forgets the old leader and asks every other server for its vote (or wins at once, alone). */
  start(): void {
    const state = this.state;
    state.setLeader(undefined);
    if (this.#hasQuorum()) {
      state.becomeLeader();
      return;
    }
    requestVotes(state, this.#term, 'vote', this.#leadershipTransfer, (reply, voter) => this.#onReply(reply, voter));
  }

  #onReply(reply: RequestVoteReply, voter: ServerId): void {
    const state = this.state;
    if (state.observeTerm(reply.voterTerm)) return;
    if (state.role !== this || !reply.voteGranted) return;
    this.#votes.add(voter);
    if (this.#hasQuorum()) state.becomeLeader();
  }

  #hasQuorum(): boolean {
    return this.#votes.size >= quorumSize(this.state.options.clusterSize);
  }

  /** A leader of this term won: step down and follow it. */
  followLeader(): boolean {
    this.state.becomeFollower(false);
    return true;
  }
}

/**
 * The voter's side of RequestVote (§5.2, §5.4.1), in any role: grant at most one vote per
 * term, only to a candidate whose log is at least as up to date, and always answer. A poll
 * (pre-vote) changes nothing here and is answered with this server's term. Under
 * check-quorum, a server that heard from a current leader within the election timeout
 * refuses, without adopting the candidate's term, unless the candidate runs for a
 * leadership transfer.
 */
export function answerRequestVote<T>(state: ServerState<T>, message: RequestVoteMessage): void {
  const { log, outbox } = state;
  const store = log.store;
  if (message.preVote === true) {
    answerPreVote(state, message);
    return;
  }
  if (state.options.checkQuorum && message.leadershipTransfer !== true && message.candidateTerm > store.currentTerm && state.inLeaderLease()) {
    outbox.reply(message.replyChannel, { voter: state.id, voterTerm: store.currentTerm, voteGranted: false });
    return;
  }
  state.observeTerm(message.candidateTerm);
  const granted =
    message.candidateTerm === store.currentTerm &&
    (store.votedFor === undefined || store.votedFor === message.candidateId) &&
    isAtLeastAsUpToDate(message.candidateLastLogEntry, log.lastPosition());
  if (granted) {
    if (store.votedFor === undefined) {
      store.vote(message.candidateId);
      outbox.written();
    }
    state.resetElectionTimer();
  }
  outbox.reply(message.replyChannel, { voter: state.id, voterTerm: store.currentTerm, voteGranted: granted });
}
