import type { TimeoutNowMessage } from './messages';
import type { ServerState } from './server-state';
import type { ServerId } from './types';

/**
 * Leadership transfer (thesis §3.10): a leader hands its office to a follower it names. It
 * stops taking proposals, brings the follower's log up to date, and sends it `timeoutNow`;
 * the follower starts an election at once (skipping pre-vote, its RequestVotes marked
 * `leadershipTransfer` so that check-quorum does not refuse them) and, with the most
 * up-to-date log, wins. If the follower has not won within an election timeout, the leader
 * gives up and takes proposals again.
 */

/** A leader's transfer under way. */
export class LeadershipTransfer {
  /** The follower that should lead next. */
  readonly to: ServerId;
  /** When the leader gives up and takes proposals again. */
  readonly deadline: number;
  /** Whether `timeoutNow` has been sent. */
  timeoutNowSent = false;

  /** A transfer to `to`, given up at `deadline`. */
  constructor(to: ServerId, deadline: number) {
    this.to = to;
    this.deadline = deadline;
  }
}

/**
 * The receiver's side of `timeoutNow`: a follower that knows the sender as the leader of its
 * current term starts an election now, for the transfer. Anything else (a stale term, a
 * sender that is not its leader, a server that is not a plain follower) is answered with
 * this server's term and changes nothing more than any message of a later term would.
 */
export function receiveTimeoutNow<T>(state: ServerState<T>, message: TimeoutNowMessage): void {
  state.observeTerm(message.leaderTerm);
  const current = message.leaderTerm === state.currentTerm && state.leaderId === message.leaderId && state.role.name === 'follower';
  if (current) state.startElection('transfer');
  state.outbox.reply(message.replyChannel, { follower: state.id, followerTerm: state.currentTerm });
}
