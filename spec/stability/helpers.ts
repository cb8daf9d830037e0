// Shared setup for the pre-vote, check-quorum and leadership-transfer tests (SPEC Part 2,
// thesis §9.6 and §3.10). Everything runs on a virtual clock with seeded randomness:
// InMemoryCluster for whole-cluster scenarios, hand-built messages for one server's rules.
// Nothing sleeps.

import {
  InMemoryCluster,
  type InMemoryClusterOptions,
  type RequestVoteMessage,
  type RequestVoteReply,
  type Server,
  type ServerId,
  type ServerRole,
  type Term,
  type TimeoutNowReply,
  type LogPosition,
} from '../../lib';

export { electLeader, logOf, serverAt } from '../cluster/helpers';

export type Data = string;

/** The defaults of InMemoryCluster, spelled out so that time bounds can be computed from them. */
export const ELECTION_TIMEOUT = 150;
export const ELECTION_TIMEOUT_RANGE = 150;
export const HEARTBEAT_TIMEOUT = 50;

/** A seeded cluster of string entries with the default timing (and the given options). */
export function makeCluster(size: number, options: InMemoryClusterOptions<Data> = {}): InMemoryCluster<Data> {
  return InMemoryCluster.make<Data>(size, {
    seed: 7,
    electionTimeout: ELECTION_TIMEOUT,
    electionTimeoutRange: ELECTION_TIMEOUT_RANGE,
    heartbeatTimeout: HEARTBEAT_TIMEOUT,
    ...options,
  });
}

/** Both stability options on. */
export const STABLE = { preVote: true, checkQuorum: true } as const;

/** The ids of the servers other than `id`. */
export function others(cluster: InMemoryCluster<Data>, ...ids: ServerId[]): ServerId[] {
  return cluster.servers.map((s) => s.id).filter((s) => !ids.includes(s));
}

/** Hands `server` a RequestVote built by hand and returns the replies it got (normally one). */
export function requestVote(
  server: Server<Data>,
  args: { term: Term; candidateId: ServerId; last?: LogPosition; preVote?: boolean; leadershipTransfer?: boolean },
): RequestVoteReply[] {
  const replies: RequestVoteReply[] = [];
  const message: RequestVoteMessage = {
    type: 'requestVote',
    candidateTerm: args.term,
    candidateId: args.candidateId,
    candidateLastLogEntry: args.last ?? { index: 0, term: 0 },
    ...(args.preVote === undefined ? {} : { preVote: args.preVote }),
    ...(args.leadershipTransfer === undefined ? {} : { leadershipTransfer: args.leadershipTransfer }),
    replyChannel: (reply) => void replies.push(reply),
  };
  server.processMessage(message);
  return replies;
}

/** Hands `server` a timeoutNow built by hand and returns the replies it got (normally one). */
export function timeoutNow(server: Server<Data>, args: { term: Term; leaderId: ServerId }): TimeoutNowReply[] {
  const replies: TimeoutNowReply[] = [];
  server.processMessage({ type: 'timeoutNow', leaderTerm: args.term, leaderId: args.leaderId, replyChannel: (reply) => void replies.push(reply) });
  return replies;
}

/** Records a server's roleChange and leaderChange events from now on. */
export function recordEvents(server: Server<Data>): { roles: Array<[ServerRole, Term]>; leaders: Array<[ServerId | undefined, Term]> } {
  const roles: Array<[ServerRole, Term]> = [];
  const leaders: Array<[ServerId | undefined, Term]> = [];
  server.on('roleChange', (role, term) => roles.push([role, term]));
  server.on('leaderChange', (leaderId, term) => leaders.push([leaderId, term]));
  return { roles, leaders };
}

/** Every server's currentTerm. */
export function terms(cluster: InMemoryCluster<Data>): Term[] {
  return cluster.servers.map((s) => s.currentTerm);
}

/** Every RequestVote the network hands over, from now on (the messages as their senders built them). */
export function tapVotes(cluster: InMemoryCluster<Data>): Array<{ from: ServerId; to: ServerId; message: RequestVoteMessage }> {
  const seen: Array<{ from: ServerId; to: ServerId; message: RequestVoteMessage }> = [];
  cluster.network.tap(({ from, to, message }) => {
    if (message.type === 'requestVote') seen.push({ from, to, message });
  });
  return seen;
}
