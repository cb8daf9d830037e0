import type { RequestVoteMessage, RequestVoteReply } from './messages';
import { notLeader } from './follower';
import { isAtLeastAsUpToDate, quorumSize } from './quorum';
import type { LeaderState, ProposeDelay, ProposeForward } from './server';
import type { Role, ServerState } from './server-state';
import type { ServerId, Term } from './types';
import { validateRequestVoteReply } from './validation';

/**
 * A candidate (§5.2): it has voted for itself in a new term and asks the others for their
 * votes. One object per election: a reply to an earlier election finds a different object in
 * {@link ServerState.role} and is ignored.
 */
export class CandidateRole<T> implements Role<T> {
  /** Discriminant. */
  readonly name = 'candidate';
  readonly #state: ServerState<T>;
  readonly #votes = new Set<ServerId>();
  readonly #term: Term;

  /** Starts a new term for `state`'s server, votes for itself and restarts the election timer. */
  constructor(state: ServerState<T>) {
    this.#state = state;
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
    const state = this.#state;
    state.setLeader(undefined);
    if (this.#hasQuorum()) {
      state.becomeLeader();
      return;
    }
    const term = this.#term;
    const last = state.log.lastPosition();
    for (let peer = 0; peer < state.options.clusterSize; peer++) {
      if (peer === state.id) continue;
      const voter = peer;
      const message: RequestVoteMessage = {
        type: 'requestVote',
        candidateTerm: term,
        candidateId: state.id,
        candidateLastLogEntry: last,
        replyChannel: (reply) => {
          const checked = validateRequestVoteReply(reply, voter, term);
          state.step('replyChannel', () => this.#onReply(checked, voter));
        },
      };
      state.outbox.send(voter, message);
    }
  }

  #onReply(reply: RequestVoteReply, voter: ServerId): void {
    const state = this.#state;
    if (state.observeTerm(reply.voterTerm)) return;
    if (state.role !== this || !reply.voteGranted) return;
    this.#votes.add(voter);
    if (this.#hasQuorum()) state.becomeLeader();
  }

  #hasQuorum(): boolean {
    return this.#votes.size >= quorumSize(this.#state.options.clusterSize);
  }

  /** The election deadline: when it passes without a winner, a new election starts. */
  nextDeadline(): number {
    return this.#state.electionDeadline;
  }

  /** Starts a new election once the deadline has passed (a split vote). */
  tick(now: number): void {
    if (now >= this.#state.electionDeadline) this.#state.becomeCandidate().start();
  }

  /** Starts a new election now. */
  triggerTimeout(): void {
    this.#state.becomeCandidate().start();
  }

  /** Only leaders send heartbeats. */
  triggerHeartbeat(): void {}

  /** No leader is known during an election. */
  propose(): ProposeForward | ProposeDelay {
    return notLeader(this.#state);
  }

  /** A leader of this term won: step down and follow it. */
  followLeader(): boolean {
    this.#state.becomeFollower(false);
    return true;
  }

  /** Not a leader. */
  leaderState(): LeaderState | undefined {
    return undefined;
  }
}

/**
 * The voter's side of RequestVote (§5.2, §5.4.1), in any role: grant at most one vote per
 * term, only to a candidate whose log is at least as up to date, and always answer.
 */
export function answerRequestVote<T>(state: ServerState<T>, message: RequestVoteMessage): void {
  state.observeTerm(message.candidateTerm);
  const { log, outbox } = state;
  const store = log.store;
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
