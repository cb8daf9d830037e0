import type { RequestVoteMessage, RequestVoteReply } from './messages';
import type { ServerState } from './server-state';
import type { ServerId, Term } from './types';
import { validateRequestVoteReply } from './validation';

/**
 * Asks every other server for its vote in `term` (a candidate), or whether it would give it
 * (`kind: 'poll'`, pre-vote), with this server's last log position. Each answer is checked
 * (as a poll's answer, for a poll) and handed to `onReply` in a step of its own.
 * `leadershipTransfer` marks the RequestVotes of an election a leader asked for.
 */
export function requestVotes<T>(
  state: ServerState<T>,
  term: Term,
  kind: 'vote' | 'poll',
  leadershipTransfer: boolean,
  onReply: (reply: RequestVoteReply, voter: ServerId) => void,
): void {
  const last = state.log.lastPosition();
  const preVote = kind === 'poll';
  for (let peer = 0; peer < state.options.clusterSize; peer++) {
    if (peer === state.id) continue;
    const voter = peer;
    const message: RequestVoteMessage = {
      type: 'requestVote',
      candidateTerm: term,
      candidateId: state.id,
      candidateLastLogEntry: last,
      ...(preVote ? { preVote: true } : {}),
      ...(leadershipTransfer ? { leadershipTransfer: true } : {}),
      replyChannel: (reply) => {
        const checked = validateRequestVoteReply(reply, voter, term, preVote);
        state.step('replyChannel', () => onReply(checked, voter));
      },
    };
    state.outbox.send(voter, message);
  }
}
